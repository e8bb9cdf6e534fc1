package loadtest

import (
	"context"
	"time"

	"github.com/tmsproject/tms/internal/loadtest/report"
)

// collection is what a step's collector gathered.
type collection struct {
	// totals holds one tally per part of the workload.
	totals  []*tally
	windows []report.Window
	maxLag  time.Duration
}

// collect gathers the recorder's measurements every sample interval into
// windows and totals, until the workers are done.
func (e *engine) collect(ctx context.Context, rec *recorder, p stepPlan, workersDone <-chan struct{}) collection {
	corrected := rec.correction != CorrectionNone
	parts := len(p.workload.parts)
	col := collection{}
	window := make([]*tally, parts)
	for i := range parts {
		col.totals = append(col.totals, newTally(corrected))
		window[i] = newTally(corrected)
	}
	var merged *tally
	if parts > 1 {
		merged = newTally(corrected)
	}
	ticker := time.NewTicker(p.sample)
	defer ticker.Stop()
	windowStart := rec.start
	for {
		final := false
		select {
		case <-ticker.C:
		case <-workersDone:
			final = true
		}
		now := time.Now()
		col.maxLag = max(col.maxLag, rec.collect(window))
		all := window[0]
		if merged != nil {
			merged.reset()
			for _, t := range window {
				merged.merge(t)
			}
			all = merged
		}
		if w := windowReport(all, windowStart.Sub(rec.start), now.Sub(windowStart)); !final || w.Requests > 0 || len(col.windows) == 0 {
			if mem, ok := e.memory.read(ctx); ok {
				w.MemoryBytes = &mem
			}
			col.windows = append(col.windows, w)
		}
		for i, t := range window {
			col.totals[i].merge(t)
			t.reset()
		}
		windowStart = now
		if final {
			return col
		}
	}
}

// windowReport summarises one window of all scenarios together.
func windowReport(t *tally, offset, length time.Duration) report.Window {
	p := percentiles(t.latencyHistogram())
	w := report.Window{
		OffsetSeconds: offset.Seconds(),
		Seconds:       length.Seconds(),
		Requests:      t.requests,
		Failures:      t.failures,
		P50Ms:         p.P50Ms,
		P90Ms:         p.P90Ms,
		P99Ms:         p.P99Ms,
		MaxMs:         p.MaxMs,
	}
	if length > 0 {
		w.Throughput = float64(t.requests) / length.Seconds()
	}
	return w
}

// stepReport assembles the report of a finished step.
func (e *engine) stepReport(p stepPlan, col collection, correction Correction, start time.Time, elapsed time.Duration) report.Step {
	step := report.Step{
		Name:           p.name,
		Phase:          string(p.phase),
		Workload:       p.workload.name,
		StartedAt:      start,
		ElapsedSeconds: elapsed.Seconds(),
		MaxStartLagMs:  float64(col.maxLag) / float64(time.Millisecond),
		Windows:        col.windows,
	}
	if p.open {
		step.Model, step.Rate, step.PlannedSeconds, step.MaxOutstanding = "open", p.rate, p.duration.Seconds(), p.maxOutstanding
	} else {
		step.Model, step.Users, step.Iterations, step.ThrottlePerUser, step.HatchRate = "closed", p.users, p.iterations, p.throttle, p.hatchRate
	}
	for i, part := range p.workload.parts {
		res := col.totals[i].result(part.name, correction, elapsed)
		step.Scenarios = append(step.Scenarios, res)
		step.Requests += res.Requests
		step.Failures += res.Failures
		step.Aborted += res.Aborted
	}
	if len(col.totals) > 1 {
		all := newTally(correction != CorrectionNone)
		for _, t := range col.totals {
			all.merge(t)
		}
		total := all.result("all", correction, elapsed)
		step.Total = &total
	}
	if elapsed > 0 {
		step.Throughput = float64(step.Requests) / elapsed.Seconds()
	}
	return step
}

// memoryOver summarises the server's memory over a step that began at
// start bytes.
func memoryOver(start float64, windows []report.Window) *report.Memory {
	m := &report.Memory{StartBytes: start, EndBytes: start, PeakBytes: start}
	for _, w := range windows {
		if w.MemoryBytes != nil {
			m.EndBytes = *w.MemoryBytes
			m.PeakBytes = max(m.PeakBytes, *w.MemoryBytes)
		}
	}
	return m
}
