package api_test

import (
	"testing"
	"time"
)

func TestUserMFA(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		r := s.call(t, "POST", "/v1/tms/usermfa", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "alice", "ttl_minutes": 90}).want(t, 201)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"tms_user_id": "s", "expires_at": "t", "enabled": "b"}))
		if r.str(t, "tms_user_id") != "alice" || r.str(t, "expires_at") != s.wireAfter(90*time.Minute) || !jsonBool(t, r.JSON, "enabled") {
			t.Fatalf("create user MFA answered %s", r.Raw)
		}
		r = s.call(t, "POST", "/v1/tms/usermfa", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "bob", "ttl_minutes": -1}).want(t, 201)
		if r.str(t, "expires_at") != neverWire {
			t.Fatalf("negative ttl_minutes gave expires_at %s, want %s", r.str(t, "expires_at"), neverWire)
		}

		r = s.call(t, "GET", "/v1/tms/usermfa/alice", s.admin("test"), nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"id": "i", "tenant": "s", "tms_user_id": "s", "expires_at": "t",
			"enabled": "b", "created": "t", "updated": "t"}))
		if r.str(t, "created") != startWire {
			t.Fatalf("get user MFA answered %s", r.Raw)
		}

		r = s.call(t, "GET", "/v1/tms/usermfa/list", s.admin("test"), nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"num_users": "i", "users": "a"}))
		users := r.list(t, "users")
		if r.int(t, "num_users") != 3 || len(users) != 3 {
			t.Fatalf("list answered %s, want alice, bob and testuser1", r.Raw)
		}
		for _, u := range users {
			wantFields(t, u, map[string]string{"id": "i", "tenant": "s", "tms_user_id": "s", "expires_at": "t", "enabled": "01", "created": "t", "updated": "t"})
		}

		r = s.call(t, "PATCH", "/v1/tms/usermfa/upd", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "alice", "enabled": false}).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"fields_updated": "i"}))
		if r.int(t, "fields_updated") != 1 || r.str(t, "result_msg") != "1 update(s) to tms_user_id alice completed, enabled = false" {
			t.Fatalf("update answered %s", r.Raw)
		}
		r = s.call(t, "GET", "/v1/tms/usermfa/list", s.admin("test"), nil).want(t, 200)
		for _, u := range r.list(t, "users") {
			want := int64(1)
			if jsonString(t, u, "tms_user_id") == "alice" {
				want = 0
			}
			if got := jsonInt(t, u, "enabled"); got != want {
				t.Errorf("user %s: enabled %d, want %d", u["tms_user_id"], got, want)
			}
		}
		r = s.call(t, "PATCH", "/v1/tms/usermfa/upd", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "nobody", "enabled": true}).want(t, 200)
		if r.int(t, "fields_updated") != 0 {
			t.Fatalf("update of a missing user answered %s", r.Raw)
		}

		r = s.call(t, "DELETE", "/v1/tms/usermfa/del/alice", s.admin("test"), nil).want(t, 200)
		if r.int(t, "num_deleted") != 1 {
			t.Fatalf("delete answered %s", r.Raw)
		}
		s.call(t, "GET", "/v1/tms/usermfa/alice", s.admin("test"), nil).wantError(t, 404, "NOT_FOUND")
		r = s.call(t, "DELETE", "/v1/tms/usermfa/del/alice", s.admin("test"), nil).want(t, 200)
		if r.int(t, "num_deleted") != 0 {
			t.Fatalf("second delete answered %s", r.Raw)
		}

		before := s.snapshot(t)
		s.call(t, "POST", "/v1/tms/usermfa", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "bob", "ttl_minutes": 5}).
			wantError(t, 409, "bob", "already exists")
		s.wantUnchanged(t, before)
	})
}
