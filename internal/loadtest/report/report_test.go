package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sampleReport is a run with a ladder of two workloads, a soak with
// memory, a stall and failed checks.
func sampleReport() *Report {
	start := time.Date(2026, 7, 13, 18, 2, 11, 0, time.UTC)
	result := func(name string, users int) Result {
		base := float64(users) / 10
		return Result{
			Scenario: name, Requests: int64(users * 200), Throughput: float64(users) * 900, Correction: "none",
			Latency:     Percentiles{Count: int64(users * 200), MinMs: 0.1, MeanMs: base, P50Ms: base, P90Ms: 2 * base, P99Ms: 4 * base, P999Ms: 6 * base, MaxMs: 9 * base},
			StatusCodes: map[string]int64{"200": int64(users * 200)}, Errors: map[string]int64{},
		}
	}
	r := &Report{
		Schema: Schema, Tool: "tms 1.0.0", StartedAt: start, FinishedAt: start.Add(95 * time.Second),
		Machine: Machine{CPUs: 2, GOMAXPROCS: 2, OS: "linux", Arch: "amd64", GoVersion: "go1.26"},
		Config: Config{URL: "http://127.0.0.1:3000", Tenant: "test", ClientID: "testclient1", ClientSecretSet: true,
			Phase: "all", Scenarios: []string{"getversion", "getkey"}, TimeoutSeconds: 30, StallTimeoutSeconds: 10},
		Notes: []string{"created a key <SHA256:abc>"},
	}
	for _, w := range []string{"getversion", "getkey"} {
		for _, u := range []int{1, 5, 10} {
			r.Steps = append(r.Steps, Step{Name: "ladder " + w, Phase: "ladder", Workload: w, Model: "closed", Users: u,
				Iterations: 200, StartedAt: start, ElapsedSeconds: 1, Requests: int64(u * 200),
				Throughput: float64(u) * 900, Scenarios: []Result{result(w, u)}})
		}
	}
	soak := Step{Name: "soak getkey 200/s", Phase: "soak", Workload: "getkey", Model: "open", Rate: 200, PlannedSeconds: 60,
		MaxOutstanding: 256, StartedAt: start.Add(30 * time.Second), ElapsedSeconds: 60, Requests: 12000, Failures: 3}
	bad := result("getkey", 10)
	bad.Failures, bad.Errors = 3, map[string]int64{"http-5xx": 3}
	bad.ErrorSamples = []string{`http-5xx 503: <img src=http://example.org/x.png>`}
	bad.Correction = "intended-start"
	soak.Scenarios = []Result{bad}
	for i := range 6 {
		mem := float64(50+i) * (1 << 20)
		soak.Windows = append(soak.Windows, Window{OffsetSeconds: float64(i * 10), Seconds: 10, Requests: 2000,
			Throughput: 200, P50Ms: 1, P90Ms: 2, P99Ms: 3 + float64(i), MaxMs: 10, MemoryBytes: &mem})
	}
	soak.Windows[2].Failures = 3
	r.Steps = append(r.Steps, soak)
	r.Stalls = []Stall{{Step: "soak getkey 200/s", StartedAt: start.Add(50 * time.Second), OffsetSeconds: 20, Responses: 4000, InFlight: 8, DetectedSeconds: 10.2}}
	growth := 3600.0
	r.Drift = []Drift{{Step: "soak getkey 200/s", Windows: 5, P99StartMs: 4, P99EndMs: 8, ThroughputStart: 200, ThroughputEnd: 200,
		MemoryGrowthBytesPerHour: &growth, MemoryStartBytes: new(float64(50 << 20)), MemoryEndBytes: new(float64(55 << 20))}}
	r.Checks = []Check{{Name: "completed", Passed: true, Detail: "7 of 7 steps ran"}, {Name: "failed requests", Passed: false, Detail: "3 of 15200 requests failed"}}
	return r
}

func TestHTMLIsWellFormedAndSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	page := buf.String()

	lower := strings.ToLower(page)
	for _, external := range []string{`src="http`, "<link", "@import", "url(", "<script", "<iframe", "<img", "@font-face"} {
		if strings.Contains(lower, external) {
			t.Errorf("the page contains %q: it must not load or run anything", external)
		}
	}

	// The whole page parses as strict XML (with HTML's entities): every
	// element is closed and nested properly.
	d := xml.NewDecoder(strings.NewReader(page))
	d.Entity = xml.HTMLEntity
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the page is not well formed: %v", err)
		}
	}

	svgs := regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(page, -1)
	// Ladder: a latency chart per workload and one throughput chart.
	// Soak: latency, throughput (with failures) and memory over time.
	if len(svgs) != 6 {
		t.Fatalf("found %d charts, want 6", len(svgs))
	}
	for i, svg := range svgs {
		var doc struct {
			XMLName   xml.Name `xml:"svg"`
			Title     string   `xml:"title"`
			Polylines []struct {
				Points string `xml:"points,attr"`
			} `xml:"polyline"`
		}
		if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
			t.Fatalf("chart %d is not valid SVG: %v", i, err)
		}
		if doc.XMLName.Space != "http://www.w3.org/2000/svg" || doc.Title == "" || len(doc.Polylines) == 0 {
			t.Errorf("chart %d: namespace %q, title %q, %d lines", i, doc.XMLName.Space, doc.Title, len(doc.Polylines))
		}
		for _, p := range doc.Polylines {
			if strings.Contains(p.Points, "NaN") || strings.Contains(p.Points, "Inf") {
				t.Errorf("chart %q has a line through %s", doc.Title, p.Points)
			}
		}
	}
	for _, title := range []string{"getversion latency against users (ladder)", "getkey latency against users (ladder)",
		"Throughput against users (ladder)", "getkey latency over time (soak)", "getkey throughput over time (soak)",
		"Server resident memory over time (soak getkey)"} {
		if !strings.Contains(page, "<title>"+title+"</title>") {
			t.Errorf("no chart titled %q", title)
		}
	}
	for _, want := range []string{"FAILED", "3 of 15200 requests failed", "&lt;img src=http://example.org/x.png&gt;",
		"no response for 10.2s", "created a key &lt;SHA256:abc&gt;", "soak getkey 200/s"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not contain %q", want)
		}
	}
}

func TestTextSummary(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, want := range []string{
		`tms loadtest against http://127.0.0.1:3000 (tenant "test", client "testclient1")`,
		"STEP", "P99.9", "ladder getkey", "getkey*", "1.00ms",
		"errors http-5xx=3", "e.g. http-5xx 503: <img",
		"soak getkey 200/s: no response for 10.2s from 18:03:01.000 (20.0s into the step, after 4000 responses; 8 requests outstanding)",
		"drift over soak getkey 200/s: p99 4.00ms → 8.00ms", "(+0.0 MiB/hour)",
		"FAIL  failed requests: 3 of 15200 requests failed", "result: FAILED",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("summary does not contain %q:\n%s", want, text)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	want := sampleReport()
	path := filepath.Join(t.TempDir(), "report.json")
	if err := WriteFile(path, func(w io.Writer) error { return WriteJSON(w, want) }); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got Report
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("decoded report differs from the written one")
	}
	for _, key := range []string{`"schema": "tms-loadtest/v1"`, `"p99_9_ms"`, `"status_codes"`, `"stalls"`, `"client_secret_set": true`} {
		if !bytes.Contains(data, []byte(key)) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestWriteFileKeepsOldFileOnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(path, func(io.Writer) error { return errors.New("disk full") })
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the write error", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "old" {
		t.Errorf("file = %q, want the old content", data)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only the report", len(entries))
	}
}

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []float64
	}{
		{0, 9.3, []float64{0, 2, 4, 6, 8, 10}},
		{0, 1, []float64{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}},
		{0, 0, []float64{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}},
		{0, 4200, []float64{0, 1000, 2000, 3000, 4000, 5000}},
	}
	for _, tt := range tests {
		if got := niceTicks(tt.lo, tt.hi); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("niceTicks(%v, %v) = %v, want %v", tt.lo, tt.hi, got, tt.want)
		}
	}
}
