package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

// storeRef passes the recorder's writes to a store that exists only once
// the stack is built.
type storeRef struct{ st atomic.Pointer[store.Store] }

func (r *storeRef) AppendAudit(ctx context.Context, events []store.AuditEvent) error {
	return (*r.st.Load()).AppendAudit(ctx, events)
}

func (r *storeRef) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	return (*r.st.Load()).PruneAudit(ctx, before)
}

// newAuditStack starts a stack that records audit events, written within
// milliseconds. The recorder is closed before the store.
func newAuditStack(t *testing.T, b backend, extra ...func(*http.ServeMux)) (*stack, *audit.Recorder) {
	t.Helper()
	return newAuditStackWith(t, b, stackOptions{API: api.Options{Extra: extra}})
}

// newAuditStackWith is newAuditStack with other options of the stack.
func newAuditStackWith(t *testing.T, b backend, o stackOptions) (*stack, *audit.Recorder) {
	t.Helper()
	ref := &storeRef{}
	rec := audit.New(ref, audit.Options{FlushInterval: 5 * time.Millisecond})
	o.API.Audit = rec
	s := newStack(t, b, o)
	ref.st.Store(&s.Store)
	t.Cleanup(func() {
		if err := rec.Close(context.Background()); err != nil {
			t.Errorf("close audit recorder: %v", err)
		}
	})
	return s, rec
}

// waitWritten waits until the recorder has written n events in all.
func waitWritten(t *testing.T, rec *audit.Recorder, n uint64) {
	t.Helper()
	clocktest.Eventually(t, fmt.Sprintf("%d audit events written", n), func() bool { return rec.Stats().Written >= n })
}

// auditList lists audit events through the API as h with the query q.
func (s *stack) auditList(t *testing.T, h hdr, q string) []map[string]any {
	t.Helper()
	r := s.call(t, "GET", "/v1/tms/audit/list?"+q, h, nil).want(t, 200)
	wantFields(t, r.JSON, envelopeFields(map[string]string{"events": "a", "num_events": "i", "next_after": "i"}))
	events := r.list(t, "events")
	if n := r.int(t, "num_events"); n != int64(len(events)) {
		t.Fatalf("num_events %d, but %d events", n, len(events))
	}
	for _, e := range events {
		wantFields(t, e, map[string]string{"id": "i", "time": "t", "tenant": "s", "type": "s", "outcome": "s", "actor": "s",
			"request_id": "s", "remote_addr": "s", "repeats": "i", "user": "s", "host": "s", "host_account": "s", "client_id": "s",
			"public_key_fingerprint": "s", "detail": "s"})
	}
	return events
}

// findEvent returns the newest event of type typ with outcome, or fails.
func findEvent(t *testing.T, events []map[string]any, typ, outcome string) map[string]any {
	t.Helper()
	for _, e := range events {
		if e["type"] == typ && e["outcome"] == outcome {
			return e
		}
	}
	t.Fatalf("no %s event with outcome %s in %v", typ, outcome, events)
	return nil
}

// wantEvent fails unless e has every field value of want.
func wantEvent(t *testing.T, e map[string]any, want map[string]string) {
	t.Helper()
	for field, v := range want {
		if e[field] != v {
			t.Errorf("%s event: %s = %q, want %q (event %v)", e["type"], field, e[field], v, e)
		}
	}
}

func TestAuditRecordsKeysChangesAndFailures(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s, rec := newAuditStack(t, b)
		admin := s.admin("test")

		created := s.call(t, "POST", "/v1/tms/client", admin,
			map[string]any{"client_id": "client2", "tenant": "test", "app_name": "app2", "app_version": "2.0"}).want(t, 201)
		clientSecret := created.str(t, "client_secret")
		key := s.createKey(t, clientHdr("test", tms.TestClientID, tms.TestClientSecret), keyBody(tms.TestUser, 3, 60))
		fp := key.str(t, "public_key_fingerprint")
		s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).want(t, 200)
		s.retrieve(t, tms.TestHostAccount, tms.TestHost, "SHA256:nosuchkey").want(t, 404)
		s.call(t, "POST", "/v1/tms/pubkeys/creds", clientHdr("test", tms.TestClientID, "wrong-secret"),
			keyBody(tms.TestUser, 1, 1)).want(t, 401)
		s.call(t, "DELETE", "/v1/tms/client/del/client2", admin, nil).want(t, 200)
		// Reads make no events.
		s.call(t, "GET", "/v1/tms/client/list", admin, nil).want(t, 200)
		waitWritten(t, rec, 6)

		events := s.auditList(t, admin, "")
		if len(events) != 5 {
			t.Fatalf("tenant test has %d events, want 5 (the lookup of an unknown key has no tenant): %v", len(events), events)
		}
		wantTypes := []string{"client.delete", "auth.failure", "key.retrieve", "key.create", "client.create"}
		for i, e := range events {
			if e["type"] != wantTypes[i] {
				t.Fatalf("event %d is %s, want %s (newest first)", i, e["type"], wantTypes[i])
			}
			wantEvent(t, e, map[string]string{"tenant": "test", "remote_addr": e["remote_addr"].(string)})
			if e["request_id"] == "" || !strings.HasPrefix(e["remote_addr"].(string), "127.0.0.1:") {
				t.Errorf("event %v lacks the request id or remote address", e)
			}
		}

		wantEvent(t, findEvent(t, events, "client.create", "success"),
			map[string]string{"actor": "admin:~~admin", "client_id": "client2"})
		issued := findEvent(t, events, "key.create", "success")
		wantEvent(t, issued, map[string]string{"actor": "client:" + tms.TestClientID, "client_id": tms.TestClientID, "user": tms.TestUser, "host": tms.TestHost,
			"host_account": tms.TestHostAccount, "public_key_fingerprint": fp})
		for _, part := range []string{"num_uses=3", "ttl_minutes=60", "expires_at="} {
			if !strings.Contains(issued["detail"].(string), part) {
				t.Errorf("key.create detail %q lacks %q", issued["detail"], part)
			}
		}
		wantEvent(t, findEvent(t, events, "key.retrieve", "success"), map[string]string{"actor": "", "client_id": tms.TestClientID,
			"user": tms.TestUser, "host": tms.TestHost, "host_account": tms.TestHostAccount, "public_key_fingerprint": fp})
		failed := findEvent(t, events, "auth.failure", "denied")
		wantEvent(t, failed, map[string]string{"actor": "client:" + tms.TestClientID})
		if d := failed["detail"].(string); !strings.Contains(d, "route=POST /v1/tms/pubkeys/creds") || !strings.Contains(d, "401: ERROR: NOT AUTHORIZED") {
			t.Errorf("auth.failure detail %q lacks the route or the reason", d)
		}
		wantEvent(t, findEvent(t, events, "client.delete", "success"), map[string]string{"client_id": "client2"})

		unknown := s.auditList(t, s.admin("default"), "no_tenant=true")
		refused := findEvent(t, unknown, "key.retrieve", "refused")
		wantEvent(t, refused, map[string]string{"tenant": "", "public_key_fingerprint": "SHA256:nosuchkey", "host_account": tms.TestHostAccount})
		if !strings.Contains(refused["detail"].(string), "no_such_key") {
			t.Errorf("refused lookup detail %q lacks the reason", refused["detail"])
		}

		// No secret and no private key reaches the audit log.
		all, err := s.Store.ListAudit(testContext(t), store.AuditQuery{Tenant: "test", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(append(all, tenantlessEvents(t, s)...))
		for name, secret := range map[string]string{
			"client secret": clientSecret, "test client secret": tms.TestClientSecret, "wrong secret": "wrong-secret",
			"admin secret": s.adminSecrets["test"], "private key": key.str(t, "private_key"), "private key header": "PRIVATE KEY",
		} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("the audit log contains the %s", name)
			}
		}
	})
}

// tenantlessEvents returns the stored events that have no tenant.
func tenantlessEvents(t *testing.T, s *stack) []store.AuditEvent {
	t.Helper()
	events, err := s.Store.ListAudit(testContext(t), store.AuditQuery{Tenant: "", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func TestAuditRecordsRefusalsWithReasons(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s, rec := newAuditStack(t, b)
		key := s.createKey(t, testClient(), keyBody(tms.TestUser, 1, 60))
		fp := key.str(t, "public_key_fingerprint")
		s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).want(t, 200)
		s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).want(t, 404) // used up
		// A dependency refusal at key creation.
		s.call(t, "POST", "/v1/tms/pubkeys/creds", testClient(), keyBody("nosuchuser", 1, 60)).want(t, 403)
		waitWritten(t, rec, 4)

		events := s.auditList(t, s.admin("test"), "type=key.retrieve")
		if len(events) != 2 {
			t.Fatalf("got %d key.retrieve events, want 2", len(events))
		}
		refused := findEvent(t, events, "key.retrieve", "refused")
		if !strings.Contains(refused["detail"].(string), "refused: no_uses_left") {
			t.Errorf("detail %q lacks the reason", refused["detail"])
		}
		denied := findEvent(t, s.auditList(t, s.admin("test"), "type=key.create"), "key.create", "denied")
		wantEvent(t, denied, map[string]string{"user": "nosuchuser", "public_key_fingerprint": ""})
		if !strings.Contains(denied["detail"].(string), "403: ") {
			t.Errorf("detail %q lacks the refusal", denied["detail"])
		}
	})
}

func TestAuditListFilters(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s, _ := newAuditStack(t, b)
		base := time.Date(2026, 7, 13, 18, 0, 0, 0, time.UTC)
		var events []store.AuditEvent
		for i := range 6 {
			typ, actor := "key.create", "client:c1"
			if i%2 == 1 {
				typ, actor = "key.retrieve", "host:login1"
			}
			events = append(events, store.AuditEvent{Time: base.Add(time.Duration(i) * time.Minute), Tenant: "test",
				Type: typ, Outcome: "success", Actor: actor, Detail: "n=" + string(rune('0'+i))})
		}
		events = append(events, store.AuditEvent{Time: base, Tenant: "default", Type: "tenant.create", Outcome: "success"})
		if err := s.Store.AppendAudit(testContext(t), events); err != nil {
			t.Fatal(err)
		}
		admin := s.admin("test")
		details := func(list []map[string]any) string {
			var out []string
			for _, e := range list {
				out = append(out, e["detail"].(string))
			}
			return strings.Join(out, " ")
		}
		at := func(minute int) string {
			return url.QueryEscape(base.Add(time.Duration(minute) * time.Minute).Format(time.RFC3339))
		}
		tests := []struct {
			query string
			want  string
		}{
			{"", "n=5 n=4 n=3 n=2 n=1 n=0"},
			{"type=key.retrieve", "n=5 n=3 n=1"},
			{"actor=client:c1", "n=4 n=2 n=0"},
			{"from=" + at(2) + "&to=" + at(4), "n=3 n=2"},
			{"from=" + url.QueryEscape("2026-07-13T20:03:00+02:00"), "n=5 n=4 n=3"},
			{"to=" + at(1), "n=0"},
			{"limit=2", "n=5 n=4"},
			{"type=key.create&actor=client:c1&from=" + at(1), "n=4 n=2"},
			{"type=nothing", ""},
		}
		for _, tc := range tests {
			if got := details(s.auditList(t, admin, tc.query)); got != tc.want {
				t.Errorf("query %q: got %q, want %q", tc.query, got, tc.want)
			}
		}

		// The cursor continues where a page ended.
		r := s.call(t, "GET", "/v1/tms/audit/list?limit=4", admin, nil).want(t, 200)
		page := r.list(t, "events")
		next := r.int(t, "next_after")
		if next != jsonInt(t, page[3], "id") {
			t.Fatalf("next_after %d, want the id of the last event", next)
		}
		r = s.call(t, "GET", pathf("/v1/tms/audit/list?limit=4&after=%d", next), admin, nil).want(t, 200)
		if got := details(r.list(t, "events")); got != "n=1 n=0" || r.int(t, "next_after") != 0 {
			t.Fatalf("second page: %q, next_after %d; want n=1 n=0 and 0", got, r.int(t, "next_after"))
		}

		// Each administrator sees only the own tenant's events.
		if got := s.auditList(t, s.admin("default"), ""); len(got) != 1 || got[0]["type"] != "tenant.create" {
			t.Fatalf("default tenant: got %v", got)
		}
	})
}

func TestAuditListRefusals(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s, _ := newAuditStack(t, b)
		admin := s.admin("test")
		for _, tc := range []struct {
			query string
			want  string
		}{
			{"from=yesterday", "from: \"yesterday\" is not an RFC 3339 time"},
			{"to=2026-07-13", "to: \"2026-07-13\" is not an RFC 3339 time"},
			{"from=2026-07-13T18:00:00Z&to=2026-07-13T17:00:00Z", "to: 2026-07-13T17:00:00Z is not after from"},
			{"limit=0", "limit: \"0\" is not a whole number from 1 to 1000"},
			{"limit=1001", "limit:"},
			{"limit=ten", "limit:"},
			{"after=-3", "after: \"-3\" is not a positive event id"},
			{"after=x", "after:"},
			{"no_tenant=yes", "no_tenant: \"yes\" is not true or false"},
		} {
			s.call(t, "GET", "/v1/tms/audit/list?"+tc.query, admin, nil).wantError(t, 400, tc.want)
		}
		s.call(t, "GET", "/v1/tms/audit/list", testClient(), nil).wantError(t, 401, "NOT AUTHORIZED")
		s.call(t, "GET", "/v1/tms/audit/list", admin.with("X-TMS-ADMIN-SECRET", "wrong"), nil).wantError(t, 401)
		s.call(t, "GET", "/v1/tms/audit/list", admin.with("X-TMS-TENANT", "-"), nil).wantError(t, 400, "X-TMS-TENANT")
		s.call(t, "GET", "/v1/tms/audit/list?no_tenant=true", admin, nil).wantError(t, 403, "'default' tenant")
	})
}

func TestAuditDisabledRecordsNothing(t *testing.T) {
	s := newStack(t, backends[0], stackOptions{})
	s.createKey(t, testClient(), keyBody(tms.TestUser, 1, 60))
	s.call(t, "POST", "/v1/tms/pubkeys/creds", clientHdr("test", tms.TestClientID, "wrong"), keyBody(tms.TestUser, 1, 1)).want(t, 401)
	if got := s.auditList(t, s.admin("test"), ""); len(got) != 0 {
		t.Fatalf("without a recorder: %d events", len(got))
	}
}

func TestAuditRecordsChangesOfUnlistedRoutes(t *testing.T) {
	s, rec := newAuditStack(t, backends[0], func(mux *http.ServeMux) {
		mux.HandleFunc("POST /v1/tms/other/{client_id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
		mux.HandleFunc("GET /v1/tms/other", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	})
	s.call(t, "GET", "/v1/tms/other", s.admin("test"), nil).want(t, 204)
	s.call(t, "POST", "/v1/tms/other/c7", s.admin("test"), nil).want(t, 204)
	waitWritten(t, rec, 1)
	// The handler did not read the credentials, so the event has no tenant.
	events := s.auditList(t, s.admin("default"), "no_tenant=true")
	if len(events) != 1 {
		t.Fatalf("got %d events, want only the change: %v", len(events), events)
	}
	wantEvent(t, events[0], map[string]string{"type": "request", "outcome": "success", "client_id": "c7", "actor": "",
		"detail": "route=POST /v1/tms/other/{client_id}"})
}

// waitAuditEvent waits until the store holds an event of the tenant with
// type typ and outcome whose detail contains detail, and returns it.
func waitAuditEvent(t *testing.T, s *stack, tenant, typ, outcome, detail string) store.AuditEvent {
	t.Helper()
	var found store.AuditEvent
	clocktest.Eventually(t, fmt.Sprintf("a %s event with outcome %s and detail %q", typ, outcome, detail), func() bool {
		events, err := s.Store.ListAudit(testContext(t), store.AuditQuery{Tenant: tenant, Type: typ, Limit: 100})
		if err != nil {
			t.Fatalf("list audit events: %v", err)
		}
		for _, e := range events {
			if e.Outcome == outcome && strings.Contains(e.Detail, detail) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// TestKeyRefusalReasons checks, through the HTTP routes, that each clause
// of the key-validity rule that can fail there is named in the audit event
// of the refused request: at retrieval and at key creation.
func TestKeyRefusalReasons(t *testing.T) {
	retrieval := []struct {
		want  tms.Refusal
		spoil func(t *testing.T, s *stack, fp string)
	}{
		{tms.RefusedTenantDisabled, func(t *testing.T, s *stack, fp string) {
			s.call(t, "PATCH", "/v1/tms/tenants/upd", s.admin("test"), map[string]any{"tenant": "test", "enabled": false}).want(t, 200)
		}},
		{tms.RefusedClientDisabled, func(t *testing.T, s *stack, fp string) {
			s.call(t, "PATCH", "/v1/tms/client/upd/testclient1?enabled=false", s.admin("test"), nil).want(t, 200)
		}},
		{tms.RefusedMFADisabled, func(t *testing.T, s *stack, fp string) {
			s.call(t, "PATCH", "/v1/tms/usermfa/upd", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "shortmfa", "enabled": false}).want(t, 200)
		}},
		{tms.RefusedMFAExpired, func(t *testing.T, s *stack, fp string) { s.Clock.Add(2 * time.Minute) }},
		{tms.RefusedHostMappingExpired, func(t *testing.T, s *stack, fp string) {
			s.call(t, "PATCH", "/v1/tms/userhosts/upd", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "shortmfa",
				"host": tms.TestHost, "host_account": tms.TestHostAccount, "ttl_minutes": 0}).want(t, 200)
			s.Clock.Add(time.Second)
		}},
		{tms.RefusedDelegationExpired, func(t *testing.T, s *stack, fp string) {
			s.call(t, "PATCH", "/v1/tms/delegations/upd", s.admin("test"), map[string]any{"tenant": "test", "client_id": "testclient1",
				"client_user_id": "shortmfa", "ttl_minutes": 0}).want(t, 200)
			s.Clock.Add(time.Second)
		}},
		{tms.RefusedKeyExpired, func(t *testing.T, s *stack, fp string) {
			s.call(t, "PATCH", "/v1/tms/pubkeys", testClient(), map[string]any{"tenant": "test", "client_id": "testclient1",
				"host": tms.TestHost, "public_key_fingerprint": fp, "ttl_minutes": 0}).want(t, 200)
			s.Clock.Add(time.Second)
		}},
		{tms.RefusedNoUses, func(t *testing.T, s *stack, fp string) {
			s.call(t, "PATCH", "/v1/tms/pubkeys", testClient(), map[string]any{"tenant": "test", "client_id": "testclient1",
				"host": tms.TestHost, "public_key_fingerprint": fp, "max_uses": 0}).want(t, 200)
		}},
	}
	creation := []struct {
		want tms.Refusal
		user string
	}{
		{tms.RefusedNoMFA, "ghost"},
		{tms.RefusedMFADisabled, "offmfa"},
		{tms.RefusedMFAExpired, "shortmfa"},
		{tms.RefusedNoHostMapping, "nomapping"},
		{tms.RefusedHostMappingExpired, "oldmapping"},
		{tms.RefusedNoDelegation, "nodelegation"},
		{tms.RefusedDelegationExpired, "olddelegation"},
	}
	eachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range retrieval {
			t.Run("retrieve/"+string(tc.want), func(t *testing.T) {
				s, _ := newAuditStack(t, b)
				admin := s.admin("test")
				// A user whose MFA record expires in a minute.
				s.call(t, "POST", "/v1/tms/usermfa", admin, map[string]any{"tenant": "test", "tms_user_id": "shortmfa", "ttl_minutes": 1}).want(t, 201)
				s.call(t, "POST", "/v1/tms/userhosts", admin, map[string]any{"tenant": "test", "tms_user_id": "shortmfa", "host": tms.TestHost,
					"host_account": tms.TestHostAccount, "ttl_minutes": -1}).want(t, 201)
				s.call(t, "POST", "/v1/tms/delegations", admin, map[string]any{"tenant": "test", "client_id": "testclient1",
					"client_user_id": "shortmfa", "ttl_minutes": -1}).want(t, 201)
				fp := s.createKey(t, testClient(), keyBody("shortmfa", 1000, 30)).str(t, "public_key_fingerprint")
				s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).want(t, 200)
				tc.spoil(t, s, fp)
				s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).wantError(t, 404, "NOT_FOUND")
				waitAuditEvent(t, s, "test", "key.retrieve", "refused", "refused: "+string(tc.want))
			})
		}
		t.Run("retrieve/"+string(tms.RefusedOtherTenant), func(t *testing.T) {
			s, _ := newAuditStack(t, b)
			fp := s.createKey(t, testClient(), keyBody(tms.TestUser, 1000, 30)).str(t, "public_key_fingerprint")
			s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).want(t, 200)
			// The host joins another tenant: the test tenant's keys are no
			// longer its own.
			s.call(t, "POST", hostCredentialsPath, s.admin("default"), map[string]any{"tenant": "default", "host": tms.TestHost}).want(t, 201)
			s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).wantError(t, 404, "NOT_FOUND")
			waitAuditEvent(t, s, "test", "key.retrieve", "refused", "refused: "+string(tms.RefusedOtherTenant))
		})
		t.Run("retrieve/"+string(tms.RefusedHostUnregistered), func(t *testing.T) {
			s, _ := newAuditStackWith(t, b, stackOptions{RefuseUnregisteredHosts: true})
			fp := s.createKey(t, testClient(), keyBody(tms.TestUser, 1000, 30)).str(t, "public_key_fingerprint")
			s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).wantError(t, 404, "NOT_FOUND")
			waitAuditEvent(t, s, "", "key.retrieve", "refused", "refused: "+string(tms.RefusedHostUnregistered))
		})
		t.Run("create", func(t *testing.T) {
			s, _ := newAuditStack(t, b)
			admin := s.admin("test")
			mfa := func(user string, ttl int) {
				s.call(t, "POST", "/v1/tms/usermfa", admin, map[string]any{"tenant": "test", "tms_user_id": user, "ttl_minutes": ttl}).want(t, 201)
			}
			mapping := func(user string, ttl int) {
				s.call(t, "POST", "/v1/tms/userhosts", admin, map[string]any{"tenant": "test", "tms_user_id": user, "host": tms.TestHost,
					"host_account": tms.TestHostAccount, "ttl_minutes": ttl}).want(t, 201)
			}
			delegation := func(user string, ttl int) {
				s.call(t, "POST", "/v1/tms/delegations", admin, map[string]any{"tenant": "test", "client_id": "testclient1",
					"client_user_id": user, "ttl_minutes": ttl}).want(t, 201)
			}
			mfa("offmfa", -1)
			s.call(t, "PATCH", "/v1/tms/usermfa/upd", admin, map[string]any{"tenant": "test", "tms_user_id": "offmfa", "enabled": false}).want(t, 200)
			mfa("shortmfa", 1)
			mfa("nomapping", -1)
			mfa("oldmapping", -1)
			mapping("oldmapping", 1)
			mfa("nodelegation", -1)
			mapping("nodelegation", -1)
			mfa("olddelegation", -1)
			mapping("olddelegation", -1)
			delegation("olddelegation", 1)
			s.Clock.Add(2 * time.Minute)
			for _, tc := range creation {
				s.call(t, "POST", "/v1/tms/pubkeys/creds", testClient(), keyBody(tc.user, 1, 1)).wantError(t, 403, "Missing or expired dependency: ")
				e := waitAuditEvent(t, s, "test", "key.create", "denied", "refused: "+string(tc.want))
				if e.User != tc.user {
					t.Errorf("%s: event of user %q, want %q", tc.want, e.User, tc.user)
				}
			}
		})
	})
}

// TestAuthFailuresFoldPerSource: 10,000 requests with made-up client ids
// and wrong secrets from one address write a bounded number of audit
// entries, whose repeats count every request.
func TestAuthFailuresFoldPerSource(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ref := &storeRef{}
		rec := audit.New(ref, audit.Options{Buffer: 20_000, FlushInterval: 5 * time.Millisecond, FailureWindow: time.Hour})
		s := newStack(t, b, stackOptions{API: api.Options{Audit: rec}})
		ref.st.Store(&s.Store)
		const requests, workers = 10_000, 8
		raw, err := json.Marshal(keyBody(tms.TestUser, 1, 1))
		if err != nil {
			t.Fatal(err)
		}
		body := string(raw)
		var wg sync.WaitGroup
		var unauthorized atomic.Int64
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < requests; i += workers {
					req, _ := http.NewRequest("POST", s.URL+"/v1/tms/pubkeys/creds", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-TMS-TENANT", "test")
					req.Header.Set("X-TMS-CLIENT-ID", fmt.Sprint("made-up-", i))
					req.Header.Set("X-TMS-CLIENT-SECRET", "guess")
					resp, err := s.client.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusUnauthorized {
						unauthorized.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if err := rec.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if unauthorized.Load() != requests {
			t.Fatalf("%d of %d requests answered 401", unauthorized.Load(), requests)
		}
		rows, repeats := 0, 0
		for _, tenant := range []string{"test", ""} {
			events, err := s.Store.ListAudit(context.Background(), store.AuditQuery{Tenant: tenant, Type: audit.TypeAuthFailure, Limit: 100_000})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events {
				rows++
				repeats += e.Repeats
			}
		}
		if rows > 2 || repeats != requests {
			t.Fatalf("%d audit entries standing for %d failures; want at most 2 for %d", rows, repeats, requests)
		}
	})
}
