package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

// auditEvent returns an event of tenant at t0 plus offset, with every field
// set so that round trips are checked in full.
func auditEvent(tenant, typ, actor string, offset time.Duration) store.AuditEvent {
	return store.AuditEvent{
		Time: t0.Add(offset), Tenant: tenant, Type: typ, Outcome: "success", Actor: actor,
		RequestID: "req-" + typ, RemoteAddr: "192.0.2.7:40000", User: "u1", Host: "host1", HostAccount: "acct1",
		ClientID: "c1", Fingerprint: "SHA256:abc", Detail: "num_uses=1 ttl_minutes=60", Repeats: 1,
	}
}

// listAudit lists with q and fails the test on error.
func listAudit(t *testing.T, s store.Store, q store.AuditQuery) []store.AuditEvent {
	t.Helper()
	got, err := s.ListAudit(ctx(t), q)
	if err != nil {
		t.Fatalf("ListAudit(%+v): %v", q, err)
	}
	if got == nil {
		t.Fatalf("ListAudit(%+v) returned nil, want a list", q)
	}
	return got
}

func auditTypes(events []store.AuditEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Type
	}
	return out
}

func testAuditAppendList(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.AppendAudit(c, nil))
	if got := listAudit(t, s, store.AuditQuery{Tenant: "t1", Limit: 10}); len(got) != 0 {
		t.Fatalf("empty log: got %+v", got)
	}

	first := auditEvent("t1", "key.create", "client:c1", 0)
	first.Time = time.Date(2026, 7, 13, 20, 2, 11, 123456789, time.FixedZone("X", 2*3600))
	repeated := auditEvent("t1", "key.retrieve", "host:login1", time.Second)
	repeated.Repeats = 7
	batch := []store.AuditEvent{
		first,
		repeated,
		auditEvent("t2", "client.delete", "admin:~~admin", 2*time.Second),
		auditEvent("", "key.retrieve", "", 3*time.Second),
	}
	batch[0].ID = 999 // ignored
	must(t, s.AppendAudit(c, batch))

	got := listAudit(t, s, store.AuditQuery{Tenant: "t1", Limit: 10})
	if want := []string{"key.retrieve", "key.create"}; !reflect.DeepEqual(auditTypes(got), want) {
		t.Fatalf("tenant t1, newest first: got %v, want %v", auditTypes(got), want)
	}
	if got[0].ID <= got[1].ID {
		t.Fatalf("ids do not grow with appends: %d then %d", got[1].ID, got[0].ID)
	}
	if got[0].Repeats != 7 {
		t.Fatalf("repeats: got %d, want 7", got[0].Repeats)
	}
	unset := auditEvent("t9", "key.retrieve", "", 0)
	unset.Repeats = 0
	must(t, s.AppendAudit(c, []store.AuditEvent{unset}))
	if got := listAudit(t, s, store.AuditQuery{Tenant: "t9", Limit: 1}); got[0].Repeats != 1 {
		t.Fatalf("zero repeats stored as %d, want 1", got[0].Repeats)
	}
	want := first
	want.ID = got[1].ID
	want.Time = store.Micro(first.Time)
	if !reflect.DeepEqual(got[1], want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got[1], want)
	}
	if got := listAudit(t, s, store.AuditQuery{Tenant: "", Limit: 10}); len(got) != 1 || got[0].Actor != "" {
		t.Fatalf("events without a tenant: got %+v", got)
	}
	if got := listAudit(t, s, store.AuditQuery{Tenant: "t3", Limit: 10}); len(got) != 0 {
		t.Fatalf("tenant without events: got %+v", got)
	}
	if _, err := s.ListAudit(c, store.AuditQuery{Tenant: "t1"}); err == nil {
		t.Fatal("ListAudit with limit 0: no error")
	}
}

func testAuditFilters(t *testing.T, s store.Store) {
	c := ctx(t)
	var events []store.AuditEvent
	for i := range 10 {
		typ := "key.create"
		if i%2 == 1 {
			typ = "key.retrieve"
		}
		actor := fmt.Sprintf("client:c%d", i%3)
		events = append(events, auditEvent("t1", typ, actor, time.Duration(i)*time.Minute))
	}
	events = append(events, auditEvent("t2", "key.create", "client:c0", 0))
	must(t, s.AppendAudit(c, events))
	all := listAudit(t, s, store.AuditQuery{Tenant: "t1", Limit: 100})
	if len(all) != 10 {
		t.Fatalf("all of t1: got %d events, want 10", len(all))
	}
	// minute i is all[9-i]
	minute := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }

	tests := []struct {
		name string
		q    store.AuditQuery
		want []int // minutes, newest first
	}{
		{"from inclusive", store.AuditQuery{From: minute(7)}, []int{9, 8, 7}},
		{"to exclusive", store.AuditQuery{To: minute(2)}, []int{1, 0}},
		{"range", store.AuditQuery{From: minute(3), To: minute(6)}, []int{5, 4, 3}},
		{"actor", store.AuditQuery{Actor: "client:c1"}, []int{7, 4, 1}},
		{"type", store.AuditQuery{Type: "key.retrieve"}, []int{9, 7, 5, 3, 1}},
		{"type and actor", store.AuditQuery{Type: "key.create", Actor: "client:c0"}, []int{6, 0}},
		{"type, actor and range", store.AuditQuery{Type: "key.create", Actor: "client:c0", From: minute(1)}, []int{6}},
		{"limit", store.AuditQuery{Limit: 3}, []int{9, 8, 7}},
		{"after", store.AuditQuery{After: all[2].ID, Limit: 2}, []int{6, 5}},
		{"after with type", store.AuditQuery{After: all[2].ID, Type: "key.retrieve"}, []int{5, 3, 1}},
		{"no match", store.AuditQuery{Actor: "client:nobody"}, []int{}},
		{"empty range", store.AuditQuery{From: minute(5), To: minute(5)}, []int{}},
	}
	for _, tc := range tests {
		q := tc.q
		q.Tenant = "t1"
		if q.Limit == 0 {
			q.Limit = 100
		}
		got := listAudit(t, s, q)
		gotMinutes := []int{}
		for _, e := range got {
			gotMinutes = append(gotMinutes, int(e.Time.Sub(t0)/time.Minute))
		}
		if !reflect.DeepEqual(gotMinutes, tc.want) {
			t.Errorf("%s: got minutes %v, want %v", tc.name, gotMinutes, tc.want)
		}
	}

	// Paging with the cursor visits every event once, in order.
	var paged []int64
	after := int64(0)
	for range 10 {
		page := listAudit(t, s, store.AuditQuery{Tenant: "t1", Limit: 4, After: after})
		for _, e := range page {
			paged = append(paged, e.ID)
		}
		if len(page) < 4 {
			break
		}
		after = page[len(page)-1].ID
	}
	var ids []int64
	for _, e := range all {
		ids = append(ids, e.ID)
	}
	if !reflect.DeepEqual(paged, ids) {
		t.Fatalf("paging: got ids %v, want %v", paged, ids)
	}
}

func testAuditPrune(t *testing.T, s store.Store) {
	c := ctx(t)
	// More events than one prune chunk of either backend, so that pruning
	// takes several rounds.
	const old, recent = 12000, 5
	events := make([]store.AuditEvent, 0, old+recent)
	for i := range old {
		events = append(events, auditEvent("t1", "key.retrieve", "", -time.Duration(old-i)*time.Millisecond))
	}
	for i := range recent {
		events = append(events, auditEvent("t1", "key.create", "", time.Duration(i)*time.Second))
	}
	must(t, s.AppendAudit(c, events))
	before := listAudit(t, s, store.AuditQuery{Tenant: "t1", Limit: 1})

	n, err := s.PruneAudit(c, t0)
	wantCount(t, "PruneAudit", n, err, old)
	left := listAudit(t, s, store.AuditQuery{Tenant: "t1", Limit: old + recent})
	if len(left) != recent {
		t.Fatalf("after prune: %d events left, want %d", len(left), recent)
	}
	for _, e := range left {
		if e.Time.Before(t0) {
			t.Fatalf("prune left an older event: %+v", e)
		}
	}
	n, err = s.PruneAudit(c, t0)
	wantCount(t, "PruneAudit again", n, err, 0)

	// Ids keep growing after a prune, so a cursor stays valid.
	must(t, s.AppendAudit(c, []store.AuditEvent{auditEvent("t1", "tenant.update", "", time.Hour)}))
	newest := listAudit(t, s, store.AuditQuery{Tenant: "t1", Limit: 1})
	if newest[0].Type != "tenant.update" || newest[0].ID <= before[0].ID {
		t.Fatalf("after prune, newest is %+v; want tenant.update with an id above %d", newest[0], before[0].ID)
	}
}

// testAuditOutlivesRecords checks that events do not depend on the records
// they name: deleting or wiping the tenant keeps them.
func testAuditOutlivesRecords(t *testing.T, s store.Store) {
	c := ctx(t)
	world(t, s)
	must(t, s.AppendAudit(c, []store.AuditEvent{
		auditEvent("t1", "key.create", "client:c1", 0),
		auditEvent("nosuchtenant", "auth.failure", "client:c9", 0),
	}))
	if _, err := s.WipeTenant(c, "t1"); err != nil {
		t.Fatalf("WipeTenant: %v", err)
	}
	if got := listAudit(t, s, store.AuditQuery{Tenant: "t1", Limit: 10}); len(got) != 1 {
		t.Fatalf("after wiping the tenant: got %d events, want 1", len(got))
	}
	if got := listAudit(t, s, store.AuditQuery{Tenant: "nosuchtenant", Limit: 10}); len(got) != 1 {
		t.Fatalf("events of an unknown tenant: got %d, want 1", len(got))
	}
}

func testAuditConcurrentAppend(t *testing.T, s store.Store) {
	const writers, batches, size = 8, 10, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				batch := make([]store.AuditEvent, size)
				for i := range batch {
					batch[i] = auditEvent("t1", "key.retrieve", fmt.Sprintf("host:w%d", w), time.Duration(b*size+i)*time.Millisecond)
				}
				if err := s.AppendAudit(ctx(t), batch); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent AppendAudit: %v", err)
	}
	got := listAudit(t, s, store.AuditQuery{Tenant: "t1", Limit: writers * batches * size * 2})
	if len(got) != writers*batches*size {
		t.Fatalf("got %d events, want %d", len(got), writers*batches*size)
	}
	seen := map[int64]bool{}
	for i, e := range got {
		if seen[e.ID] {
			t.Fatalf("id %d appears twice", e.ID)
		}
		seen[e.ID] = true
		if i > 0 && e.ID >= got[i-1].ID {
			t.Fatalf("not newest first at %d: id %d after %d", i, e.ID, got[i-1].ID)
		}
	}
}

func testAuditCanceled(t *testing.T, s store.Store) {
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	err := s.AppendAudit(c, []store.AuditEvent{auditEvent("t1", "key.create", "", 0)})
	wantErr(t, err, store.ErrUnavailable)
	if got := listAudit(t, s, store.AuditQuery{Tenant: "t1", Limit: 10}); len(got) != 0 {
		t.Fatalf("a canceled append stored %d events", len(got))
	}
}

// auditTests are the conformance tests of the audit log.
func auditTests() []struct {
	name string
	fn   func(t *testing.T, s store.Store)
} {
	return []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"AuditAppendList", testAuditAppendList},
		{"AuditFilters", testAuditFilters},
		{"AuditPrune", testAuditPrune},
		{"AuditOutlivesRecords", testAuditOutlivesRecords},
		{"AuditConcurrentAppend", testAuditConcurrentAppend},
		{"AuditCanceled", testAuditCanceled},
	}
}
