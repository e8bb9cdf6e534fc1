package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/ratelimit"
	"github.com/tmsproject/tms/internal/store"
)

// Store is the part of the store a Recorder writes to.
type Store interface {
	AppendAudit(ctx context.Context, events []store.AuditEvent) error
	PruneAudit(ctx context.Context, before time.Time) (int64, error)
}

// Options configure a Recorder. Zero values take the defaults.
type Options struct {
	// Buffer is how many events may wait to be written (default 4096).
	Buffer int
	// BatchSize is the most events written in one transaction (default 256).
	BatchSize int
	// FlushInterval is the longest an event waits before its batch is
	// written (default 200ms).
	FlushInterval time.Duration
	// EnqueueWait is how long Record waits for room in a full buffer before
	// it drops the event (default 5ms).
	EnqueueWait time.Duration
	// WriteTimeout bounds the writing of one batch, retries included
	// (default 5s).
	WriteTimeout time.Duration
	// Retention is how long events are kept; 0 keeps them forever.
	Retention time.Duration
	// PruneInterval is the time between two prunes (default 1h).
	PruneInterval time.Duration
	// Logger receives warnings about dropped events (default: discard).
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// FailureWindow folds authentication failures and other failed
	// requests (see authFailure) per source: within this
	// window after the first failure of a source (its address, or IPv6
	// /64, with the event's type, outcome and tenant), the failures that
	// follow become one entry with a repeats count, written when the
	// window ends, whatever their client ids, users or details. Zero
	// folds only within a batch.
	FailureWindow time.Duration
}

func (o *Options) setDefaults() {
	if o.Buffer <= 0 {
		o.Buffer = 4096
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 200 * time.Millisecond
	}
	if o.EnqueueWait <= 0 {
		o.EnqueueWait = 5 * time.Millisecond
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.PruneInterval <= 0 {
		o.PruneInterval = time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// warnEvery is the least time between two warnings about dropped events.
const warnEvery = 10 * time.Second

// Recorder writes audit events to the store in batches. Its methods are
// safe for concurrent use, and a nil *Recorder records nothing.
type Recorder struct {
	st   Store
	opts Options

	mu     sync.RWMutex // guards sends on events against Close
	closed bool
	events chan store.AuditEvent

	stopPrune context.CancelFunc
	done      chan struct{} // closed when the writer has flushed and stopped
	pruneDone chan struct{}
	closeOnce sync.Once
	closeErr  error
	flushErr  error // the last failed write; read after done is closed

	written      atomic.Uint64
	droppedFull  atomic.Uint64
	droppedWrite atomic.Uint64
	pruned       atomic.Uint64
	lastWarn     atomic.Int64 // unix nanoseconds of the last drop warning
}

// New starts a Recorder that writes to st. Close it to flush the events
// still buffered.
func New(st Store, opts Options) *Recorder {
	opts.setDefaults()
	r := &Recorder{
		st:        st,
		opts:      opts,
		events:    make(chan store.AuditEvent, opts.Buffer),
		done:      make(chan struct{}),
		pruneDone: make(chan struct{}),
	}
	pruneCtx, stopPrune := context.WithCancel(context.Background())
	r.stopPrune = stopPrune
	go r.write()
	if opts.Retention > 0 {
		go r.prune(pruneCtx)
	} else {
		close(r.pruneDone)
	}
	return r
}

// Record queues e for writing. A zero Time is set to now. When the buffer
// is full, Record waits at most EnqueueWait for room, then drops the event,
// counts it and logs a warning (at most one every ten seconds).
func (r *Recorder) Record(e store.AuditEvent) {
	if r == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = r.opts.Now()
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.drop(&r.droppedFull, "the audit recorder is closed")
		return
	}
	select {
	case r.events <- e:
		return
	default:
	}
	wait := time.NewTimer(r.opts.EnqueueWait)
	defer wait.Stop()
	select {
	case r.events <- e:
	case <-wait.C:
		r.drop(&r.droppedFull, "the audit buffer is full")
	}
}

// drop counts one lost event in counter and warns, rate-limited.
func (r *Recorder) drop(counter *atomic.Uint64, why string) {
	counter.Add(1)
	r.warn("audit events dropped: "+why, "dropped_total", r.droppedFull.Load()+r.droppedWrite.Load())
}

func (r *Recorder) warn(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := r.lastWarn.Load()
	if now-last < int64(warnEvery) || !r.lastWarn.CompareAndSwap(last, now) {
		return
	}
	r.opts.Logger.Warn(msg, args...)
}

// write is the writer goroutine: it collects events into batches and
// writes a batch when it is full or FlushInterval after its first event.
// Within a batch, repeated key lookups and authentication failures that
// differ only in time and request id become one event with a count; across
// batches, authentication failures from one source within FailureWindow
// become one more (see Options.FailureWindow).
func (r *Recorder) write() {
	defer close(r.done)
	batch := make([]store.AuditEvent, 0, r.opts.BatchSize)
	folded := make(map[foldKey]int) // index in batch
	sources := newSourceFolder(r.opts.FailureWindow)
	reset := func() {
		batch = batch[:0]
		clear(folded)
	}
	flush := time.NewTimer(r.opts.FlushInterval)
	flush.Stop()
	add := func(e store.AuditEvent) {
		if len(batch) == 0 {
			flush.Reset(r.opts.FlushInterval)
		}
		if foldable(e.Type) {
			k := keyOf(e)
			if i, ok := folded[k]; ok {
				batch[i].Repeats += e.Repeats
				return
			}
			folded[k] = len(batch)
		}
		batch = append(batch, e)
		if len(batch) >= r.opts.BatchSize {
			flush.Stop()
			r.flush(batch)
			reset()
		}
	}
	var sweep <-chan time.Time
	if r.opts.FailureWindow > 0 {
		t := time.NewTicker(max(time.Second, r.opts.FailureWindow/4))
		defer t.Stop()
		sweep = t.C
	}
	for {
		select {
		case e, ok := <-r.events:
			if !ok {
				sources.ended(time.Time{}, add)
				r.flush(batch)
				return
			}
			e.Repeats = max(e.Repeats, 1)
			if sources.take(e, add) {
				continue
			}
			add(e)
		case <-sweep:
			sources.ended(r.opts.Now(), add)
		case <-flush.C:
			r.flush(batch)
			reset()
		}
	}
}

// sourceFolder folds authentication failures per source and window. Only
// the writer goroutine uses it.
type sourceFolder struct {
	window  time.Duration
	windows map[sourceKey]*sourceWindow
	// perSource counts the windows open for each source address.
	perSource map[string]int
}

// sourceKey is a source of failures: an address key with the type, outcome
// and tenant of its events.
type sourceKey struct {
	addr, typ, outcome, tenant string
}

// sourceWindow is an open window: the failures after its first, folded
// into one event (Repeats zero while there are none).
type sourceWindow struct {
	end    time.Time
	folded store.AuditEvent
}

// Bounds of the folder's memory: the open windows, and those of one
// address (more tenants from one address fold into one window without a
// tenant of its own).
const (
	maxSourceWindows   = 10_000
	maxWindowsPerAddr  = 8
	overflowTenantMark = "\x00other tenants"
)

func newSourceFolder(window time.Duration) *sourceFolder {
	return &sourceFolder{window: window, windows: make(map[sourceKey]*sourceWindow), perSource: make(map[string]int)}
}

// authFailure reports whether e folds per source: an authentication
// failure (a request with missing or wrong credentials, or one refused for
// too many attempts), any other failed request, and a code entry, which
// anyone can send and which looks nothing up. Anyone can make such events
// at request rate, with made-up codes, tokens, grants or fingerprints. A
// failed key lookup folds per source only when it concerns no tenant's key
// (a key nobody has, or a malformed lookup); the refusal of a real key is
// an entry of its own.
func authFailure(e store.AuditEvent) bool {
	switch {
	case e.Type == TypeAuthFailure, e.Outcome == OutcomeDenied:
		return true
	case e.Type == TypeKeyRetrieve:
		return e.Outcome != OutcomeSuccess && e.Tenant == ""
	}
	return e.Outcome != OutcomeSuccess || e.Type == TypeDeviceCodeEntry
}

// take folds e into its source's open window and reports whether it did.
// An event that opens a window is not taken: the caller writes it. Windows
// that have ended are passed to add first.
func (f *sourceFolder) take(e store.AuditEvent, add func(store.AuditEvent)) bool {
	if f.window <= 0 || !authFailure(e) {
		return false
	}
	addr := sourceAddr(e.RemoteAddr)
	k := sourceKey{addr, e.Type, e.Outcome, e.Tenant}
	w, ok := f.windows[k]
	if !ok && f.perSource[addr] >= maxWindowsPerAddr {
		k.tenant = overflowTenantMark
		w, ok = f.windows[k]
	}
	if ok && e.Time.Before(w.end) {
		if w.folded.Repeats == 0 {
			w.folded = e
		} else {
			w.folded.Repeats += e.Repeats
		}
		return true
	}
	if ok {
		f.close(k, w, add)
	}
	if len(f.windows) >= maxSourceWindows {
		f.ended(time.Time{}, add)
	}
	f.windows[k] = &sourceWindow{end: e.Time.Add(f.window)}
	f.perSource[addr]++
	return false
}

// ended passes the folded events of the windows that ended by now to add
// and forgets them; a zero now ends every window.
func (f *sourceFolder) ended(now time.Time, add func(store.AuditEvent)) {
	for k, w := range f.windows {
		if now.IsZero() || !now.Before(w.end) {
			f.close(k, w, add)
		}
	}
}

func (f *sourceFolder) close(k sourceKey, w *sourceWindow, add func(store.AuditEvent)) {
	if w.folded.Repeats > 0 {
		add(w.folded)
	}
	delete(f.windows, k)
	if f.perSource[k.addr]--; f.perSource[k.addr] <= 0 {
		delete(f.perSource, k.addr)
	}
}

// sourceAddr is the address key failures are folded by: the address
// without its port, and an IPv6 address's /64.
func sourceAddr(remote string) string {
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if k := ratelimit.AddrKey(a); k != "" {
			return k
		}
	}
	return host
}

// foldable reports whether events of type t may be folded: the frequent
// ones that a busy login host or a misconfigured client repeats.
func foldable(t string) bool {
	return t == TypeKeyRetrieve || t == TypeAuthFailure
}

// foldKey is everything about an event except its time, request id and
// source port.
type foldKey struct {
	tenant, typ, outcome, actor, remote, user, host, account, client, fingerprint, detail string
}

// keyOf returns the fold key of e. The remote address counts without its
// port: each lookup of sshd's helper comes from a new connection.
func keyOf(e store.AuditEvent) foldKey {
	remote := e.RemoteAddr
	if host, _, err := net.SplitHostPort(remote); err == nil {
		remote = host
	}
	return foldKey{e.Tenant, e.Type, e.Outcome, e.Actor, remote, e.User, e.Host, e.HostAccount, e.ClientID, e.Fingerprint, e.Detail}
}

// flush appends batch to the store, retrying twice when the store is
// unavailable; a batch that cannot be written is dropped and counted.
func (r *Recorder) flush(batch []store.AuditEvent) {
	if len(batch) == 0 {
		return
	}
	for i := range batch {
		clean(&batch[i])
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.WriteTimeout)
	defer cancel()
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
			case <-ctx.Done():
			}
		}
		if err = r.st.AppendAudit(ctx, batch); err == nil || !errors.Is(err, store.ErrUnavailable) || ctx.Err() != nil {
			break
		}
	}
	events := uint64(0)
	for _, e := range batch {
		events += uint64(e.Repeats)
	}
	if err != nil {
		r.flushErr = err
		r.droppedWrite.Add(events)
		r.warn("audit events dropped: cannot write them", "events", len(batch), "err", err)
		return
	}
	r.written.Add(events)
}

// prune deletes events past their retention now and then every
// PruneInterval until Close cancels ctx.
func (r *Recorder) prune(ctx context.Context) {
	defer close(r.pruneDone)
	tick := time.NewTicker(r.opts.PruneInterval)
	defer tick.Stop()
	for {
		n, err := r.st.PruneAudit(ctx, r.opts.Now().Add(-r.opts.Retention))
		r.pruned.Add(uint64(n))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			r.opts.Logger.Warn("prune audit events", "err", err)
		case n > 0:
			r.opts.Logger.Info("pruned audit events", "events", n, "retention", r.opts.Retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Close stops taking events, writes those still buffered and stops
// pruning. It waits until ctx ends at most; events not written by then are
// lost. It returns the error of the last failed write, if any.
func (r *Recorder) Close(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		close(r.events)
		r.mu.Unlock()
		r.stopPrune()
		for _, ch := range []chan struct{}{r.done, r.pruneDone} {
			select {
			case <-ch:
			case <-ctx.Done():
				r.closeErr = fmt.Errorf("close audit recorder: %w", ctx.Err())
				return
			}
		}
		if r.flushErr != nil {
			r.closeErr = fmt.Errorf("close audit recorder: %w", r.flushErr)
		}
	})
	return r.closeErr
}

// Stats describe what a Recorder has done.
type Stats struct {
	// Written counts events appended to the store; a folded entry counts
	// as the events it stands for.
	Written uint64
	// DroppedFull counts events dropped because the buffer was full or the
	// recorder closed.
	DroppedFull uint64
	// DroppedWrite counts events dropped because the store refused them.
	DroppedWrite uint64
	// Queued is the number of events waiting now.
	Queued int
	// Pruned counts events deleted past their retention.
	Pruned uint64
}

// Stats reports the Recorder's counters.
func (r *Recorder) Stats() Stats {
	if r == nil {
		return Stats{}
	}
	return Stats{
		Written:      r.written.Load(),
		DroppedFull:  r.droppedFull.Load(),
		DroppedWrite: r.droppedWrite.Load(),
		Queued:       len(r.events),
		Pruned:       r.pruned.Load(),
	}
}

// RegisterMetrics exposes the Recorder's counters in m.
func (r *Recorder) RegisterMetrics(m *metrics.Metrics) {
	if r == nil {
		return
	}
	m.CounterFunc("tms_audit_events_written_total", "Audit events appended to the audit log.", nil,
		func() float64 { return float64(r.written.Load()) })
	m.CounterFunc("tms_audit_dropped_total", "Audit events lost, by reason: buffer_full (the queue stayed full), write_failed (the database refused them).",
		prometheus.Labels{"reason": "buffer_full"}, func() float64 { return float64(r.droppedFull.Load()) })
	m.CounterFunc("tms_audit_dropped_total", "Audit events lost, by reason: buffer_full (the queue stayed full), write_failed (the database refused them).",
		prometheus.Labels{"reason": "write_failed"}, func() float64 { return float64(r.droppedWrite.Load()) })
	m.GaugeFunc("tms_audit_queue_length", "Audit events waiting to be written.", nil,
		func() float64 { return float64(len(r.events)) })
	m.CounterFunc("tms_audit_pruned_total", "Audit events deleted past their retention.", nil,
		func() float64 { return float64(r.pruned.Load()) })
}

// Field limits: an event is small whatever a caller sends.
const (
	maxField  = 256
	maxDetail = 1024
)

// clean truncates every field of e to its limit, on a character boundary.
func clean(e *store.AuditEvent) {
	for _, f := range []*string{&e.Tenant, &e.Type, &e.Outcome, &e.Actor, &e.RequestID, &e.RemoteAddr,
		&e.User, &e.Host, &e.HostAccount, &e.ClientID, &e.Fingerprint} {
		*f = truncate(*f, maxField)
	}
	e.Detail = truncate(e.Detail, maxDetail)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
