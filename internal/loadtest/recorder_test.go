package loadtest

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/loadtest/wiretest"
)

func identity(s string) string { return s }

// collectOne records through a one-part recorder and returns the tally.
func collectOne(t *testing.T, correction Correction, interval time.Duration, record func(r *recorder)) *tally {
	t.Helper()
	r := newRecorder(1, 2, correction, interval, identity)
	record(r)
	into := []*tally{newTally(correction != CorrectionNone)}
	r.collect(into)
	return into[0]
}

func TestCorrection(t *testing.T) {
	ok := Outcome{Status: 200}
	tests := []struct {
		name        string
		correction  Correction
		interval    time.Duration
		service     time.Duration
		latency     time.Duration
		wantService int64
		wantLatency int64
		wantP50     float64 // ms, of the latency histogram
		wantMax     float64 // ms, of the latency histogram
	}{
		{"none", CorrectionNone, 0, 100 * time.Millisecond, 0, 1, 1, 100, 100},
		// A 100ms response held a 10ms-interval user up for nine slots: the
		// correction adds samples of 90, 80, ..., 10ms.
		{"expected interval, slow", CorrectionExpectedInterval, 10 * time.Millisecond, 100 * time.Millisecond, 0, 1, 10, 50, 100},
		{"expected interval, fast", CorrectionExpectedInterval, 10 * time.Millisecond, 4 * time.Millisecond, 0, 1, 1, 4, 4},
		// Sent 48ms late and answered in 2ms: 50ms from the intended start.
		{"intended start", CorrectionIntendedStart, 0, 2 * time.Millisecond, 50 * time.Millisecond, 1, 1, 50, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collectOne(t, tt.correction, tt.interval, func(r *recorder) {
				r.begin()
				r.record(0, 0, tt.service, tt.latency, 0, ok)
			})
			if n := got.service.TotalCount(); n != tt.wantService {
				t.Errorf("service samples = %d, want %d", n, tt.wantService)
			}
			lat := percentiles(got.latencyHistogram())
			if lat.Count != tt.wantLatency {
				t.Errorf("latency samples = %d, want %d", lat.Count, tt.wantLatency)
			}
			if !within(lat.P50Ms, tt.wantP50, 0.01) || !within(lat.MaxMs, tt.wantMax, 0.01) {
				t.Errorf("latency p50 %.3fms max %.3fms, want %.3fms and %.3fms", lat.P50Ms, lat.MaxMs, tt.wantP50, tt.wantMax)
			}
		})
	}
}

// within reports whether got is within a relative tolerance of want.
func within(got, want, tolerance float64) bool {
	return math.Abs(got-want) <= tolerance*want
}

func TestPercentiles(t *testing.T) {
	got := collectOne(t, CorrectionNone, 0, func(r *recorder) {
		for ms := 1; ms <= 1000; ms++ {
			r.begin()
			r.record(ms%2, 0, time.Duration(ms)*time.Millisecond, 0, 0, Outcome{Status: 200})
		}
	})
	p := percentiles(got.service)
	want := []struct {
		name      string
		got, want float64
	}{
		{"min", p.MinMs, 1}, {"p50", p.P50Ms, 500}, {"p90", p.P90Ms, 900}, {"p99", p.P99Ms, 990},
		{"p99.9", p.P999Ms, 999}, {"max", p.MaxMs, 1000}, {"mean", p.MeanMs, 500.5},
	}
	if p.Count != 1000 {
		t.Errorf("count = %d, want 1000", p.Count)
	}
	for _, w := range want {
		// Three significant digits: within 0.1%, plus rounding.
		if !within(w.got, w.want, 0.002) {
			t.Errorf("%s = %.3fms, want %.3fms", w.name, w.got, w.want)
		}
	}
}

func TestRecorderCountsAndClamps(t *testing.T) {
	got := collectOne(t, CorrectionNone, 0, func(r *recorder) {
		outcomes := []Outcome{
			{Status: 200},
			{Status: 503, Class: Class5xx, Body: []byte(`{"result_code":"503","result_msg":"busy"}`)},
			{Status: 503, Class: Class5xx, Body: []byte(`{"result_code":"503","result_msg":"busy"}`)},
			{Class: ClassTimeout, Err: errors.New("context deadline exceeded")},
			{Class: ClassAborted, Err: errors.New("context canceled")},
		}
		for i, o := range outcomes {
			r.begin()
			r.record(i%2, 0, 2*time.Hour, 0, 0, o)
		}
		if r.finished.Load() != 4 || r.failed.Load() != 3 || r.responses.Load() != 3 || r.inFlight.Load() != 0 {
			t.Errorf("finished %d, failed %d, responses %d, in flight %d; want 4, 3, 3, 0",
				r.finished.Load(), r.failed.Load(), r.responses.Load(), r.inFlight.Load())
		}
	})
	res := got.result("getkey", CorrectionNone, time.Second)
	if res.Requests != 4 || res.Failures != 3 || res.Aborted != 1 {
		t.Errorf("requests %d, failures %d, aborted %d; want 4, 3, 1", res.Requests, res.Failures, res.Aborted)
	}
	if res.StatusCodes["200"] != 1 || res.StatusCodes["503"] != 2 || res.Errors["http-5xx"] != 2 || res.Errors["timeout"] != 1 {
		t.Errorf("status codes %v, errors %v", res.StatusCodes, res.Errors)
	}
	if len(res.ErrorSamples) != 2 || res.ErrorSamples[0] != "http-5xx 503: busy" {
		t.Errorf("error samples = %q, want the 503 once and the timeout", res.ErrorSamples)
	}
	// Two hours is beyond the histogram; it is kept at the top, not dropped.
	if res.ServiceTime.Count != 4 || res.ServiceTime.MaxMs < float64(time.Hour/time.Millisecond)*0.99 {
		t.Errorf("service time = %+v, want 4 samples clamped to one hour", res.ServiceTime)
	}
}

func TestRecorderCountsFailuresByStage(t *testing.T) {
	got := collectOne(t, CorrectionNone, 0, func(r *recorder) {
		for _, o := range []Outcome{
			{Status: 200},
			{Status: 401, Class: Class4xx, Stage: "sign-in", Err: errors.New("The one-time code is not right.")},
			{Status: 401, Class: Class4xx, Stage: "sign-in", Err: errors.New("The one-time code is not right.")},
			{Status: 503, Class: Class5xx, Stage: "token"},
			{Status: 503, Class: Class5xx},
		} {
			r.begin()
			r.record(0, 0, time.Millisecond, 0, 0, o)
		}
	})
	res := got.result("login", CorrectionNone, time.Second)
	want := map[string]int64{"sign-in/http-4xx": 2, "token/http-5xx": 1, "http-5xx": 1}
	if !reflect.DeepEqual(res.Errors, want) || res.Failures != 4 {
		t.Errorf("errors %v, failures %d; want %v and 4", res.Errors, res.Failures, want)
	}
	if len(res.ErrorSamples) == 0 || res.ErrorSamples[0] != "sign-in: http-4xx 401: The one-time code is not right." {
		t.Errorf("error samples = %q, want the stage first", res.ErrorSamples)
	}
}

func TestThrottledRunIsCorrected(t *testing.T) {
	srv := wiretest.Start(t, wiretest.Options{Latency: 30 * time.Millisecond})
	cfg := testConfig(srv.URL, "getversion")
	cfg.Load = Load{Users: 2, Iterations: 10, Throttle: 100}

	rep, log, err := runTest(t, cfg)
	if err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log)
	}
	res := rep.Steps[0].Scenarios[0]
	if res.Correction != "expected-interval" {
		t.Errorf("correction = %s, want expected-interval", res.Correction)
	}
	// Every response takes at least 30ms against a 10ms interval, so each
	// adds at least two corrected samples.
	if res.ServiceTime.Count != 20 || res.Latency.Count < 60 {
		t.Errorf("service samples %d, latency samples %d; want 20 and at least 60", res.ServiceTime.Count, res.Latency.Count)
	}
}

func TestThrottleSpacesRequests(t *testing.T) {
	srv := wiretest.Start(t, wiretest.Options{})
	cfg := testConfig(srv.URL, "getversion")
	cfg.Load = Load{Users: 1, Iterations: 11, Throttle: 50}

	rep, log, err := runTest(t, cfg)
	if err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log)
	}
	// Ten gaps of 20ms, each started at most schedulerSlack early: the
	// throttle cannot be faster than this, however fast the server is.
	floor := 10*20*time.Millisecond - 10*schedulerSlack
	if elapsed := time.Duration(rep.Steps[0].ElapsedSeconds * float64(time.Second)); elapsed < floor {
		t.Errorf("11 requests at 50/s took %s, less than %s", elapsed, floor)
	}
}

func TestWeightedSequence(t *testing.T) {
	tests := []struct {
		weights []int
		want    string
	}{
		{[]int{1}, "0"},
		{[]int{90, 10}, "0000010000"},
		{[]int{2, 1}, "010"},
		{[]int{1, 1, 1}, "012"},
		{[]int{50, 25, 25}, "0120"},
	}
	for _, tt := range tests {
		var b strings.Builder
		for _, i := range weightedSequence(tt.weights) {
			b.WriteByte(byte('0' + i))
		}
		if b.String() != tt.want {
			t.Errorf("weightedSequence(%v) = %s, want %s", tt.weights, b.String(), tt.want)
		}
	}
}
