package logsummary_test

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/logsummary"
)

// TestFloodMakesBoundedLines: 10,000 events over ten seconds of the
// injected clock make at most two lines a second, and the lines count
// every event.
func TestFloodMakesBoundedLines(t *testing.T) {
	var buf bytes.Buffer
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var pending []func()
	s := logsummary.New(logsummary.Options{
		Logger:    slog.New(slog.NewTextHandler(&buf, nil)),
		Level:     slog.LevelWarn,
		Message:   "requests refused",
		Interval:  time.Second,
		Now:       clock.Now,
		AfterFunc: func(_ time.Duration, f func()) { pending = append(pending, f) },
	})
	reasons := []string{"overload", "busy", "client_gone"}
	const events = 10_000
	for i := range events {
		s.Add(reasons[i%len(reasons)])
		clock.Add(time.Millisecond)
		// Run the scheduled flushes now and then, as the timer would.
		if i%2500 == 0 {
			for _, f := range pending {
				f()
			}
			pending = nil
		}
	}
	for _, f := range pending {
		f()
	}

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if max := 2*10 + 2; len(lines) > max {
		t.Fatalf("%d events made %d lines, want at most %d", events, len(lines), max)
	}
	var total int64
	for _, line := range lines {
		if !strings.Contains(line, "level=WARN") || !strings.Contains(line, `msg="requests refused"`) {
			t.Fatalf("line %q: want a WARN summary", line)
		}
		for _, field := range strings.Fields(line) {
			for _, r := range reasons {
				if v, ok := strings.CutPrefix(field, r+"="); ok {
					n, err := strconv.ParseInt(v, 10, 64)
					if err != nil {
						t.Fatalf("line %q: %v", line, err)
					}
					total += n
				}
			}
		}
	}
	if total != events {
		t.Fatalf("the lines count %d events, want %d:\n%s", total, events, buf.String())
	}
	t.Logf("%d events, %d lines", events, len(lines))
}

// TestFlushLogsPendingOnly: Flush logs what is pending and nothing when
// nothing is.
func TestFlushLogsPendingOnly(t *testing.T) {
	var buf bytes.Buffer
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := logsummary.New(logsummary.Options{Logger: slog.New(slog.NewTextHandler(&buf, nil)), Message: "m",
		Now: clock.Now, AfterFunc: func(time.Duration, func()) {}})
	s.Add("a") // the first event is logged at once
	s.Add("a")
	s.Add("b")
	s.Flush()
	s.Flush()
	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(got) != 2 || !strings.HasSuffix(got[0], "a=1") || !strings.HasSuffix(got[1], "a=1 b=1") {
		t.Fatalf("lines:\n%s\nwant a=1, then a=1 b=1", buf.String())
	}
}
