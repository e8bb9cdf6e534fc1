package api_test

import (
	"testing"
	"time"
)

func TestDelegations(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		s.call(t, "POST", "/v1/tms/usermfa", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "alice", "ttl_minutes": -1}).want(t, 201)
		d := map[string]any{"tenant": "test", "client_id": "testclient1", "client_user_id": "alice", "ttl_minutes": 60 * 24}
		r := s.call(t, "POST", "/v1/tms/delegations", s.admin("test"), d).want(t, 201)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"client_id": "s", "client_user_id": "s", "expires_at": "t"}))
		if r.str(t, "client_user_id") != "alice" || r.str(t, "expires_at") != s.wireAfter(24*time.Hour) {
			t.Fatalf("create delegation answered %s", r.Raw)
		}

		r = s.call(t, "GET", "/v1/tms/delegations/list", s.admin("test"), nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"num_users": "i", "users": "a"}))
		list := r.list(t, "users")
		if len(list) != 2 {
			t.Fatalf("list answered %s", r.Raw)
		}
		fields := map[string]string{"id": "i", "tenant": "s", "client_id": "s", "client_user_id": "s", "expires_at": "t", "created": "t", "updated": "t"}
		for _, e := range list {
			wantFields(t, e, fields)
		}
		if jsonString(t, list[0], "client_user_id") != "alice" {
			t.Errorf("delegations are not ordered by client and user: %s", r.Raw)
		}
		id := jsonInt(t, list[0], "id")
		r = s.call(t, "GET", pathf("/v1/tms/delegations/%d", id), s.admin("test"), nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(fields))

		r = s.call(t, "PATCH", "/v1/tms/delegations/upd", s.admin("test"), map[string]any{"tenant": "test", "client_id": "testclient1", "client_user_id": "alice", "ttl_minutes": 5}).want(t, 200)
		if r.int(t, "fields_updated") != 1 || r.str(t, "expires_msg") != s.wireAfter(5*time.Minute) {
			t.Fatalf("update answered %s", r.Raw)
		}

		before := s.snapshot(t)
		s.call(t, "POST", "/v1/tms/delegations", s.admin("test"), d).wantError(t, 409, "already has a delegation")
		s.call(t, "POST", "/v1/tms/delegations", s.admin("test"), map[string]any{"tenant": "test", "client_id": "testclient1", "client_user_id": "ghost", "ttl_minutes": 1}).
			wantError(t, 404, "ghost", "tms usermfa create")
		s.call(t, "POST", "/v1/tms/delegations", s.admin("test"), map[string]any{"tenant": "test", "client_id": "noclient", "client_user_id": "alice", "ttl_minutes": 1}).
			wantError(t, 404, "noclient")
		s.wantUnchanged(t, before)

		r = s.call(t, "DELETE", "/v1/tms/delegations/del", s.admin("test"), map[string]any{"tenant": "test", "client_id": "testclient1", "client_user_id": "alice"}).want(t, 200)
		if r.int(t, "num_deleted") != 1 {
			t.Fatalf("delete answered %s", r.Raw)
		}
	})
}
