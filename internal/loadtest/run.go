package loadtest

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tmsproject/tms/internal/loadtest/report"
	"github.com/tmsproject/tms/internal/version"
)

// schedulerSlack is how early a scheduled request may be sent. Timers
// oversleep by up to about a millisecond, so sleeping to the exact time
// would make the generator itself late.
const schedulerSlack = time.Millisecond

// Output says where a run writes while it runs.
type Output struct {
	// Log receives notes, preflight results, stalls, progress and, with
	// TMS_VERBOSE, response bodies.
	Log io.Writer
	// Progress chooses how progress is shown.
	Progress ProgressMode
	// ProgressEvery is the interval of plain progress lines.
	ProgressEvery time.Duration
}

// engine runs the steps of one load test.
type engine struct {
	cfg      Config
	con      *console
	progress *progress
	memory   *memoryProbe
	redact   *redactor
	keepBody bool
	verbose  bool
}

// Run prepares the scenarios (creating fixtures if needed), checks each once
// against the server, then drives every planned step and returns what was
// measured. It returns an error, and no report, when the configuration is
// wrong (*InputError) or a preflight fails (*PreflightError). A stall or an
// interruption ends the run early; the report says so.
func Run(ctx context.Context, cfg Config, scenarios *Registry, out Output) (*report.Report, error) {
	if err := cfg.Validate(scenarios); err != nil {
		return nil, err
	}
	started := time.Now()
	c, err := newClient(cfg.Inputs.URL, cfg.TLS, maxConcurrency(cfg)+8)
	if err != nil {
		return nil, err
	}
	defer c.close()

	con := newConsole(out.Log)
	e := &engine{
		cfg:      cfg,
		con:      con,
		progress: &progress{mode: out.Progress, every: or(out.ProgressEvery, 5*time.Second), con: con},
		memory:   newMemoryProbe(cfg.metricsURL(), c.transport, con),
		redact:   newRedactor(cfg.Inputs.ClientSecret, cfg.Inputs.AdminSecret),
		keepBody: cfg.Inputs.ParseResponse,
		verbose:  cfg.Inputs.ParseResponse && cfg.Inputs.Verbose,
	}
	env := &Env{Inputs: cfg.Inputs, LoginUsers: cfg.LoginUsers, client: c, con: con}
	workloads, prepared, err := buildWorkloads(ctx, cfg, scenarios, env)
	if err != nil {
		return nil, err
	}
	if err := preflight(ctx, cfg.Inputs, cfg.Timeout, prepared, con, e.redact); err != nil {
		cleanUp(ctx, prepared)
		return nil, err
	}

	rep := newReport(cfg, started)
	plans := planSteps(cfg, workloads)
	for _, plan := range plans {
		step, stall := e.runStep(ctx, plan)
		rep.Steps = append(rep.Steps, step)
		if stall != nil {
			rep.Stalls = append(rep.Stalls, *stall)
			con.add("stall: " + stall.Describe() + "; stopping the run")
		}
		if step.StoppedBy != "" {
			rep.Interrupted = true
			break
		}
	}
	cleanUp(ctx, prepared)
	rep.FinishedAt = time.Now()
	rep.Notes = con.kept()
	finish(rep, cfg, len(plans), ctx.Err() != nil)
	return rep, nil
}

// newReport starts the report of a run.
func newReport(cfg Config, started time.Time) *report.Report {
	in := cfg.Inputs
	rc := report.Config{
		URL:                 in.URL,
		Tenant:              in.Tenant,
		ClientID:            in.ClientID,
		ClientSecretSet:     in.ClientSecret != "",
		AdminID:             in.AdminID,
		LoginUsers:          cfg.LoginUsers,
		ClientUser:          in.ClientUser,
		PubkeyHost:          in.PubkeyHost,
		PubkeyUser:          in.PubkeyUser,
		PubkeyUserID:        in.PubkeyUserID,
		KeyType:             in.KeyType,
		Fingerprint:         in.Fingerprint,
		Phase:               string(cfg.Phase),
		Scenarios:           cfg.Scenarios,
		TimeoutSeconds:      cfg.Timeout.Seconds(),
		StallTimeoutSeconds: cfg.StallTimeout.Seconds(),
		SampleSeconds:       cfg.Load.SampleInterval.Seconds(),
		ParseResponse:       in.ParseResponse,
		Insecure:            cfg.TLS.Insecure,
		CACert:              cfg.TLS.CACertFile,
		MetricsURL:          cfg.metricsURL(),
		MaxErrorRate:        cfg.MaxErrorRate,
	}
	if cfg.MaxP99 > 0 {
		ms := float64(cfg.MaxP99) / float64(time.Millisecond)
		rc.MaxP99Ms = &ms
	}
	for _, name := range cfg.Scenarios {
		if name == MixedScenario {
			for _, e := range cfg.mix() {
				rc.Mix = append(rc.Mix, report.MixEntry{Scenario: e.Scenario, Weight: e.Weight})
			}
		}
	}
	return &report.Report{
		Schema:    report.Schema,
		Tool:      "tms " + version.Version,
		StartedAt: started,
		Machine: report.Machine{
			CPUs:       runtime.NumCPU(),
			GOMAXPROCS: runtime.GOMAXPROCS(0),
			OS:         runtime.GOOS,
			Arch:       runtime.GOARCH,
			GoVersion:  runtime.Version(),
		},
		Config: rc,
		Steps:  []report.Step{},
		Stalls: []report.Stall{},
		Drift:  []report.Drift{},
	}
}

// runStep drives one step to its end, a stall, or ctx's end.
func (e *engine) runStep(ctx context.Context, p stepPlan) (report.Step, *report.Stall) {
	correction, interval := CorrectionNone, time.Duration(0)
	switch {
	case p.open:
		correction = CorrectionIntendedStart
	case p.throttle > 0:
		correction, interval = CorrectionExpectedInterval, time.Duration(float64(time.Second)/p.throttle)
	}
	memStart, memOK := e.memory.read(ctx)

	shards := max(1, min(p.concurrency(), 2*runtime.GOMAXPROCS(0)))
	rec := newRecorder(len(p.workload.parts), shards, correction, interval, e.redact.redact)
	stepCtx, stop := context.WithCancel(ctx)
	defer stop()

	stalls := make(chan *report.Stall, 1)
	go func() { stalls <- watchStalls(stepCtx, rec, e.cfg.StallTimeout, p.name, stop) }()
	progressCtx, endProgress := context.WithCancel(stepCtx)
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		e.progress.show(progressCtx, stepProgress{name: p.name, rec: rec, planned: p.planned()})
	}()
	workersDone := make(chan struct{})
	collected := make(chan collection, 1)
	go func() { collected <- e.collect(stepCtx, rec, p, workersDone) }()

	var wg sync.WaitGroup
	if p.open {
		var slots atomic.Int64
		total := p.planned()
		for i := range p.maxOutstanding {
			wg.Go(func() { e.openWorker(stepCtx, rec, p, i%shards, &slots, total) })
		}
	} else {
		for u := range p.users {
			wg.Go(func() { e.closedUser(stepCtx, rec, p, u, u%shards, interval) })
		}
	}
	wg.Wait()
	elapsed := time.Since(rec.start)
	close(workersDone)
	col := <-collected
	endProgress()
	<-progressDone
	stop()
	stall := <-stalls

	step := e.stepReport(p, col, correction, rec.start, elapsed)
	if memOK {
		step.Memory = memoryOver(memStart, step.Windows)
	}
	switch {
	case stall != nil:
		step.StoppedBy = "stall"
	case ctx.Err() != nil:
		step.StoppedBy = "interrupted"
	}
	return step, stall
}

// closedUser sends one user's iterations one after another, throttled to
// one per interval when interval is positive.
func (e *engine) closedUser(ctx context.Context, rec *recorder, p stepPlan, user, shardIndex int, interval time.Duration) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	if p.hatchRate > 0 && user > 0 {
		if !sleep(ctx, timer, time.Duration(float64(user)/p.hatchRate*float64(time.Second))) {
			return
		}
	}
	w := p.workload
	next := time.Now()
	for i := range p.iterations {
		if interval > 0 {
			if d := time.Until(next); d > schedulerSlack && !sleep(ctx, timer, d-schedulerSlack) {
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		part := w.pick(user, i)
		scheduled := time.Time{}
		if interval > 0 {
			scheduled = next
		}
		e.issue(ctx, rec, w, shardIndex, part, scheduled)
		if interval > 0 {
			// Keep the schedule through small delays; after a slot is missed
			// entirely, restart it instead of bursting to catch up (the
			// expected-interval correction accounts for the missed slots).
			next = next.Add(interval)
			if now := time.Now(); now.Sub(next) > interval {
				next = now
			}
		}
	}
}

// openWorker takes the next slot of the open model's schedule, waits for
// its time and sends it, until the schedule is used up. The number of
// workers bounds the outstanding requests: when all are busy, slots start
// late, and that delay counts in the latency.
func (e *engine) openWorker(ctx context.Context, rec *recorder, p stepPlan, shardIndex int, slots *atomic.Int64, total int64) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	interval := float64(time.Second) / p.rate
	for {
		k := slots.Add(1) - 1
		if k >= total {
			return
		}
		intended := rec.start.Add(time.Duration(float64(k) * interval))
		if d := time.Until(intended); d > schedulerSlack && !sleep(ctx, timer, d-schedulerSlack) {
			return
		}
		if ctx.Err() != nil {
			return
		}
		e.issue(ctx, rec, p.workload, shardIndex, p.workload.pick(0, int(k)), intended)
	}
}

// issue sends one iteration and records it. scheduled is when the schedule
// meant to send it, or zero when there is no schedule. The wait of a gated
// action for its turn is not measured: it moves the schedule instead.
func (e *engine) issue(ctx context.Context, rec *recorder, w *workload, shardIndex, part int, scheduled time.Time) {
	action := w.parts[part].action
	if gated, ok := action.(Gated); ok {
		waitStart := time.Now()
		iteration, err := gated.Acquire(ctx)
		if err != nil {
			return // the step is ending
		}
		action = iteration
		if !scheduled.IsZero() {
			scheduled = scheduled.Add(time.Since(waitStart))
		}
	}
	rec.begin()
	start := time.Now()
	reqCtx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	o := action.Do(reqCtx, e.keepBody)
	cancel()
	end := time.Now()
	if o.Class != ClassNone && ctx.Err() != nil {
		o.Class = ClassAborted
	}
	service := end.Sub(start)
	latency, lag := service, time.Duration(0)
	if !scheduled.IsZero() {
		ref := scheduled
		if start.Before(scheduled) {
			ref = start
		}
		latency = end.Sub(ref)
		lag = max(start.Sub(scheduled), 0)
	}
	rec.record(shardIndex, part, service, latency, lag, o)
	if e.verbose && o.Body != nil {
		e.con.line(fmt.Sprintf("%s %d %s", w.parts[part].name, o.Status, e.redact.redact(string(o.Body))))
	}
}

// sleep waits for d or until ctx ends, and reports whether it waited the
// whole time.
func sleep(ctx context.Context, t *time.Timer, d time.Duration) bool {
	t.Reset(d)
	select {
	case <-ctx.Done():
		t.Stop()
		return false
	case <-t.C:
		return true
	}
}
