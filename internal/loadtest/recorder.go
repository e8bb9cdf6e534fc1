package loadtest

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/tmsproject/tms/internal/loadtest/report"
)

// Histogram range and precision: microseconds from 1µs to one hour, three
// significant digits.
const (
	histLowestMicros  = 1
	histHighestMicros = int64(time.Hour / time.Microsecond)
	histDigits        = 3
	maxStatus         = 600
	maxErrorSamples   = 5
)

// Correction is how latencies are corrected for coordinated omission.
type Correction uint8

// The corrections.
const (
	// CorrectionNone records the service time only (closed model without a
	// throttle: a user's next request is meant to follow the last response).
	CorrectionNone Correction = iota
	// CorrectionExpectedInterval adds the samples a throttled user would have
	// taken while a slow response held it up (HdrHistogram's
	// RecordCorrectedValue with the throttle's interval).
	CorrectionExpectedInterval
	// CorrectionIntendedStart measures latency from the time the schedule
	// meant to send the request (open model).
	CorrectionIntendedStart
)

// String names the correction as reports show it.
func (c Correction) String() string {
	switch c {
	case CorrectionExpectedInterval:
		return "expected-interval"
	case CorrectionIntendedStart:
		return "intended-start"
	}
	return "none"
}

// tally accumulates the measurements of one scenario.
type tally struct {
	service *hdrhistogram.Histogram
	// latency is nil when there is no correction: it equals service.
	latency  *hdrhistogram.Histogram
	statuses [maxStatus]int64
	classes  [numClasses]int64
	// staged counts the failures of multi-request iterations by the stage
	// that failed; nil until the first one.
	staged   map[stagedClass]int64
	requests int64
	failures int64
	aborted  int64
	samples  []string
}

// stagedClass is a failure class at one stage of an iteration.
type stagedClass struct {
	stage string
	class ErrorClass
}

// String names the failure as reports show it, e.g. "sign-in/http-4xx".
func (s stagedClass) String() string { return s.stage + "/" + s.class.String() }

// countFailure counts a failed outcome by its class, and by its stage when
// it has one.
func (t *tally) countFailure(class ErrorClass, stage string, n int64) {
	if stage == "" {
		t.classes[class] += n
		return
	}
	if t.staged == nil {
		t.staged = make(map[stagedClass]int64)
	}
	t.staged[stagedClass{stage: stage, class: class}] += n
}

func newTally(corrected bool) *tally {
	t := &tally{service: newHistogram()}
	if corrected {
		t.latency = newHistogram()
	}
	return t
}

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowestMicros, histHighestMicros, histDigits)
}

// latencyHistogram is the histogram reports call "latency".
func (t *tally) latencyHistogram() *hdrhistogram.Histogram {
	if t.latency != nil {
		return t.latency
	}
	return t.service
}

// merge adds from into t.
func (t *tally) merge(from *tally) {
	t.service.Merge(from.service)
	if t.latency != nil {
		t.latency.Merge(from.latency)
	}
	for i, n := range from.statuses {
		t.statuses[i] += n
	}
	for i, n := range from.classes {
		t.classes[i] += n
	}
	for sc, n := range from.staged {
		t.countFailure(sc.class, sc.stage, n)
	}
	t.requests += from.requests
	t.failures += from.failures
	t.aborted += from.aborted
	for _, s := range from.samples {
		t.addSample(s)
	}
}

func (t *tally) addSample(s string) {
	if len(t.samples) < maxErrorSamples && !slices.Contains(t.samples, s) {
		t.samples = append(t.samples, s)
	}
}

// reset empties t for reuse.
func (t *tally) reset() {
	t.service.Reset()
	if t.latency != nil {
		t.latency.Reset()
	}
	t.statuses = [maxStatus]int64{}
	t.classes = [numClasses]int64{}
	clear(t.staged)
	t.requests, t.failures, t.aborted = 0, 0, 0
	t.samples = t.samples[:0]
}

// shard is one lock's worth of tallies; users are spread over shards so
// that recording rarely waits.
type shard struct {
	mu     sync.Mutex
	cur    []*tally // per part, recorded into
	spare  []*tally // per part, owned by the collector between swaps
	maxLag time.Duration
}

// recorder collects the measurements of one step.
type recorder struct {
	correction Correction
	// interval is the throttle's interval for CorrectionExpectedInterval.
	intervalMicros int64
	shards         []shard
	redact         func(string) string

	start time.Time
	// finished counts requests that ended, whatever the outcome.
	finished atomic.Int64
	failed   atomic.Int64
	// responses counts requests that got an HTTP response.
	responses atomic.Int64
	inFlight  atomic.Int64
	// lastProgress is when, in nanoseconds since start, a response last
	// arrived or a request was sent while none was outstanding.
	lastProgress atomic.Int64
}

func newRecorder(parts, shards int, correction Correction, interval time.Duration, redact func(string) string) *recorder {
	r := &recorder{
		correction:     correction,
		intervalMicros: interval.Microseconds(),
		shards:         make([]shard, shards),
		redact:         redact,
		start:          time.Now(),
	}
	corrected := correction != CorrectionNone
	for i := range r.shards {
		for range parts {
			r.shards[i].cur = append(r.shards[i].cur, newTally(corrected))
			r.shards[i].spare = append(r.shards[i].spare, newTally(corrected))
		}
	}
	return r
}

// begin notes that a request is about to be sent.
func (r *recorder) begin() {
	if r.inFlight.Add(1) == 1 {
		r.lastProgress.Store(int64(time.Since(r.start)))
	}
}

// record files one finished request. service is its service time, latency
// its time from the intended start (open model), lag how late it started
// against its schedule.
func (r *recorder) record(shardIndex, part int, service, latency, lag time.Duration, o Outcome) {
	if o.Status != 0 {
		r.responses.Add(1)
		r.lastProgress.Store(int64(time.Since(r.start)))
	}
	r.inFlight.Add(-1)
	failed := o.Failed()
	if o.Class != ClassAborted {
		r.finished.Add(1)
		if failed {
			r.failed.Add(1)
		}
	}

	s := &r.shards[shardIndex]
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.cur[part]
	if o.Class == ClassAborted {
		t.aborted++
		return
	}
	t.requests++
	if o.Status > 0 && o.Status < maxStatus {
		t.statuses[o.Status]++
	}
	if failed {
		t.failures++
		t.countFailure(o.Class, o.Stage, 1)
		// Describing is not free: do it for the first few failures of each
		// collection interval only.
		if t.failures <= 4*maxErrorSamples && len(t.samples) < maxErrorSamples {
			t.addSample(r.describeFailure(o))
		}
	}
	serviceMicros := clampMicros(service)
	_ = t.service.RecordValue(serviceMicros) // in range by clamping
	switch r.correction {
	case CorrectionExpectedInterval:
		_ = t.latency.RecordCorrectedValue(serviceMicros, r.intervalMicros)
	case CorrectionIntendedStart:
		_ = t.latency.RecordValue(clampMicros(latency))
	}
	s.maxLag = max(s.maxLag, lag)
}

// describeFailure is the sample text of a failed request.
func (r *recorder) describeFailure(o Outcome) string {
	text := o.Class.String()
	if o.Stage != "" {
		text = o.Stage + ": " + text
	}
	if o.Status != 0 {
		text += " " + strconv.Itoa(o.Status)
		if msg := decodeEnvelope(o.Body).ResultMsg; msg != "" {
			text += ": " + msg
		}
	}
	if o.Err != nil {
		text += ": " + o.Err.Error()
	}
	return r.redact(text)
}

func clampMicros(d time.Duration) int64 {
	return min(max(d.Microseconds(), histLowestMicros), histHighestMicros)
}

// collect moves everything recorded since the last collect into into (one
// tally per part) and returns the largest start lag seen. Only one goroutine
// may collect.
func (r *recorder) collect(into []*tally) time.Duration {
	var lag time.Duration
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		s.cur, s.spare = s.spare, s.cur
		lag = max(lag, s.maxLag)
		s.maxLag = 0
		full := s.spare
		s.mu.Unlock()
		for p, t := range full {
			into[p].merge(t)
			t.reset()
		}
	}
	return lag
}

// percentiles summarises a histogram of microseconds in milliseconds.
func percentiles(h *hdrhistogram.Histogram) report.Percentiles {
	if h.TotalCount() == 0 {
		return report.Percentiles{}
	}
	ms := func(micros int64) float64 { return float64(micros) / 1000 }
	q := h.ValueAtPercentilesSlice([]float64{50, 90, 99, 99.9})
	return report.Percentiles{
		Count:  h.TotalCount(),
		MinMs:  ms(h.Min()),
		MeanMs: h.Mean() / 1000,
		P50Ms:  ms(q[0]),
		P90Ms:  ms(q[1]),
		P99Ms:  ms(q[2]),
		P999Ms: ms(q[3]),
		MaxMs:  ms(h.Max()),
	}
}

// result turns a scenario's tally into its report, over elapsed time.
func (t *tally) result(name string, correction Correction, elapsed time.Duration) report.Result {
	res := report.Result{
		Scenario:     name,
		Requests:     t.requests,
		Failures:     t.failures,
		Aborted:      t.aborted,
		Correction:   correction.String(),
		Latency:      percentiles(t.latencyHistogram()),
		ServiceTime:  percentiles(t.service),
		StatusCodes:  map[string]int64{},
		Errors:       map[string]int64{},
		ErrorSamples: slices.Clone(t.samples),
	}
	if t.requests > 0 {
		res.ErrorRate = float64(t.failures) / float64(t.requests)
	}
	if elapsed > 0 {
		res.Throughput = float64(t.requests) / elapsed.Seconds()
	}
	for code, n := range t.statuses {
		if n > 0 {
			res.StatusCodes[strconv.Itoa(code)] = n
		}
	}
	for class, n := range t.classes {
		if n > 0 {
			res.Errors[ErrorClass(class).String()] = n
		}
	}
	for sc, n := range t.staged {
		if n > 0 {
			res.Errors[sc.String()] = n
		}
	}
	return res
}
