// Package logsummary folds events that are expected to come in floods —
// requests refused under load, clients that hang up, connections over a
// limit — into one log line per interval with a count per reason, so a
// flood costs a few lines a second instead of a line per event.
package logsummary

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// DefaultInterval is the least time between two summary lines when
// Options.Interval is zero.
const DefaultInterval = time.Second

// Options configure a Summary.
type Options struct {
	// Logger receives the summary lines at Level; nil discards them.
	Logger *slog.Logger
	Level  slog.Level
	// Message is the message of every summary line.
	Message string
	// Interval is the least time between two summary lines.
	Interval time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// AfterFunc runs f once after d; nil means time.AfterFunc. Tests pass
	// one that keeps f to run it by hand.
	AfterFunc func(d time.Duration, f func())
}

// Summary counts events by reason and logs the counts at most once per
// interval, plus once more after the last event so no count is lost. It is
// safe for concurrent use.
type Summary struct {
	opts      Options
	mu        sync.Mutex
	counts    map[string]int64
	last      time.Time
	scheduled bool
}

// New returns a Summary.
func New(opts Options) *Summary {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AfterFunc == nil {
		opts.AfterFunc = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
	}
	return &Summary{opts: opts, counts: map[string]int64{}}
}

// Add counts one event for reason. reason must come from a small fixed
// set: each one becomes an attribute of the summary line.
func (s *Summary) Add(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[reason]++
	now := s.opts.Now()
	if waited := now.Sub(s.last); waited >= s.opts.Interval || waited < 0 {
		s.emitLocked(now)
		return
	}
	if !s.scheduled {
		s.scheduled = true
		s.opts.AfterFunc(s.opts.Interval-now.Sub(s.last), s.flushScheduled)
	}
}

// Flush logs the counts not logged yet, if any.
func (s *Summary) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emitLocked(s.opts.Now())
}

func (s *Summary) flushScheduled() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scheduled = false
	s.emitLocked(s.opts.Now())
}

// emitLocked logs the pending counts, sorted by reason, and starts a new
// interval at now.
func (s *Summary) emitLocked(now time.Time) {
	if len(s.counts) == 0 {
		return
	}
	reasons := make([]string, 0, len(s.counts))
	for r := range s.counts {
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	attrs := make([]slog.Attr, 0, len(reasons))
	for _, r := range reasons {
		attrs = append(attrs, slog.Int64(r, s.counts[r]))
	}
	clear(s.counts)
	s.last = now
	s.opts.Logger.LogAttrs(context.Background(), s.opts.Level, s.opts.Message, attrs...)
}
