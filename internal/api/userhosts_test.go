package api_test

import (
	"testing"
	"time"
)

func TestUserHosts(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		mapping := map[string]any{"tenant": "test", "tms_user_id": "testuser1", "host": "login2", "host_account": "tu1", "ttl_minutes": 30}
		r := s.call(t, "POST", "/v1/tms/userhosts", s.admin("test"), mapping).want(t, 201)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"tms_user_id": "s", "host": "s", "host_account": "s", "expires_at": "t"}))
		if r.str(t, "host") != "login2" || r.str(t, "host_account") != "tu1" || r.str(t, "expires_at") != s.wireAfter(30*time.Minute) {
			t.Fatalf("create mapping answered %s", r.Raw)
		}

		r = s.call(t, "GET", "/v1/tms/userhosts/list", s.admin("test"), nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"num_users": "i", "users": "a"}))
		list := r.list(t, "users")
		if len(list) != 2 || r.int(t, "num_users") != 2 {
			t.Fatalf("list answered %s", r.Raw)
		}
		fields := map[string]string{"id": "i", "tenant": "s", "tms_user_id": "s", "host": "s", "host_account": "s", "expires_at": "t", "created": "t", "updated": "t"}
		var id int64
		for _, e := range list {
			wantFields(t, e, fields)
			if jsonString(t, e, "host") == "login2" {
				id = jsonInt(t, e, "id")
			}
		}
		r = s.call(t, "GET", pathf("/v1/tms/userhosts/%d", id), s.admin("test"), nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(fields))
		s.call(t, "GET", "/v1/tms/userhosts/999999", s.admin("test"), nil).wantError(t, 404, "NOT_FOUND")

		s.Clock.Add(time.Hour)
		upd := map[string]any{"tenant": "test", "tms_user_id": "testuser1", "host": "login2", "host_account": "tu1", "ttl_minutes": 10}
		r = s.call(t, "PATCH", "/v1/tms/userhosts/upd", s.admin("test"), upd).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"fields_updated": "i", "expires_msg": "t"}))
		if r.int(t, "fields_updated") != 1 || r.str(t, "expires_msg") != s.wireAfter(10*time.Minute) {
			t.Fatalf("update answered %s", r.Raw)
		}
		upd["host_account"] = "nobody"
		r = s.call(t, "PATCH", "/v1/tms/userhosts/upd", s.admin("test"), upd).want(t, 200)
		if r.int(t, "fields_updated") != 0 || r.str(t, "expires_msg") != "UNCHANGED" {
			t.Fatalf("update of a missing mapping answered %s", r.Raw)
		}

		before := s.snapshot(t)
		s.call(t, "POST", "/v1/tms/userhosts", s.admin("test"), mapping).wantError(t, 409, "already mapped")
		s.call(t, "POST", "/v1/tms/userhosts", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "ghost", "host": "h", "host_account": "a", "ttl_minutes": 1}).
			wantError(t, 404, "ghost", "tms usermfa create")
		s.wantUnchanged(t, before)

		del := map[string]any{"tenant": "test", "tms_user_id": "testuser1", "host": "login2", "host_account": "tu1"}
		r = s.call(t, "DELETE", "/v1/tms/userhosts/del", s.admin("test"), del).want(t, 200)
		if r.int(t, "num_deleted") != 1 {
			t.Fatalf("delete answered %s", r.Raw)
		}
		s.call(t, "GET", pathf("/v1/tms/userhosts/%d", id), s.admin("test"), nil).wantError(t, 404)
	})
}
