package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/loadtest/report"
	"github.com/tmsproject/tms/internal/loadtest/wiretest"
	"github.com/tmsproject/tms/internal/server/servertest"
)

// testConfig is a small closed run of scenarios against url with the
// fixture's credentials.
func testConfig(url string, scenarios ...string) Config {
	in := DefaultInputs()
	in.URL = url
	in.Tenant = "test"
	in.ClientID = "testclient1"
	in.ClientSecret = "secret1"
	return Config{
		Inputs:       in,
		Phase:        PhaseRun,
		Scenarios:    scenarios,
		Load:         Load{Users: 2, Iterations: 10},
		Timeout:      5 * time.Second,
		StallTimeout: 5 * time.Second,
		MetricsURL:   MetricsOff,
	}
}

// runTest runs cfg with the built-in scenarios and returns the report and
// what the run logged.
func runTest(t *testing.T, cfg Config) (*report.Report, string, error) {
	t.Helper()
	var log servertest.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	rep, err := Run(ctx, cfg, NewRegistry(BuiltinScenarios()...), Output{Log: &log, Progress: ProgressLines, ProgressEvery: 200 * time.Millisecond})
	return rep, log.String(), err
}

func TestGetKeyCreatesItsKeyFirst(t *testing.T) {
	srv := wiretest.Start(t, wiretest.Options{})
	cfg := testConfig(srv.URL, "getkey")
	cfg.Load = Load{Users: 10, Iterations: 50}

	rep, log, err := runTest(t, cfg)
	if err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log)
	}
	if !strings.Contains(log, "TMS_PUBKEY_FINGERPRINT is not set: created an ed25519 key") {
		t.Errorf("log does not say a key was created:\n%s", log)
	}
	if strings.Contains(log, "secret1") {
		t.Errorf("log shows the client secret:\n%s", log)
	}
	if !rep.Passed {
		t.Errorf("run failed: %+v", rep.Checks)
	}
	if got := srv.Count(wiretest.RouteCreateKey); got != 1 {
		t.Errorf("createkey requests = %d, want 1 (the fixture)", got)
	}
	// 500 measured requests plus the preflight.
	if got := srv.Count(wiretest.RouteRetrieve); got != 501 {
		t.Errorf("retrieve requests = %d, want 501", got)
	}
	step := rep.Steps[0]
	if step.Requests != 500 || step.Failures != 0 || step.Scenarios[0].StatusCodes["200"] != 500 {
		t.Errorf("step = %d requests, %d failures, statuses %v; want 500, 0, 200=500", step.Requests, step.Failures, step.Scenarios[0].StatusCodes)
	}
	if step.Scenarios[0].Correction != "none" || step.Scenarios[0].Latency.Count != 500 {
		t.Errorf("latency = %+v with correction %s, want 500 uncorrected samples", step.Scenarios[0].Latency, step.Scenarios[0].Correction)
	}
}

func TestRequestShapes(t *testing.T) {
	srv := wiretest.Start(t, wiretest.Options{})
	cfg := testConfig(srv.URL, "getversion", "getclient", "createkey", "getkey")
	cfg.Inputs.KeyType = "ed25519"
	cfg.Load = Load{Users: 1, Iterations: 1}
	if _, log, err := runTest(t, cfg); err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log)
	}

	create := srv.First(wiretest.RouteCreateKey)
	wantBody := `{"client_user_id":"testuser1","host":"testhost1","host_account":"testhostaccount1","num_uses":-1,"ttl_minutes":-1,"key_type":""}`
	if string(create.Body) != wantBody {
		t.Errorf("createkey body = %s, want %s", create.Body, wantBody)
	}
	for name, want := range map[string]string{"X-Tms-Tenant": "test", "X-Tms-Client-Id": "testclient1",
		"X-Tms-Client-Secret": "secret1", "Content-Type": "application/json", "Accept": "application/json"} {
		if got := create.Header.Get(name); got != want {
			t.Errorf("createkey header %s = %q, want %q", name, got, want)
		}
	}

	client := srv.First(wiretest.RouteClient)
	if client.Path != "/v1/tms/client/testclient1" || client.Header.Get("X-Tms-Client-Secret") != "secret1" ||
		client.Header.Get("Content-Type") != "application/json" {
		t.Errorf("getclient request = %s with headers %v", client.Path, client.Header)
	}

	retrieve := srv.First(wiretest.RouteRetrieve)
	var body map[string]string
	if err := json.Unmarshal(retrieve.Body, &body); err != nil {
		t.Fatalf("getkey body %s: %v", retrieve.Body, err)
	}
	if !strings.HasPrefix(string(retrieve.Body), `{"user":"testhostaccount1","user_uid":"1","keytype":"ed25519","host":"testhost1","public_key_fingerprint":"SHA256:`) {
		t.Errorf("getkey body = %s", retrieve.Body)
	}
	for name := range retrieve.Header {
		if strings.HasPrefix(name, "X-Tms") || name == "Accept" {
			t.Errorf("getkey sent header %s; it must send Content-Type only", name)
		}
	}
	if retrieve.Header.Get("Content-Type") != "application/json" {
		t.Errorf("getkey Content-Type = %q", retrieve.Header.Get("Content-Type"))
	}
	if v := srv.First(wiretest.RouteVersion); len(v.Header.Values("X-Tms-Tenant")) != 0 || v.Method != http.MethodGet {
		t.Errorf("getversion request = %s with headers %v", v.Method, v.Header)
	}
}

func TestMixedFollowsWeights(t *testing.T) {
	srv := wiretest.Start(t, wiretest.Options{})
	cfg := testConfig(srv.URL, MixedScenario)
	cfg.Mix = []MixEntry{{Scenario: "getversion", Weight: 75}, {Scenario: "getclient", Weight: 25}}
	cfg.Load = Load{Users: 4, Iterations: 100}

	rep, log, err := runTest(t, cfg)
	if err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log)
	}
	step := rep.Steps[0]
	got := map[string]int64{}
	for _, r := range step.Scenarios {
		got[r.Scenario] = r.Requests
	}
	if got["getversion"] != 300 || got["getclient"] != 100 {
		t.Errorf("requests per scenario = %v, want getversion=300 getclient=100", got)
	}
	if step.Total == nil || step.Total.Requests != 400 || step.Total.Latency.Count != 400 {
		t.Errorf("total = %+v, want 400 requests", step.Total)
	}
}

func TestOpenModelMeasuresFromIntendedStart(t *testing.T) {
	srv := wiretest.Start(t, wiretest.Options{Latency: 5 * time.Millisecond})
	cfg := testConfig(srv.URL, "getversion")
	cfg.Load = Load{Rate: 200, Duration: time.Second, SampleInterval: 250 * time.Millisecond}

	rep, log, err := runTest(t, cfg)
	if err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log)
	}
	step := rep.Steps[0]
	res := step.Scenarios[0]
	if step.Model != "open" || res.Correction != "intended-start" {
		t.Errorf("model %s, correction %s; want open, intended-start", step.Model, res.Correction)
	}
	if step.Requests != 200 {
		t.Errorf("requests = %d, want 200 (200/s for 1s)", step.Requests)
	}
	if res.ServiceTime.MinMs < 5 || res.Latency.Count != 200 {
		t.Errorf("service time %+v, latency %+v: want every request to take at least 5ms", res.ServiceTime, res.Latency)
	}
	if len(step.Windows) < 3 {
		t.Errorf("windows = %d, want about 4 of 250ms", len(step.Windows))
	}
	t.Logf("open model: %.0f req/s, latency p50 %.2fms p99 %.2fms, max start lag %.2fms", step.Throughput, res.Latency.P50Ms, res.Latency.P99Ms, step.MaxStartLagMs)
}

func TestStallStopsTheRun(t *testing.T) {
	// The preflight takes one answer; the step gets 49 before the server
	// stops answering.
	srv := wiretest.Start(t, wiretest.Options{AnswerLimit: 50})
	cfg := testConfig(srv.URL, "getversion")
	cfg.Load = Load{Users: 4, Iterations: 100}
	cfg.StallTimeout = time.Second
	cfg.Timeout = 30 * time.Second

	start := time.Now()
	rep, log, err := runTest(t, cfg)
	if err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log)
	}
	t.Logf("the stalled run ended after %s", time.Since(start))
	if len(rep.Stalls) != 1 {
		t.Fatalf("stalls = %+v, want one", rep.Stalls)
	}
	stall := rep.Stalls[0]
	if stall.Responses != 49 || stall.InFlight != 4 || stall.DetectedSeconds < 1 {
		t.Errorf("stall = %+v, want 49 responses before it, 4 in flight, detected after at least 1s", stall)
	}
	if rep.Passed || !rep.Interrupted || rep.Steps[0].StoppedBy != "stall" {
		t.Errorf("passed %v, interrupted %v, stopped by %q; want a failed, interrupted run stopped by the stall",
			rep.Passed, rep.Interrupted, rep.Steps[0].StoppedBy)
	}
	if rep.Steps[0].Aborted != 4 || rep.Steps[0].Failures != 0 {
		t.Errorf("aborted %d, failures %d; want the 4 hanging requests aborted, not failed", rep.Steps[0].Aborted, rep.Steps[0].Failures)
	}
	if !strings.Contains(log, "stall:") {
		t.Errorf("log does not report the stall:\n%s", log)
	}
}

func TestInputErrorsStopBeforeSending(t *testing.T) {
	srv := wiretest.Start(t, wiretest.Options{})
	cfg := testConfig(srv.URL, "getclient")
	cfg.Inputs.ClientSecret = ""
	_, _, err := runTest(t, cfg)
	var inputErr *InputError
	if !errors.As(err, &inputErr) || !strings.Contains(err.Error(), "X_TMS_CLIENT_SECRET") {
		t.Fatalf("err = %v, want an input error naming X_TMS_CLIENT_SECRET", err)
	}
	if n := srv.Count(wiretest.RouteClient); n != 0 {
		t.Errorf("the server got %d requests, want none", n)
	}
}
