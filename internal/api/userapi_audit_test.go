package api_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/tms"
)

// newObservedStack starts a stack that records audit events and metrics.
func newObservedStack(t *testing.T, b backend) (*stack, *audit.Recorder, *metrics.Metrics) {
	t.Helper()
	ref := &storeRef{}
	rec := audit.New(ref, audit.Options{FlushInterval: 5 * time.Millisecond})
	m := metrics.New()
	s := newStack(t, b, stackOptions{API: api.Options{Audit: rec, Metrics: m}})
	ref.st.Store(&s.Store)
	t.Cleanup(func() {
		if err := rec.Close(context.Background()); err != nil {
			t.Errorf("close audit recorder: %v", err)
		}
	})
	return s, rec, m
}

// counter returns the value of the series of the counter name with the
// given labels, or -1 when the series does not exist.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

func TestUserKeyIsAuditedAndCounted(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s, rec, m := newObservedStack(t, b)
		user := hdr{"Authorization": "Bearer " + userToken(t, s)}
		issued := func(path, result string) float64 {
			return counter(t, m.Registry(), "tms_keys_issued_total", map[string]string{"path": path, "type": "ed25519", "result": result})
		}
		if v := issued("user", "issued"); v != 0 {
			t.Fatalf("before any key: tms_keys_issued_total{path=user,result=issued} = %v, want the series at 0", v)
		}

		r := s.call(t, "POST", "/v1/tms/user/keys", user,
			map[string]any{"host": tms.TestHost, "host_account": tms.TestHostAccount, "num_uses": 2, "ttl_minutes": 30}).want(t, 201)
		fp, expires := r.str(t, "public_key_fingerprint"), r.str(t, "expires_at")
		s.call(t, "POST", "/v1/tms/user/keys", user,
			map[string]any{"host": tms.TestHost, "host_account": "root", "num_uses": 1, "ttl_minutes": 1}).want(t, 403)
		s.createKey(t, testClient(), keyBody(tms.TestUser, 1, 60))

		for _, c := range []struct {
			path, result string
			want         float64
		}{{"user", "issued", 1}, {"user", "refused", 1}, {"client", "issued", 1}, {"client", "refused", 0}} {
			if v := issued(c.path, c.result); v != c.want {
				t.Errorf("tms_keys_issued_total{path=%s,type=ed25519,result=%s} = %v, want %v", c.path, c.result, v, c.want)
			}
		}

		waitWritten(t, rec, 3)
		events := s.auditList(t, s.admin(tms.TestTenant), "type=key.create")
		var created map[string]any
		for _, e := range events {
			if e["public_key_fingerprint"] == fp {
				created = e
			}
		}
		if created == nil {
			t.Fatalf("no key.create event with the fingerprint %s: %v", fp, events)
		}
		wantEvent(t, created, map[string]string{"outcome": "success", "tenant": tms.TestTenant, "actor": "user:" + tms.TestUser,
			"user": tms.TestUser, "client_id": tms.CLIClientID, "host": tms.TestHost, "host_account": tms.TestHostAccount})
		for _, part := range []string{"num_uses=2", "ttl_minutes=30", "expires_at=" + expires} {
			if !strings.Contains(created["detail"].(string), part) {
				t.Errorf("key.create detail %q lacks %q", created["detail"], part)
			}
		}
	})
}

func TestUserRevocationsAreAudited(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s, rec, _ := newObservedStack(t, b)
		user := hdr{"Authorization": "Bearer " + userToken(t, s)}
		body := map[string]any{"host": tms.TestHost, "host_account": tms.TestHostAccount, "num_uses": 2, "ttl_minutes": 30}
		first := s.call(t, "POST", "/v1/tms/user/keys", user, body).want(t, 201).str(t, "public_key_fingerprint")
		second := s.call(t, "POST", "/v1/tms/user/keys", user, body).want(t, 201).str(t, "public_key_fingerprint")
		s.call(t, "DELETE", "/v1/tms/user/keys/"+url.PathEscape(first)+"?host="+tms.TestHost, user, nil).want(t, 200)
		r := s.call(t, "DELETE", "/v1/tms/user/delegations/"+tms.CLIClientID, user, nil).want(t, 200)
		if !strings.Contains(r.str(t, "result_msg"), "with the 1 keys issued through it") {
			t.Errorf("revoke answered %s", r.Raw)
		}
		s.retrieve(t, tms.TestHostAccount, tms.TestHost, second).want(t, 404)
		waitWritten(t, rec, 5)

		events := s.auditList(t, s.admin(tms.TestTenant), "")
		deletedKey := findEvent(t, events, "key.delete", "success")
		wantEvent(t, deletedKey, map[string]string{"actor": "user:" + tms.TestUser, "user": tms.TestUser, "host": tms.TestHost,
			"public_key_fingerprint": first})
		revoked := findEvent(t, events, "user.delegation_revoke", "success")
		wantEvent(t, revoked, map[string]string{"actor": "user:" + tms.TestUser, "user": tms.TestUser, "client_id": tms.CLIClientID})
		for _, part := range []string{"keys_deleted=1", "tokens_revoked="} {
			if !strings.Contains(revoked["detail"].(string), part) {
				t.Errorf("user.delegation_revoke detail %q lacks %q", revoked["detail"], part)
			}
		}
	})
}
