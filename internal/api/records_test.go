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

func TestHosts(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		h := map[string]any{"tenant": "test", "host": "login1", "addr": "192.0.2.10"}
		r := s.call(t, "POST", "/v1/tms/hosts", s.admin("test"), h).want(t, 201)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"tenant": "s", "host": "s", "addr": "s"}))
		if r.str(t, "addr") != "192.0.2.10" {
			t.Fatalf("create host answered %s", r.Raw)
		}
		s.call(t, "POST", "/v1/tms/hosts", s.admin("test"), map[string]any{"tenant": "test", "host": "login1", "addr": "192.0.2.11"}).want(t, 201)

		r = s.call(t, "GET", "/v1/tms/hosts/list", s.admin("test"), nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"num_mappings": "i", "users": "a"}))
		list := r.list(t, "users")
		if r.int(t, "num_mappings") != 2 || len(list) != 2 {
			t.Fatalf("list answered %s", r.Raw)
		}
		fields := map[string]string{"id": "i", "tenant": "s", "host": "s", "addr": "s", "created": "t", "updated": "t"}
		wantFields(t, list[0], fields)
		r = s.call(t, "GET", pathf("/v1/tms/hosts/%d", jsonInt(t, list[0], "id")), s.admin("test"), nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(fields))

		before := s.snapshot(t)
		s.call(t, "POST", "/v1/tms/hosts", s.admin("test"), h).wantError(t, 409, "login1")
		s.wantUnchanged(t, before)

		r = s.call(t, "DELETE", "/v1/tms/hosts/del", s.admin("test"), h).want(t, 200)
		if r.int(t, "num_deleted") != 1 {
			t.Fatalf("delete answered %s", r.Raw)
		}
		r = s.call(t, "DELETE", "/v1/tms/hosts/del", s.admin("test"), h).want(t, 200)
		if r.int(t, "num_deleted") != 0 || r.str(t, "result_msg") == "" {
			t.Fatalf("second delete answered %s", r.Raw)
		}
	})
}
