package api_test

import (
	"regexp"
	"testing"
	"time"
)

// secretFormat is a 0.3.0 secret: 48 lowercase hex characters.
var secretFormat = regexp.MustCompile(`^[0-9a-f]{48}$`)

func TestTenantCreate(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		r := s.call(t, "POST", "/v1/tms/tenants/acme", s.admin("default"), nil).want(t, 201)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"tenant": "s", "admin_id": "s", "admin_secret": "s", "enabled": "b"}))
		if r.str(t, "tenant") != "acme" || r.str(t, "admin_id") != "~~admin" || !jsonBool(t, r.JSON, "enabled") {
			t.Fatalf("create tenant answered %s", r.Raw)
		}
		sec := r.str(t, "admin_secret")
		if !secretFormat.MatchString(sec) {
			t.Fatalf("admin_secret %q is not 48 lowercase hex characters", sec)
		}
		s.adminSecrets["acme"] = sec

		// The new administrator works in the new tenant only.
		s.call(t, "GET", "/v1/tms/usermfa/list", s.admin("acme"), nil).want(t, 200)
		s.call(t, "GET", "/v1/tms/usermfa/list", s.admin("acme").with("X-TMS-TENANT", "test"), nil).wantError(t, 401)

		before := s.snapshot(t)
		s.call(t, "POST", "/v1/tms/tenants/acme", s.admin("default"), nil).wantError(t, 409, "acme", "already exists")
		s.wantUnchanged(t, before)
	})
}

func TestTenantCreateRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		tests := []struct {
			name   string
			path   string
			h      hdr
			status int
			parts  []string
		}{
			{"no tenant header", "/v1/tms/tenants/acme", s.admin("default").with("X-TMS-TENANT", "-"), 400, []string{"X-TMS-TENANT"}},
			{"admin of another tenant", "/v1/tms/tenants/acme", s.admin("test"), 403, []string{"'default' tenant"}},
			{"client of the test tenant", "/v1/tms/tenants/acme", testClient(), 403, []string{"'default' tenant"}},
			{"wrong secret", "/v1/tms/tenants/acme", s.admin("default").with("X-TMS-ADMIN-SECRET", s.adminSecrets["test"]), 401, []string{"NOT AUTHORIZED"}},
			{"no credentials", "/v1/tms/tenants/acme", hdr{"X-TMS-TENANT": "default"}, 401, []string{"NOT AUTHORIZED"}},
			{"invalid name", "/v1/tms/tenants/bad%20name", s.admin("default"), 400, []string{"tenant", "bad name"}},
			{"name starting with a dot", "/v1/tms/tenants/.hidden", s.admin("default"), 400, []string{"tenant"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := s.snapshot(t)
				s.call(t, "POST", tc.path, tc.h, nil).wantError(t, tc.status, tc.parts...)
				s.wantUnchanged(t, before)
			})
		}
	})
}

func TestTenantGetAndList(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		// No credentials and no tenant header are needed.
		r := s.call(t, "GET", "/v1/tms/tenants/test", hdr{}, nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"id": "i", "tenant": "s", "enabled": "b", "created": "t", "updated": "t"}))
		if r.str(t, "tenant") != "test" || !jsonBool(t, r.JSON, "enabled") || r.str(t, "created") != startWire {
			t.Fatalf("get tenant answered %s", r.Raw)
		}
		s.call(t, "GET", "/v1/tms/tenants/nosuch", hdr{}, nil).wantError(t, 404, "NOT_FOUND")

		own := s.call(t, "GET", "/v1/tms/tenants/list", s.admin("test"), nil).want(t, 200)
		if l := own.list(t, "tenants"); own.int(t, "num_tenants") != 1 || len(l) != 1 || jsonString(t, l[0], "tenant") != "test" {
			t.Fatalf("the test tenant's administrator lists %s, want only the test tenant", own.Raw)
		}
		s.call(t, "PATCH", "/v1/tms/tenants/upd", s.admin("test"), map[string]any{"tenant": "test", "enabled": false}).want(t, 200)
		// The list needs an administrator's credentials; the default
		// tenant's administrator sees every tenant, another only its own.
		s.call(t, "GET", "/v1/tms/tenants/list", hdr{}, nil).wantError(t, 400, "X-TMS-TENANT")
		s.call(t, "GET", "/v1/tms/tenants/list", hdr{"X-TMS-TENANT": "default"}, nil).wantError(t, 401, "NOT AUTHORIZED")
		s.call(t, "GET", "/v1/tms/tenants/list", testClient().with("X-TMS-TENANT", "default"), nil).wantError(t, 401, "NOT AUTHORIZED")
		r = s.call(t, "GET", "/v1/tms/tenants/list", s.admin("default"), nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"num_tenants": "i", "tenants": "a"}))
		list := r.list(t, "tenants")
		if n := r.int(t, "num_tenants"); n != 2 || len(list) != 2 {
			t.Fatalf("num_tenants %d with %d elements, want 2: %s", n, len(list), r.Raw)
		}
		want := map[string]int64{"default": 1, "test": 0}
		for _, e := range list {
			wantFields(t, e, map[string]string{"id": "i", "tenant": "s", "enabled": "01", "created": "t", "updated": "t"})
			name := jsonString(t, e, "tenant")
			if got := jsonInt(t, e, "enabled"); got != want[name] {
				t.Errorf("tenant %s: enabled %d, want %d", name, got, want[name])
			}
		}
		if jsonString(t, list[0], "tenant") != "default" {
			t.Errorf("tenants are not ordered by id: %s", r.Raw)
		}
	})
}

func TestTenantUpdate(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		s.Clock.Add(90 * time.Second)
		r := s.call(t, "PATCH", "/v1/tms/tenants/upd", s.admin("test"), map[string]any{"tenant": "test", "enabled": false}).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"fields_updated": "i"}))
		if r.int(t, "fields_updated") != 1 {
			t.Fatalf("disable tenant answered %s", r.Raw)
		}
		g := s.call(t, "GET", "/v1/tms/tenants/test", hdr{}, nil).want(t, 200)
		if jsonBool(t, g.JSON, "enabled") || g.str(t, "updated") != s.wireAfter(0) {
			t.Fatalf("after disabling: %s", g.Raw)
		}
		// Every tenant-scoped call is now refused, for clients and admins ...
		s.call(t, "GET", "/v1/tms/client/testclient1", testClient(), nil).wantError(t, 400, "Tenant not enabled")
		s.call(t, "GET", "/v1/tms/usermfa/list", s.admin("test"), nil).wantError(t, 400, "Tenant not enabled")
		// ... except re-enabling by its administrator.
		s.call(t, "PATCH", "/v1/tms/tenants/upd", s.admin("test"), map[string]any{"tenant": "test", "enabled": true}).want(t, 200)
		s.call(t, "GET", "/v1/tms/client/testclient1", testClient(), nil).want(t, 200)

		for _, tc := range []struct {
			name   string
			h      hdr
			body   map[string]any
			status int
			parts  []string
		}{
			{"no tenant header", s.admin("test").with("X-TMS-TENANT", "-"), map[string]any{"tenant": "test", "enabled": false}, 400, []string{"X-TMS-TENANT"}},
			{"header and body differ", s.admin("test"), map[string]any{"tenant": "default", "enabled": false}, 403, []string{"(test)", "(default)"}},
			{"another tenant's administrator", s.admin("default"), map[string]any{"tenant": "test", "enabled": false}, 403, []string{"does not match"}},
			{"wrong secret", s.admin("test").with("X-TMS-ADMIN-SECRET", "0123"), map[string]any{"tenant": "test", "enabled": false}, 401, []string{"NOT AUTHORIZED"}},
			{"a client", testClient(), map[string]any{"tenant": "test", "enabled": false}, 401, []string{"NOT AUTHORIZED"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := s.snapshot(t)
				s.call(t, "PATCH", "/v1/tms/tenants/upd", tc.h, tc.body).wantError(t, tc.status, tc.parts...)
				s.wantUnchanged(t, before)
			})
		}
	})
}

func TestTenantDeleteAndWipe(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		r := s.call(t, "POST", "/v1/tms/tenants/acme", s.admin("default"), nil).want(t, 201)
		s.adminSecrets["acme"] = r.str(t, "admin_secret")
		s.createKey(t, testClient(), keyBody("testuser1", -1, -1))

		for _, tc := range []struct {
			name   string
			method string
			path   string
			h      hdr
			status int
			parts  []string
		}{
			{"delete without tenant header", "DELETE", "/v1/tms/tenants/del/acme", s.admin("acme").with("X-TMS-TENANT", "-"), 400, []string{"X-TMS-TENANT"}},
			{"default admin deletes another tenant", "DELETE", "/v1/tms/tenants/del/acme", s.admin("default"), 403, []string{"(default)", "(acme)"}},
			{"default admin wipes another tenant", "DELETE", "/v1/tms/tenants/wipe/test", s.admin("default"), 403, []string{"(default)", "(test)"}},
			{"wrong secret", "DELETE", "/v1/tms/tenants/del/acme", s.admin("acme").with("X-TMS-ADMIN-SECRET", s.adminSecrets["test"]), 401, []string{"NOT AUTHORIZED"}},
			{"a client", "DELETE", "/v1/tms/tenants/wipe/test", testClient(), 401, []string{"NOT AUTHORIZED"}},
			{"delete a tenant with records", "DELETE", "/v1/tms/tenants/del/test", s.admin("test"), 409, []string{"wipe"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := s.snapshot(t)
				s.call(t, tc.method, tc.path, tc.h, nil).wantError(t, tc.status, tc.parts...)
				s.wantUnchanged(t, before)
			})
		}

		r = s.call(t, "DELETE", "/v1/tms/tenants/del/acme", s.admin("acme"), nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"num_deleted": "i"}))
		if n := r.int(t, "num_deleted"); n != 3 {
			t.Errorf("delete of an empty tenant deleted %d rows, want 3 (administrator, tms-cli client and tenant)", n)
		}
		s.call(t, "GET", "/v1/tms/tenants/acme", hdr{}, nil).wantError(t, 404)

		r = s.call(t, "DELETE", "/v1/tms/tenants/wipe/test", s.admin("test"), nil).want(t, 200)
		// tenant, admin, client, tms-cli (client and public client record),
		// user MFA, host mapping, delegation, key
		if n := r.int(t, "num_deleted"); n != 9 {
			t.Errorf("wipe of the test tenant deleted %d rows, want 9: %s", n, r.Raw)
		}
		s.call(t, "GET", "/v1/tms/tenants/test", hdr{}, nil).wantError(t, 404)
		if n := len(s.snapshot(t).Tenants); n != 1 {
			t.Errorf("%d tenants left after the wipe, want 1", n)
		}
	})
}
