package loadtest

import (
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/loadtest/report"
	"github.com/tmsproject/tms/internal/loadtest/wiretest"
)

// check returns the named check of a report.
func check(t *testing.T, rep *report.Report, name string) report.Check {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", name, rep.Checks)
	return report.Check{}
}

func TestServiceLevelChecks(t *testing.T) {
	rate := func(v float64) *float64 { return &v }
	tests := []struct {
		name      string
		opts      wiretest.Options
		change    func(c *Config)
		check     string
		wantPass  bool
		wantInMsg string
	}{
		{"no failures", wiretest.Options{}, func(*Config) {}, "failed requests", true, "0 of 40 requests failed"},
		// Every tenth request is refused: 4 of 40 after the preflight.
		{"failures fail the run", wiretest.Options{OverloadEvery: 10}, func(*Config) {}, "failed requests", false, "4 of 40 requests failed"},
		{"failures within the error budget", wiretest.Options{OverloadEvery: 10},
			func(c *Config) { c.MaxErrorRate = rate(0.2) }, "max-error-rate", true, "every step at most 20% failed"},
		{"failures beyond the error budget", wiretest.Options{OverloadEvery: 10},
			func(c *Config) { c.MaxErrorRate = rate(0.05) }, "max-error-rate", false, "10% of requests failed, more than 5%"},
		{"p99 over the limit", wiretest.Options{Latency: 20 * time.Millisecond},
			func(c *Config) { c.MaxP99 = time.Millisecond }, "max-p99", false, "exceeds 1ms"},
		{"p99 under the limit", wiretest.Options{},
			func(c *Config) { c.MaxP99 = time.Minute }, "max-p99", true, "every p99 at most 1m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := wiretest.Start(t, tt.opts)
			cfg := testConfig(srv.URL, "getversion")
			cfg.Load = Load{Users: 1, Iterations: 40}
			tt.change(&cfg)
			rep, log, err := runTest(t, cfg)
			if err != nil {
				t.Fatalf("run: %v\nlog:\n%s", err, log)
			}
			c := check(t, rep, tt.check)
			if c.Passed != tt.wantPass || rep.Passed != tt.wantPass || !strings.Contains(c.Detail, tt.wantInMsg) {
				t.Errorf("check %+v, run passed %v; want passed %v with %q", c, rep.Passed, tt.wantPass, tt.wantInMsg)
			}
		})
	}
}

func TestInterruptedRunFails(t *testing.T) {
	rep := &report.Report{Steps: []report.Step{{Name: "run getkey 1 user"}}, Interrupted: true}
	finish(rep, Config{StallTimeout: time.Second}, 3, true)
	if rep.Passed {
		t.Fatal("an interrupted run passed")
	}
	if c := check(t, rep, "completed"); c.Passed || c.Detail != "interrupted during step 1 of 3" {
		t.Errorf("completed check = %+v", c)
	}
}

func TestDrift(t *testing.T) {
	mem := func(v float64) *float64 { return &v }
	step := report.Step{Name: "soak getkey 200/s", Phase: "soak"}
	// Nine ten-second windows: a warm-up, then p99 growing from 2ms to 9ms
	// and memory growing by 1 MiB per window (360 MiB per hour).
	for i := range 9 {
		step.Windows = append(step.Windows, report.Window{
			OffsetSeconds: float64(i * 10), Seconds: 10, Requests: 2000, Failures: int64(i),
			Throughput: 200, P99Ms: float64(i + 1), MemoryBytes: mem(float64(100+i) * (1 << 20)),
		})
	}
	d, ok := drift(step)
	if !ok {
		t.Fatal("no drift for nine windows")
	}
	if d.Windows != 8 || d.P99StartMs != 2.5 || d.P99EndMs != 8.5 || d.ThroughputStart != 200 {
		t.Errorf("drift = %+v, want 8 windows, p99 2.5ms → 8.5ms", d)
	}
	if d.ErrorRateStart != 3.0/4000 || d.ErrorRateEnd != 15.0/4000 {
		t.Errorf("error rates %v → %v, want %v → %v", d.ErrorRateStart, d.ErrorRateEnd, 3.0/4000, 15.0/4000)
	}
	if d.MemoryGrowthBytesPerHour == nil || !within(*d.MemoryGrowthBytesPerHour, 360*(1<<20), 1e-9) {
		t.Errorf("memory growth = %v, want 360 MiB/hour", d.MemoryGrowthBytesPerHour)
	}
	if _, ok := drift(report.Step{Windows: step.Windows[:3]}); ok {
		t.Error("drift computed from three windows")
	}
}

func TestServerMemory(t *testing.T) {
	srv := wiretest.Start(t, wiretest.Options{Metrics: true})
	cfg := testConfig(srv.URL, "getversion")
	cfg.MetricsURL = ""
	rep, log, err := runTest(t, cfg)
	if err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log)
	}
	step := rep.Steps[0]
	if step.Memory == nil || step.Memory.StartBytes <= 0 || step.Windows[len(step.Windows)-1].MemoryBytes == nil {
		t.Errorf("memory = %+v, windows %+v; want the server's memory", step.Memory, step.Windows)
	}

	// Without metrics the run still passes, and says why memory is missing.
	plain := wiretest.Start(t, wiretest.Options{})
	cfg = testConfig(plain.URL, "getversion")
	cfg.MetricsURL = ""
	rep, log, err = runTest(t, cfg)
	if err != nil || !rep.Passed || rep.Steps[0].Memory != nil {
		t.Fatalf("err %v, passed %v, memory %+v; want a passing run without memory", err, rep != nil && rep.Passed, rep.Steps[0].Memory)
	}
	if !strings.Contains(log, "server memory will not be reported") || !strings.Contains(log, "/metrics answered 404") {
		t.Errorf("log does not say why memory is missing:\n%s", log)
	}
}

func TestParseGauge(t *testing.T) {
	text := `# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes_total 1
process_resident_memory_bytes 2.5e+07
`
	if v, err := parseGauge(strings.NewReader(text), memoryMetric); err != nil || v != 2.5e7 {
		t.Errorf("parseGauge = %v, %v; want 2.5e7", v, err)
	}
	for _, bad := range []string{"", "process_resident_memory_bytes x\n", "go_goroutines 3\n"} {
		if _, err := parseGauge(strings.NewReader(bad), memoryMetric); err == nil {
			t.Errorf("parseGauge(%q) succeeded", bad)
		}
	}
}

func TestVerboseRedactsKeysAndSecrets(t *testing.T) {
	srv := wiretest.Start(t, wiretest.Options{})
	cfg := testConfig(srv.URL, "createkey", "getclient")
	cfg.Inputs.ParseResponse = true
	cfg.Inputs.Verbose = true
	cfg.Load = Load{Users: 1, Iterations: 2}
	rep, log, err := runTest(t, cfg)
	if err != nil || !rep.Passed {
		t.Fatalf("err %v, report %+v\nlog:\n%s", err, rep, log)
	}
	if !strings.Contains(log, `createkey 201 {`) || !strings.Contains(log, `"private_key":"(hidden)"`) || !strings.Contains(log, "public_key_fingerprint") {
		t.Errorf("log does not show the redacted createkey bodies:\n%s", log)
	}
	for _, leak := range []string{"PRIVATE KEY", "secret1"} {
		if strings.Contains(log, leak) {
			t.Errorf("log shows %q:\n%s", leak, log)
		}
	}
}

func TestRedactor(t *testing.T) {
	r := newRedactor("topsecret")
	in := `{"client_secret":"abc","private_key":"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"} header topsecret ` +
		"-----BEGIN RSA PRIVATE KEY-----\nxyz\n-----END RSA PRIVATE KEY-----"
	got := r.redact(in)
	want := `{"client_secret":"(hidden)","private_key":"(hidden)"} header (hidden) (private key hidden)`
	if got != want {
		t.Errorf("redact = %s\nwant     %s", got, want)
	}
}
