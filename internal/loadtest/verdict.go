package loadtest

import (
	"fmt"
	"time"

	"github.com/tmsproject/tms/internal/loadtest/report"
)

// finish adds drift and checks to a report and decides whether it passed.
// interrupted reports whether the operator stopped the run.
func finish(rep *report.Report, cfg Config, planned int, interrupted bool) {
	for _, s := range rep.Steps {
		if s.Phase == string(PhaseSoak) {
			if d, ok := drift(s); ok {
				rep.Drift = append(rep.Drift, d)
			}
		}
	}
	rep.Checks = checks(rep, cfg, planned, interrupted)
	rep.Passed = true
	for _, c := range rep.Checks {
		rep.Passed = rep.Passed && c.Passed
	}
}

// checks evaluates the run against its pass criteria.
func checks(rep *report.Report, cfg Config, planned int, interrupted bool) []report.Check {
	var out []report.Check
	var requests, failures int64
	for _, s := range rep.Steps {
		requests += s.Requests
		failures += s.Failures
	}

	completed := report.Check{Name: "completed", Passed: !rep.Interrupted && len(rep.Steps) == planned,
		Detail: fmt.Sprintf("%d of %d steps ran to the end", len(rep.Steps), planned)}
	switch {
	case interrupted:
		completed.Detail = fmt.Sprintf("interrupted during step %d of %d", len(rep.Steps), planned)
	case rep.Interrupted:
		completed.Detail = fmt.Sprintf("stopped by a stall during step %d of %d", len(rep.Steps), planned)
	}
	out = append(out, completed)

	if cfg.MaxErrorRate == nil {
		out = append(out, report.Check{Name: "failed requests", Passed: failures == 0,
			Detail: fmt.Sprintf("%d of %d requests failed", failures, requests)})
	} else {
		limit := *cfg.MaxErrorRate
		c := report.Check{Name: "max-error-rate", Passed: true,
			Detail: fmt.Sprintf("every step at most %s failed (%d of %d requests failed in all)", percent(limit), failures, requests)}
		worst, worstStep := -1.0, ""
		for _, s := range rep.Steps {
			rate := 0.0
			if s.Requests > 0 {
				rate = float64(s.Failures) / float64(s.Requests)
			}
			if rate > worst {
				worst, worstStep = rate, s.Name
			}
		}
		if worst > limit {
			c.Passed = false
			c.Detail = fmt.Sprintf("%s: %s of requests failed, more than %s", worstStep, percent(worst), percent(limit))
		}
		out = append(out, c)
	}

	stalls := report.Check{Name: "stalls", Passed: len(rep.Stalls) == 0,
		Detail: fmt.Sprintf("no stall of %s or more", cfg.StallTimeout)}
	if len(rep.Stalls) > 0 {
		stalls.Detail = rep.Stalls[0].Describe()
	}
	out = append(out, stalls)

	if cfg.MaxP99 > 0 {
		limitMs := float64(cfg.MaxP99) / float64(time.Millisecond)
		c := report.Check{Name: "max-p99", Passed: true, Detail: fmt.Sprintf("every p99 at most %s", cfg.MaxP99)}
		worst, where := -1.0, ""
		for _, s := range rep.Steps {
			for _, r := range s.Scenarios {
				if r.Latency.Count > 0 && r.Latency.P99Ms > worst {
					worst, where = r.Latency.P99Ms, s.Name+", "+r.Scenario
				}
			}
		}
		if worst > limitMs {
			c.Passed = false
			c.Detail = fmt.Sprintf("%s: p99 %s exceeds %s", where, report.FormatMs(worst, 1), cfg.MaxP99)
		} else if worst >= 0 {
			c.Detail += fmt.Sprintf(" (highest %s in %s)", report.FormatMs(worst, 1), where)
		}
		out = append(out, c)
	}
	return out
}

func percent(fraction float64) string {
	return fmt.Sprintf("%.3g%%", fraction*100)
}

// drift compares the first and last quarter of a step's windows, skipping
// the first window as warm-up when there are enough. It needs at least four
// windows.
func drift(s report.Step) (report.Drift, bool) {
	windows := s.Windows
	if len(windows) >= 5 {
		windows = windows[1:]
	}
	if len(windows) < 4 {
		return report.Drift{}, false
	}
	q := len(windows) / 4
	head, tail := windows[:q], windows[len(windows)-q:]
	d := report.Drift{Step: s.Name, Windows: len(windows)}
	d.P99StartMs, d.ThroughputStart, d.ErrorRateStart = windowMeans(head)
	d.P99EndMs, d.ThroughputEnd, d.ErrorRateEnd = windowMeans(tail)

	var xs, ys []float64
	for _, w := range s.Windows {
		if w.MemoryBytes != nil {
			xs = append(xs, w.OffsetSeconds+w.Seconds)
			ys = append(ys, *w.MemoryBytes)
		}
	}
	if len(xs) >= 2 {
		slope := slope(xs, ys) * 3600
		first, last := ys[0], ys[len(ys)-1]
		d.MemoryGrowthBytesPerHour, d.MemoryStartBytes, d.MemoryEndBytes = &slope, &first, &last
	}
	return d, true
}

// windowMeans returns the mean p99 and throughput of windows, and their
// combined error rate.
func windowMeans(windows []report.Window) (p99, throughput, errorRate float64) {
	var requests, failures int64
	for _, w := range windows {
		p99 += w.P99Ms
		throughput += w.Throughput
		requests += w.Requests
		failures += w.Failures
	}
	n := float64(len(windows))
	if requests > 0 {
		errorRate = float64(failures) / float64(requests)
	}
	return p99 / n, throughput / n, errorRate
}

// slope is the least-squares slope of ys against xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}
