package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlite"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// openStore opens a SQLite store that is closed when the test ends.
func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db := openUnmanagedStore(t)
	t.Cleanup(func() { db.Close() })
	return db
}

// openUnmanagedStore opens a SQLite store the test closes itself.
func openUnmanagedStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(testContext(t), sqlite.Options{Path: filepath.Join(t.TempDir(), "tms.db")})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	return db
}

// countingStore passes calls to a real store and remembers the size of
// every batch; with a gate it holds each append until the gate is opened.
type countingStore struct {
	*sqlite.DB
	mu      sync.Mutex
	batches []int
	entered chan struct{} // receives once per append, before the gate
	gate    chan struct{} // nil: no gate
}

func (s *countingStore) AppendAudit(ctx context.Context, events []store.AuditEvent) error {
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	s.batches = append(s.batches, len(events))
	s.mu.Unlock()
	return s.DB.AppendAudit(ctx, events)
}

func (s *countingStore) batchSizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.batches...)
}

func event(i int) store.AuditEvent {
	return store.AuditEvent{Tenant: "t1", Type: audit.TypeKeyRetrieve, Outcome: audit.OutcomeSuccess, Detail: fmt.Sprint(i)}
}

func stored(t *testing.T, db *sqlite.DB) []store.AuditEvent {
	t.Helper()
	got, err := db.ListAudit(testContext(t), store.AuditQuery{Tenant: "t1", Limit: 100000})
	if err != nil {
		t.Fatalf("list audit events: %v", err)
	}
	return got
}

func TestRecorderWritesFullBatchesAndFlushesOnClose(t *testing.T) {
	st := &countingStore{DB: openStore(t)}
	rec := audit.New(st, audit.Options{BatchSize: 10, FlushInterval: time.Hour})
	for i := range 25 {
		rec.Record(event(i))
	}
	clocktest.Eventually(t, "two full batches written", func() bool { return rec.Stats().Written == 20 })
	if got := len(stored(t, st.DB)); got != 20 {
		t.Fatalf("before Close: %d events stored, want the two full batches (20)", got)
	}
	if err := rec.Close(testContext(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	events := stored(t, st.DB)
	if len(events) != 25 {
		t.Fatalf("after Close: %d events stored, want 25", len(events))
	}
	if got := fmt.Sprint(st.batchSizes()); got != "[10 10 5]" {
		t.Fatalf("batch sizes: got %s, want [10 10 5]", got)
	}
	// In order: the newest is the last recorded.
	if events[0].Detail != "24" || events[24].Detail != "0" {
		t.Fatalf("order: newest %q, oldest %q", events[0].Detail, events[24].Detail)
	}
	if events[0].Time.IsZero() {
		t.Fatal("Record did not set the time")
	}
	if s := rec.Stats(); s.Written != 25 || s.DroppedFull != 0 || s.DroppedWrite != 0 {
		t.Fatalf("stats: %+v", s)
	}
}

func TestRecorderFlushesAfterInterval(t *testing.T) {
	st := &countingStore{DB: openStore(t)}
	rec := audit.New(st, audit.Options{BatchSize: 100, FlushInterval: 20 * time.Millisecond})
	defer rec.Close(testContext(t))
	for i := range 3 {
		rec.Record(event(i))
	}
	clocktest.Eventually(t, "a partial batch written after the flush interval", func() bool { return len(stored(t, st.DB)) == 3 })
	if got := fmt.Sprint(st.batchSizes()); got != "[3]" {
		t.Fatalf("batch sizes: got %s, want [3]", got)
	}
}

func TestRecorderDropsWhenFull(t *testing.T) {
	st := &countingStore{DB: openStore(t), entered: make(chan struct{}, 10), gate: make(chan struct{})}
	var logs bytes.Buffer
	m := metrics.New()
	rec := audit.New(st, audit.Options{Buffer: 4, BatchSize: 1, EnqueueWait: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	rec.RegisterMetrics(m)

	rec.Record(event(0))
	<-st.entered // the writer holds event 0 and waits at the gate
	for i := 1; i <= 4; i++ {
		rec.Record(event(i)) // fills the buffer
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 5; i < 8; i++ {
			rec.Record(event(i)) // no room: dropped
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Record blocked on a full buffer")
	}
	if s := rec.Stats(); s.DroppedFull != 3 || s.Queued != 4 {
		t.Fatalf("stats with a full buffer: %+v, want 3 dropped and 4 queued", s)
	}
	if got := counterValue(t, m, "tms_audit_dropped_total", "buffer_full"); got != 3 {
		t.Fatalf("tms_audit_dropped_total{reason=buffer_full} = %v, want 3", got)
	}
	if n := strings.Count(logs.String(), "audit events dropped"); n != 1 {
		t.Fatalf("drop warnings: got %d, want 1 (rate-limited):\n%s", n, logs.String())
	}

	close(st.gate)
	if err := rec.Close(testContext(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := len(stored(t, st.DB)); got != 5 {
		t.Fatalf("stored %d events, want the 5 that were queued", got)
	}
}

// counterValue returns the value of the counter of m named name whose
// reason label is reason.
func counterValue(t *testing.T, m *metrics.Metrics, name, reason string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, metric := range f.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return metric.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no metric %s{reason=%q}", name, reason)
	return 0
}

func TestRecorderCountsFailedWrites(t *testing.T) {
	db := openUnmanagedStore(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	rec := audit.New(db, audit.Options{BatchSize: 2})
	rec.Record(event(0))
	rec.Record(event(1))
	err := rec.Close(testContext(t))
	if err == nil {
		t.Fatal("Close after failed writes: no error")
	}
	if s := rec.Stats(); s.DroppedWrite != 2 || s.Written != 0 {
		t.Fatalf("stats: %+v, want 2 dropped by the write", s)
	}
}

func TestRecordAfterCloseDrops(t *testing.T) {
	db := openStore(t)
	rec := audit.New(db, audit.Options{})
	if err := rec.Close(testContext(t)); err != nil {
		t.Fatal(err)
	}
	rec.Record(event(0))
	if s := rec.Stats(); s.DroppedFull != 1 {
		t.Fatalf("stats: %+v, want one dropped event", s)
	}
	if err := rec.Close(testContext(t)); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestRecorderConcurrentWithClose(t *testing.T) {
	db := openStore(t)
	rec := audit.New(db, audit.Options{BatchSize: 16, FlushInterval: time.Millisecond})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				rec.Record(event(g*1000 + i))
			}
		}()
	}
	// Close while events are being recorded.
	clocktest.Eventually(t, "events recorded", func() bool { s := rec.Stats(); return s.Queued > 0 || s.Written+s.DroppedFull > 0 })
	if err := rec.Close(testContext(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	s := rec.Stats()
	if s.Written+s.DroppedFull != 1600 || s.DroppedWrite != 0 {
		t.Fatalf("stats: %+v; every event must be written or counted as dropped", s)
	}
	if got := uint64(len(stored(t, db))); got != s.Written {
		t.Fatalf("stored %d events, stats say %d written", got, s.Written)
	}
}

func TestRecorderPrunes(t *testing.T) {
	db := openStore(t)
	now := time.Date(2026, 7, 13, 12, 0, 0, 0, time.UTC)
	var events []store.AuditEvent
	for i := range 10 {
		e := event(i)
		e.Time = now.Add(-time.Duration(i) * 24 * time.Hour) // 0 to 9 days old
		events = append(events, e)
	}
	if err := db.AppendAudit(testContext(t), events); err != nil {
		t.Fatal(err)
	}
	rec := audit.New(db, audit.Options{Retention: 72 * time.Hour, Now: func() time.Time { return now }})
	clocktest.Eventually(t, "events older than the retention pruned", func() bool { return rec.Stats().Pruned == 6 })
	if err := rec.Close(testContext(t)); err != nil {
		t.Fatal(err)
	}
	left := stored(t, db)
	if len(left) != 4 {
		t.Fatalf("%d events left, want the 4 from the last 72 hours", len(left))
	}
	for _, e := range left {
		if now.Sub(e.Time) > 72*time.Hour {
			t.Fatalf("event %v old was kept", now.Sub(e.Time))
		}
	}
}

func TestRecorderKeepsEventsSmall(t *testing.T) {
	db := openStore(t)
	rec := audit.New(db, audit.Options{})
	e := event(0)
	e.User = strings.Repeat("é", 300) // 600 bytes
	e.Detail = strings.Repeat("x", 5000)
	rec.Record(e)
	if err := rec.Close(testContext(t)); err != nil {
		t.Fatal(err)
	}
	got := stored(t, db)[0]
	if len(got.User) > 260 || !strings.HasPrefix(got.User, "éé") || !strings.HasSuffix(got.User, "…") {
		t.Fatalf("user field: %d bytes, %q...", len(got.User), got.User[:8])
	}
	if !utf8.ValidString(got.User) {
		t.Fatal("truncation split a character")
	}
	if len(got.Detail) > 1030 {
		t.Fatalf("detail: %d bytes", len(got.Detail))
	}
}

func TestNilRecorder(t *testing.T) {
	var rec *audit.Recorder
	rec.Record(event(0))
	rec.RegisterMetrics(metrics.New())
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := rec.Stats(); s != (audit.Stats{}) {
		t.Fatalf("stats of a nil recorder: %+v", s)
	}
}

func TestNote(t *testing.T) {
	audit.Note(context.Background(), func(f *audit.Facts) { t.Fatal("Note without facts called its function") })
	var f audit.Facts
	ctx := audit.NewContext(context.Background(), &f)
	audit.Note(ctx, func(f *audit.Facts) {
		f.User = "u1"
		f.AddDetail("num_uses=%d", 3)
		f.AddDetail("key_type=%s", "ed25519")
	})
	if f.User != "u1" || f.Detail() != "num_uses=3; key_type=ed25519" {
		t.Fatalf("facts: %+v, detail %q", f, f.Detail())
	}
}

func TestOutcomeOf(t *testing.T) {
	for status, want := range map[int]string{
		200: audit.OutcomeSuccess, 201: audit.OutcomeSuccess, 400: audit.OutcomeInvalid, 401: audit.OutcomeDenied,
		403: audit.OutcomeDenied, 404: audit.OutcomeRefused, 409: audit.OutcomeInvalid, 415: audit.OutcomeInvalid,
		500: audit.OutcomeError, 503: audit.OutcomeError,
	} {
		if got := audit.OutcomeOf(status); got != want {
			t.Errorf("OutcomeOf(%d) = %q, want %q", status, got, want)
		}
	}
}

func TestRecorderFoldsRepeatedLookups(t *testing.T) {
	st := &countingStore{DB: openStore(t)}
	rec := audit.New(st, audit.Options{BatchSize: 100, FlushInterval: time.Hour})
	lookup := store.AuditEvent{Tenant: "t1", Type: audit.TypeKeyRetrieve, Outcome: audit.OutcomeSuccess,
		RemoteAddr: "192.0.2.1:1", Host: "h", HostAccount: "a", Fingerprint: "SHA256:x"}
	for i := range 500 {
		e := lookup
		e.RequestID = fmt.Sprint("r", i)
		e.RemoteAddr = fmt.Sprintf("192.0.2.1:%d", 1+i%3) // a new connection now and then
		rec.Record(e)
	}
	other := lookup
	other.Outcome, other.Detail = audit.OutcomeRefused, "key expired"
	rec.Record(other)
	for range 3 {
		rec.Record(store.AuditEvent{Tenant: "t1", Type: audit.TypeKeyCreate, Outcome: audit.OutcomeSuccess, Fingerprint: "SHA256:y"})
	}
	if err := rec.Close(testContext(t)); err != nil {
		t.Fatal(err)
	}
	events := stored(t, st.DB)
	// Oldest last: the folded lookups, the refusal, three key creations.
	if len(events) != 5 {
		t.Fatalf("%d entries stored, want 5: %+v", len(events), events)
	}
	folded := events[4]
	if folded.Repeats != 500 || folded.RequestID != "r0" || folded.Outcome != audit.OutcomeSuccess {
		t.Fatalf("folded lookups: %+v", folded)
	}
	if events[3].Repeats != 1 || events[3].Outcome != audit.OutcomeRefused {
		t.Fatalf("a different outcome was folded in: %+v", events[3])
	}
	for _, e := range events[:3] {
		if e.Type != audit.TypeKeyCreate || e.Repeats != 1 {
			t.Fatalf("key creations must not be folded: %+v", e)
		}
	}
	if s := rec.Stats(); s.Written != 504 {
		t.Fatalf("written: %d events, want 504", s.Written)
	}
}

// TestRecorderFoldsFailuresPerSource: authentication failures from one
// source within the window become the first event and one folded entry,
// whatever their client ids, even across batches; an IPv6 /64 is one
// source; a new window starts afresh.
func TestRecorderFoldsFailuresPerSource(t *testing.T) {
	st := &countingStore{DB: openStore(t)}
	clock := clocktest.New(time.Date(2026, 7, 13, 12, 0, 0, 0, time.UTC))
	rec := audit.New(st, audit.Options{Buffer: 20_000, BatchSize: 10, FlushInterval: time.Hour, FailureWindow: time.Minute, Now: clock.Now})
	failure := func(remote string, i int) store.AuditEvent {
		return store.AuditEvent{Tenant: "t1", Type: audit.TypeAuthFailure, Outcome: audit.OutcomeDenied, RemoteAddr: remote,
			ClientID: fmt.Sprint("made-up-", i), Actor: fmt.Sprint("client:made-up-", i), RequestID: fmt.Sprint("r", i)}
	}
	for i := range 10_000 {
		rec.Record(failure(fmt.Sprintf("192.0.2.7:%d", 1024+i%5000), i))
	}
	for i := range 200 {
		rec.Record(failure(fmt.Sprintf("[2001:db8:0:1::%x]:443", i), i))
	}
	for i := range 10 {
		rec.Record(failure("192.0.2.8:1000", i))
	}
	clock.Add(61 * time.Second)
	rec.Record(failure("192.0.2.7:9", 10_000))
	if err := rec.Close(testContext(t)); err != nil {
		t.Fatal(err)
	}
	events := stored(t, st.DB)
	var total int
	rows := map[string][]int{}
	for _, e := range slices.Backward(events) {
		total += e.Repeats
		host, _, _ := net.SplitHostPort(e.RemoteAddr)
		if strings.HasPrefix(host, "2001:db8:0:1:") {
			host = "2001:db8:0:1::/64"
		}
		rows[host] = append(rows[host], e.Repeats)
	}
	want := map[string][]int{"192.0.2.7": {1, 9999, 1}, "2001:db8:0:1::/64": {1, 199}, "192.0.2.8": {1, 9}}
	if !reflect.DeepEqual(rows, want) || total != 10_211 {
		t.Fatalf("rows by source %v (%d events), want %v (10211)", rows, total, want)
	}
	if s := rec.Stats(); s.Written != 10_211 {
		t.Fatalf("written: %d events, want 10211", s.Written)
	}
}
