package api_test

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/logsummary"
	"github.com/tmsproject/tms/internal/metrics"
)

// logBuffer collects log output safely from many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the lines logged so far.
func (b *logBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(strings.TrimSpace(b.buf.String()), "\n")
}

// histogramCount returns the number of observations of the histogram name
// with the given labels, or -1.
func histogramCount(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			return float64(s.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

// TestRefusalsAreQuiet: 10,000 requests refused for want of capacity, and
// a client that hangs up, write no line per request and no error line:
// they are counted, timed, and summarized a few times a second at most.
func TestRefusalsAreQuiet(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	routes := func(mux *http.ServeMux) {
		mux.HandleFunc("GET /v1/test/hold", func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-release
			w.WriteHeader(http.StatusNoContent)
		})
		mux.HandleFunc("GET /v1/test/wait", func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-r.Context().Done()
			http.Error(w, "gone", http.StatusServiceUnavailable)
		})
	}
	var logs logBuffer
	m := metrics.New()
	s := newStack(t, backends[0], stackOptions{API: api.Options{MaxInFlight: 1, Metrics: m,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Extra: []func(*http.ServeMux){routes}}})

	held := make(chan error, 1)
	go func() {
		_, err := s.send(context.Background(), "GET", "/v1/test/hold", hdr{}, nil)
		held <- err
	}()
	<-entered

	const refusals, workers = 10_000, 8
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range refusals / workers {
				r, err := s.send(context.Background(), "GET", "/v1/tms/version", hdr{}, nil)
				if err != nil || r.Status != http.StatusServiceUnavailable {
					t.Errorf("worker %d: %d %v, want 503", w, r.Status, err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}

	// A client that hangs up while its request waits.
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		s.send(ctx, "GET", "/v1/test/wait", hdr{}, nil)
	}()
	<-entered
	cancel()
	<-gone
	clocktest.Eventually(t, "the hang-up counted", func() bool {
		return counter(t, m.Registry(), "tms_http_rejected_total", map[string]string{"reason": "client_gone"}) == 1
	})

	if got := counter(t, m.Registry(), "tms_http_rejected_total", map[string]string{"reason": "overload"}); got != refusals {
		t.Fatalf("tms_http_rejected_total{reason=overload} = %v, want %d", got, refusals)
	}
	if got := histogramCount(t, m, "tms_http_refusal_duration_seconds", map[string]string{"reason": "overload"}); got != refusals {
		t.Fatalf("refusal latency observations %v, want %d", got, refusals)
	}
	var summaries, requests int
	for _, line := range logs.lines() {
		switch {
		case strings.Contains(line, "level=ERROR"):
			t.Fatalf("error line for an expected refusal: %s", line)
		case strings.Contains(line, "msg=\"requests refused"):
			summaries++
		case strings.Contains(line, "msg=request") && strings.Contains(line, "status=503"):
			t.Fatalf("a line for one refused request: %s", line)
		case strings.Contains(line, "msg=request"):
			requests++
		}
	}
	// At most two summary lines per interval (one when an interval has
	// passed, one by the timer after the last refusal) and one more.
	bound := 2*int(math.Ceil(float64(elapsed)/float64(logsummary.DefaultInterval))) + 1
	if summaries < 1 || summaries > bound {
		t.Fatalf("%d summary lines for %d refusals in %v, want 1 to %d", summaries, refusals, elapsed, bound)
	}
	if requests != 1 {
		t.Fatalf("%d request lines, want 1 (the held request)", requests)
	}
	t.Logf("%d refusals in %v: %d summary lines", refusals, elapsed.Round(time.Millisecond), summaries)
}
