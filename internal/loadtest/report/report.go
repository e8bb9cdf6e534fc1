// Package report holds the results of a load-test run and writes them as a
// text summary, as JSON and as one self-contained HTML page with SVG charts.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Schema names the layout of the JSON report; it changes when a field
// changes meaning or disappears.
const Schema = "tms-loadtest/v1"

// Report is everything a run measured, in the shape written to JSON.
type Report struct {
	Schema     string    `json:"schema"`
	Tool       string    `json:"tool"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Machine    Machine   `json:"machine"`
	Config     Config    `json:"config"`
	Notes      []string  `json:"notes"`
	Steps      []Step    `json:"steps"`
	Stalls     []Stall   `json:"stalls"`
	Drift      []Drift   `json:"drift"`
	Checks     []Check   `json:"checks"`
	// Interrupted reports whether the run was stopped before its plan ended
	// (by a stall or by the operator).
	Interrupted bool `json:"interrupted"`
	// Passed reports whether every check passed.
	Passed bool `json:"passed"`
}

// Machine describes where the load generator ran.
type Machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	GoVersion  string `json:"go_version"`
}

// Config is the run's configuration as reported; it never holds a secret.
type Config struct {
	URL                 string     `json:"url"`
	Tenant              string     `json:"tenant"`
	ClientID            string     `json:"client_id"`
	ClientSecretSet     bool       `json:"client_secret_set"`
	AdminID             string     `json:"admin_id,omitempty"`
	ClientUser          string     `json:"client_user"`
	PubkeyHost          string     `json:"pubkey_host"`
	PubkeyUser          string     `json:"pubkey_user"`
	PubkeyUserID        string     `json:"pubkey_userid"`
	KeyType             string     `json:"key_type"`
	Fingerprint         string     `json:"fingerprint"`
	Phase               string     `json:"phase"`
	Scenarios           []string   `json:"scenarios"`
	Mix                 []MixEntry `json:"mix,omitempty"`
	TimeoutSeconds      float64    `json:"timeout_seconds"`
	StallTimeoutSeconds float64    `json:"stall_timeout_seconds"`
	SampleSeconds       float64    `json:"sample_interval_seconds,omitempty"`
	ParseResponse       bool       `json:"parse_response"`
	Insecure            bool       `json:"insecure"`
	CACert              string     `json:"cacert,omitempty"`
	MetricsURL          string     `json:"metrics_url,omitempty"`
	MaxErrorRate        *float64   `json:"max_error_rate,omitempty"`
	MaxP99Ms            *float64   `json:"max_p99_ms,omitempty"`
	// LoginUsers is --login-users; zero means that the login scenario sized
	// its user pool from the load (the notes say how).
	LoginUsers int `json:"login_users,omitempty"`
}

// MixEntry is one weighted scenario of the mixed workload.
type MixEntry struct {
	Scenario string `json:"scenario"`
	Weight   int    `json:"weight"`
}

// Step is one measured stretch of load with a fixed shape.
type Step struct {
	Name     string `json:"name"`
	Phase    string `json:"phase"`
	Workload string `json:"workload"`
	// Model is "closed" (users × iterations) or "open" (fixed arrival rate).
	Model           string  `json:"model"`
	Users           int     `json:"users,omitempty"`
	Iterations      int     `json:"iterations,omitempty"`
	ThrottlePerUser float64 `json:"throttle_per_user,omitempty"`
	HatchRate       float64 `json:"hatch_rate,omitempty"`
	Rate            float64 `json:"rate,omitempty"`
	PlannedSeconds  float64 `json:"planned_seconds,omitempty"`
	MaxOutstanding  int     `json:"max_outstanding,omitempty"`

	StartedAt      time.Time `json:"started_at"`
	ElapsedSeconds float64   `json:"elapsed_seconds"`
	Requests       int64     `json:"requests"`
	Failures       int64     `json:"failures"`
	Aborted        int64     `json:"aborted"`
	Throughput     float64   `json:"throughput"`
	// MaxStartLagMs is how late the generator started a request against its
	// schedule at worst (throttled and open models only).
	MaxStartLagMs float64 `json:"max_start_lag_ms,omitempty"`
	// Scenarios holds one result per scenario that ran in the step.
	Scenarios []Result `json:"scenarios"`
	// Total merges all scenarios of the step; set only when there are several.
	Total   *Result  `json:"total,omitempty"`
	Windows []Window `json:"windows"`
	Memory  *Memory  `json:"memory,omitempty"`
	// StoppedBy says why the step ended early: "stall" or "interrupted".
	StoppedBy string `json:"stopped_by,omitempty"`
}

// Result is what one scenario measured in one step.
type Result struct {
	Scenario   string  `json:"scenario"`
	Requests   int64   `json:"requests"`
	Failures   int64   `json:"failures"`
	Aborted    int64   `json:"aborted"`
	ErrorRate  float64 `json:"error_rate"`
	Throughput float64 `json:"throughput"`
	// Correction names the coordinated-omission correction applied to
	// Latency: "none", "expected-interval" (closed model with a throttle)
	// or "intended-start" (open model).
	Correction string `json:"correction"`
	// Latency is the latency a client on schedule would have seen; it equals
	// ServiceTime when Correction is "none".
	Latency Percentiles `json:"latency"`
	// ServiceTime is the time from sending a request to reading its response.
	ServiceTime  Percentiles      `json:"service_time"`
	StatusCodes  map[string]int64 `json:"status_codes"`
	Errors       map[string]int64 `json:"errors"`
	ErrorSamples []string         `json:"error_samples,omitempty"`
}

// Percentiles summarises a latency distribution in milliseconds.
type Percentiles struct {
	Count  int64   `json:"count"`
	MinMs  float64 `json:"min_ms"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p99_9_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// Window is one sample interval of a step, all scenarios together.
type Window struct {
	OffsetSeconds float64 `json:"offset_seconds"`
	Seconds       float64 `json:"seconds"`
	Requests      int64   `json:"requests"`
	Failures      int64   `json:"failures"`
	Throughput    float64 `json:"throughput"`
	P50Ms         float64 `json:"p50_ms"`
	P90Ms         float64 `json:"p90_ms"`
	P99Ms         float64 `json:"p99_ms"`
	MaxMs         float64 `json:"max_ms"`
	// MemoryBytes is the server's resident memory at the end of the window,
	// when its metrics were available.
	MemoryBytes *float64 `json:"memory_bytes,omitempty"`
}

// Memory is the server's resident memory over a step.
type Memory struct {
	StartBytes float64 `json:"start_bytes"`
	EndBytes   float64 `json:"end_bytes"`
	PeakBytes  float64 `json:"peak_bytes"`
}

// Stall is a stretch in which requests were outstanding and no response
// arrived for at least the stall timeout.
type Stall struct {
	Step      string    `json:"step"`
	StartedAt time.Time `json:"started_at"`
	// OffsetSeconds is when the stall began, counted from the step's start.
	OffsetSeconds float64 `json:"offset_seconds"`
	// Responses is how many responses the step had received when it began.
	Responses int64 `json:"responses"`
	// InFlight is how many requests were outstanding when it was detected.
	InFlight        int64   `json:"in_flight"`
	DetectedSeconds float64 `json:"detected_after_seconds"`
}

// Drift compares the beginning and the end of a long step.
type Drift struct {
	Step            string  `json:"step"`
	Windows         int     `json:"windows_compared"`
	P99StartMs      float64 `json:"p99_start_ms"`
	P99EndMs        float64 `json:"p99_end_ms"`
	ThroughputStart float64 `json:"throughput_start"`
	ThroughputEnd   float64 `json:"throughput_end"`
	ErrorRateStart  float64 `json:"error_rate_start"`
	ErrorRateEnd    float64 `json:"error_rate_end"`
	// MemoryGrowthBytesPerHour is the slope of a least-squares line through
	// the server's resident memory, when its metrics were available.
	MemoryGrowthBytesPerHour *float64 `json:"memory_growth_bytes_per_hour,omitempty"`
	MemoryStartBytes         *float64 `json:"memory_start_bytes,omitempty"`
	MemoryEndBytes           *float64 `json:"memory_end_bytes,omitempty"`
}

// Check is one pass/fail verdict of the run.
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return nil
}

// WriteFile writes a report file through write, replacing path atomically:
// a failed write leaves any earlier file at path untouched.
func WriteFile(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("create report file: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("set mode of %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}
