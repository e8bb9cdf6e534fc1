package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/loadtest/report"
)

// closedStep is a closed-model step of one scenario.
func closedStep(workload string, users, iterations int, throttle, rate, p99 float64, failures int64) report.Step {
	requests := int64(users * iterations)
	res := report.Result{
		Scenario: workload, Requests: requests, Failures: failures, Throughput: rate, Correction: "none",
		Latency:     report.Percentiles{Count: requests, P50Ms: 1, P90Ms: 2, P99Ms: p99, P999Ms: p99 * 2, MaxMs: p99 * 3},
		StatusCodes: map[string]int64{"200": requests - failures},
		Errors:      map[string]int64{},
	}
	if failures > 0 {
		res.StatusCodes["503"] = failures
		res.Errors["5xx"] = failures
	}
	name := "run " + workload + " " + strconv.Itoa(users) + " users"
	return report.Step{Name: name, Phase: "run", Workload: workload, Model: "closed", Users: users,
		Iterations: iterations, ThrottlePerUser: throttle, Requests: requests, Failures: failures,
		Throughput: rate, Scenarios: []report.Result{res}}
}

// newReport returns a passing report of the given steps.
func newReport(steps ...report.Step) *report.Report {
	return &report.Report{Schema: report.Schema, Config: report.Config{KeyType: "ed25519"}, Steps: steps,
		Stalls: []report.Stall{}, Checks: []report.Check{{Name: "failed requests", Passed: true}}, Passed: true}
}

// writeReport writes rep as JSON to dir/name.
func writeReport(t *testing.T, dir, name string, rep *report.Report) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := report.WriteFile(path, func(w io.Writer) error { return report.WriteJSON(w, rep) }); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestIterationsFor(t *testing.T) {
	tests := []struct {
		name    string
		steps   []report.Step
		users   int
		seconds float64
		want    int
		wantErr string
	}{
		{"fills the duration", []report.Step{closedStep("getkey", 100, 20, 0, 10000, 5, 0)}, 100, 60, 6000, ""},
		{"rounds up", []report.Step{closedStep("getkey", 100, 20, 0, 1001, 5, 0)}, 100, 1, 11, ""},
		{"ladder total users", []report.Step{closedStep("getkey", 100, 20, 0, 1910, 5, 0)}, 191, 10, 100, ""},
		{"at least one", []report.Step{closedStep("createkey", 100, 20, 0, 0.5, 5, 0)}, 100, 1, 1, ""},
		{"bounded", []report.Step{closedStep("getkey", 100, 20, 0, 1e12, 5, 0)}, 1, 3600, maxIterations, ""},
		{"no users", []report.Step{closedStep("getkey", 100, 20, 0, 100, 5, 0)}, 0, 60, 0, "-users: must be at least 1, got 0"},
		{"no seconds", []report.Step{closedStep("getkey", 100, 20, 0, 100, 5, 0)}, 100, 0, 0, "-seconds: must be a positive number, got 0"},
		{"no steps", nil, 100, 60, 0, "-report: the calibration run has no steps"},
		{"everything failed", []report.Step{closedStep("getkey", 10, 2, 0, 40, 5, 20)}, 100, 60, 0,
			`-report: the calibration step "run getkey 10 users" completed no request (20 sent, 20 failed)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := iterationsFor(newReport(tt.steps...), tt.users, tt.seconds)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("iterationsFor = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestIterationsCommand(t *testing.T) {
	dir := t.TempDir()
	path := writeReport(t, dir, "calibration.json", newReport(closedStep("getkey", 100, 20, 0, 2500, 5, 0)))
	var out bytes.Buffer
	if err := run(t.Context(), []string{"iterations", "-report", path, "-users", "100", "-seconds", "60"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "1500\n" {
		t.Errorf("output = %q, want 1500", out.String())
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"schema":"something/v9"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"iterations", "-users", "1", "-seconds", "1"}, "iterations: -report: required"},
		{[]string{"iterations", "-report", filepath.Join(dir, "missing.json"), "-users", "1", "-seconds", "1"}, "no such file"},
		{[]string{"iterations", "-report", bad, "-users", "1", "-seconds", "1"}, `schema "something/v9", want "` + report.Schema + `"`},
		{[]string{"iterations", "-report", path, "-users", "many", "-seconds", "1"}, `invalid value "many" for flag -users`},
		{[]string{"iterations", "-report", path, "-users", "1", "-seconds", "1", "extra"}, `unexpected argument "extra"`},
	} {
		out.Reset()
		err := run(t.Context(), tt.args, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error = %v, want one line containing %q", tt.args, err, tt.want)
		}
		if out.Len() != 0 {
			t.Errorf("%v: printed %q", tt.args, out.String())
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"freeport", "x"}, {"ready"}} {
		if err := run(t.Context(), args, io.Discard); err == nil || !strings.Contains(err.Error(), "usage: benchtool") {
			t.Errorf("%q: error = %v, want the usage", args, err)
		}
	}
}

func TestFreePort(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"freeport"}, &out); err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil || port < 1 || port > 65535 {
		t.Fatalf("output %q is not a port", out.String())
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("the port it printed cannot be bound: %v", err)
	}
	l.Close()
}

func TestReady(t *testing.T) {
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()

	if err := run(t.Context(), []string{"ready", srv.URL + "/readyz"}, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "503 Service Unavailable") {
		t.Errorf("not ready: error = %v, want the status", err)
	}
	status = http.StatusOK
	if err := run(t.Context(), []string{"ready", srv.URL + "/readyz"}, io.Discard); err != nil {
		t.Errorf("ready: %v", err)
	}
	srv.Close()
	if err := run(t.Context(), []string{"ready", srv.URL + "/readyz"}, io.Discard); err == nil {
		t.Error("a closed server is ready")
	}
}

// sampleBackend writes the reports of a complete benchmark set to a new
// directory and returns it.
func sampleBackend(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "ceiling"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeReport(t, dir, ceilingReport, newReport(closedStep("getversion", 100, 2000, 0, 20000, 5, 0)))
	if err := os.MkdirAll(filepath.Join(dir, "profiles"), 0o700); err != nil {
		t.Fatal(err)
	}
	top := "File: tms\nBuild ID: 123\nType: cpu\nDuration: 10s, Total samples = 10s (100%)\nShowing nodes accounting for 9s, 90% of 10s total\n      flat  flat%   sum%        cum   cum%\n" +
		"     2s 20.00% 20.00%      2s 20.00%  syscall.Syscall6\n" + strings.Repeat("     0s  0.00% 90.00%  0s  0.00%  filler\n", 40)
	if err := os.WriteFile(filepath.Join(dir, "profiles", "03-getkey.txt"), []byte(top), 0o600); err != nil {
		t.Fatal(err)
	}
	writeReport(t, dir, "00-getversion.json", newReport(closedStep("getversion", 100, 1800, 0, 17000, 4, 0)))
	writeReport(t, dir, "01-getclient.json", newReport(closedStep("getclient", 100, 600, 0, 12000, 15, 0)))
	writeReport(t, dir, "02-getkey.json", newReport(closedStep("getkey", 100, 9000, 0, 16000, 12.5, 0)))
	writeReport(t, dir, "03-createkey.json", newReport(closedStep("createkey", 100, 2000, 0, 4200, 80, 0)))

	getkey := closedStep("getkey", 100, 9, 0, 9000, 20, 0).Scenarios[0]
	createkey := closedStep("createkey", 100, 1, 0, 1000, 40, 0).Scenarios[0]
	total := closedStep("mixed", 100, 10, 0, 10000, 25, 0).Scenarios[0]
	mixed := report.Step{Name: "run mixed 100 users", Phase: "run", Workload: "mixed", Model: "closed", Users: 100,
		Iterations: 10, Requests: 1000, Throughput: 10000,
		Scenarios: []report.Result{getkey, createkey}, Total: &total}
	mixedReport := newReport(mixed)
	mixedReport.Config.Mix = []report.MixEntry{{Scenario: "getkey", Weight: 90}, {Scenario: "createkey", Weight: 10}}
	writeReport(t, dir, "04-mixed.json", mixedReport)

	frozen := closedStep("createkey", 10, 20000, 250, 1900, 30, 3)
	frozen.Name = "run createkey 10 users"
	frozen.StoppedBy = "stall"
	frozenReport := newReport(frozen)
	frozenReport.Stalls = []report.Stall{{Step: frozen.Name, OffsetSeconds: 42, Responses: 80000, InFlight: 10, DetectedSeconds: 10}}
	frozenReport.Checks = []report.Check{{Name: "stalls", Passed: false, Detail: "1 stall"}}
	frozenReport.Passed = false
	writeReport(t, dir, "05-createkey-throttled.json", frozenReport)

	ladder := newReport()
	for _, users := range []int{1, 10} {
		s := closedStep("getkey", users, 300, 0, float64(users)*1000, 1, 0)
		s.Phase, s.Name = "ladder", "ladder getkey "+strconv.Itoa(users)+" users"
		ladder.Steps = append(ladder.Steps, s)
	}
	writeReport(t, dir, "06-ladder.json", ladder)

	if err := os.WriteFile(filepath.Join(dir, serverConfigFile), []byte("http_port = 3000 # --dev\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, notesFile), []byte("07-extra: tms loadtest exited with status 1 and wrote no report\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRecord(t *testing.T) {
	full := sampleBackend(t)
	empty := t.TempDir()
	out := filepath.Join(t.TempDir(), "record.md")
	err := run(t.Context(), []string{"record", "-out", out, "-date", "2026-01-02", "-commit", "abc123", "-seconds", "60",
		"-backend", "SQLite=" + full, "-backend", "PostgreSQL 15=" + empty}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{
		"# Benchmark record 2026-01-02\n",
		"| tms | abc123 |",
		"| cores | ",
		"## SQLite\n",
		"Ceiling: a bare `net/http` server answering a fixed JSON body (`benchtool bare`), measured in the same run with the getversion scenario at 100 users: **20000 req/s**, p99 5.00ms, 0 errors.",
		"| scenario | users | requests | req/s | × bare | p50 | p90 | p99 | p99.9 | max | errors | stalls |",
		"| getclient | 100 | 60000 | 12000 | 0.60× | 1.00ms | 2.00ms | 15.0ms | 30.0ms | 45.0ms | 0 | 0 |",
		"| getkey | 100 | 900000 | 16000 | 0.80× | 1.00ms | 2.00ms | 12.5ms | 25.0ms | 37.5ms | 0 | 0 |",
		"| mixed getkey=90,createkey=10 | 100 | 1000 | 10000 | 0.50× | 1.00ms | 2.00ms | 25.0ms | 50.0ms | 75.0ms | 0 | 0 |",
		"| ↳ getkey | 100 | 900 | 9000 | 0.45× | 1.00ms | 2.00ms | 20.0ms | 40.0ms | 60.0ms | 0 |  |",
		"- getversion, 100 users: 17000 req/s = 0.85× the bare server (target ≥ 0.80×), p99 4.00ms, 0 errors, 0 stalls (target 0) — met\n",
		"<details><summary>03-getkey</summary>\n\n```\nDuration: 10s, Total samples = 10s (100%)\nShowing nodes accounting for 9s, 90% of 10s total\n",
		"syscall.Syscall6",
		"| ↳ createkey | 100 | 100 | 1000 |",
		"| createkey (ed25519), 250 req/s per user (stopped by stall) | 10 | 200000 | 1900 |",
		"| 3 | 1 |\n",
		"| getkey, ladder | 1 | 300 | 1000 |",
		"| getkey, ladder | 10 | 3000 | 10000 |",
		"- getclient, 100 users: 12000 req/s, p99 15.0ms, 0 errors, 0 stalls (target 0) — met\n",
		"- getkey, 100 users: 16000 req/s = 0.80× the bare server (target ≥ 0.45×), p99 12.5ms (target ≤ 20.0ms), 0 errors, 0 stalls (target 0) — met\n",
		"- createkey (ed25519), 100 users: 4200 req/s = 0.21× the bare server (target ≥ 0.15×), p99 80.0ms, 0 errors, 0 stalls (target 0) — met\n",
		"- createkey, 10 users × 250 req/s each: 1900 req/s, p99 30.0ms, 3 errors, 1 stalls (target 0) — **not met**\n",
		"- 07-extra: tms loadtest exited with status 1 and wrote no report\n",
		"- stall in run createkey 10 users: no response for 10.0s",
		`- 05-createkey-throttled.json: check "stalls" failed: 1 stall`,
		"- run createkey 10 users, createkey: status codes 200=199997 503=3; errors 5xx=3\n",
		"http_port = 3000 # --dev\n",
		"## PostgreSQL 15\n\nNo step produced a report.\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the record lacks %q", want)
		}
	}
	if strings.Contains(text, "Smoke run") {
		t.Error("a full run is marked as a smoke run")
	}
	if strings.Contains(text, "Build ID") {
		t.Error("the profile keeps its build id")
	}
	if strings.Count(text, "filler") != profileLines-4 {
		t.Errorf("the profile shows %d entries, want the first %d lines of its top", strings.Count(text, "filler"), profileLines)
	}
	if strings.Count(text, "Against the targets") != 1 {
		t.Error("want targets only for the backend with reports")
	}
}

func TestRecordSmokeRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "record.md")
	if err := run(t.Context(), []string{"record", "-out", out, "-date", "2026-01-02", "-commit", "abc", "-seconds", "5",
		"-backend", "SQLite=" + sampleBackend(t)}, io.Discard); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "**Smoke run** (`BENCH_SECONDS=5`)") {
		t.Errorf("a 5-second run is not marked as a smoke run:\n%s", data)
	}
}

func TestRecordBadInput(t *testing.T) {
	backendDir := sampleBackend(t)
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	brokenDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(brokenDir, "01-broken.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := func(extra ...string) []string {
		return append([]string{"record", "-date", "2026-01-02", "-commit", "abc", "-seconds", "60"}, extra...)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no output", base("-backend", "SQLite="+backendDir), "record: -out: required"},
		{"bad date", []string{"record", "-out", "OUT", "-date", "02/01/2026", "-commit", "abc", "-seconds", "60", "-backend", "SQLite=" + backendDir},
			`record: -date: want YYYY-MM-DD, got "02/01/2026"`},
		{"no commit", []string{"record", "-out", "OUT", "-date", "2026-01-02", "-seconds", "60", "-backend", "SQLite=" + backendDir}, "record: -commit: required"},
		{"bad seconds", []string{"record", "-out", "OUT", "-date", "2026-01-02", "-commit", "abc", "-seconds", "-1", "-backend", "SQLite=" + backendDir},
			"record: -seconds: must be a positive number, got -1"},
		{"no backend", base("-out", "OUT"), "record: -backend: give at least one NAME=DIR"},
		{"backend without name", base("-out", "OUT", "-backend", backendDir), `want NAME=DIR, got "` + backendDir + `"`},
		{"backend missing", base("-out", "OUT", "-backend", "SQLite=/nonexistent/dir"), "record: -backend SQLite: stat /nonexistent/dir: no such file or directory"},
		{"backend is a file", base("-out", "OUT", "-backend", "SQLite="+notDir), "record: -backend SQLite: " + notDir + " is not a directory"},
		{"broken report", base("-out", "OUT", "-backend", "SQLite="+brokenDir), "01-broken.json: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outDir := t.TempDir()
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "OUT", filepath.Join(outDir, "record.md"))
			}
			err := run(t.Context(), args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error = %v, want one line containing %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
				t.Errorf("wrote %d files, want none", len(entries))
			}
		})
	}
}

// TestBare checks that the bare server answers any path with the fixed
// JSON object, and stops with its context.
func TestBare(t *testing.T) {
	port, err := freePort(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"bare", "-port", strconv.Itoa(port)}, io.Discard) }()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/v1/tms/version"
	clocktest.Eventually(t, "the bare server answers", func() bool { return probeReady(t.Context(), url) == nil })
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("answer: %v %v", body, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("bare after its context ended: %v", err)
	}
	if err := run(t.Context(), []string{"bare", "-port", "0"}, io.Discard); err == nil || !strings.Contains(err.Error(), "-port") {
		t.Errorf("port 0: %v, want an error naming -port", err)
	}
}
