package api_test

import (
	"maps"
	"strings"
	"testing"
)

// authRoute is a route of the key plane as seen by the authorization tests.
type authRoute struct {
	method, path string
	body         map[string]any
	// who may call it: "admin" (TenantAdmin only), "client" (ClientOwn
	// only) or "either".
	who string
}

func (r authRoute) name() string { return r.method + " " + r.path }

// bodyTenant reports whether the body names a tenant that must match the
// header.
func (r authRoute) bodyTenant() bool { _, ok := r.body["tenant"]; return ok }

// bodyClient reports whether the body names a client that a client caller
// must be (pubkey update and delete).
func (r authRoute) bodyClient() bool { _, ok := r.body["client_id"]; return ok && r.who == "either" }

// pathClient reports whether the path holds the client id.
func (r authRoute) pathClient() bool { return strings.Contains(r.path, "/testclient1") }

// retarget returns the body with its tenant and, for client-scoped
// bodies, its client replaced.
func (r authRoute) retarget(tenant, client string) map[string]any {
	if r.body == nil {
		return nil
	}
	b := maps.Clone(r.body)
	if r.bodyTenant() {
		b["tenant"] = tenant
	}
	if r.bodyClient() && client != "" {
		b["client_id"] = client
	}
	return b
}

// keyPlaneRoutes lists the key-plane routes with bodies that would succeed
// with the right credentials.
func keyPlaneRoutes(t *testing.T, w world) []authRoute {
	fp := w.Fingerprint(t)
	mapping := map[string]any{"tenant": "test", "tms_user_id": "testuser1", "host": "testhost1", "host_account": "testhostaccount1"}
	withTTL := func(m map[string]any) map[string]any { m = maps.Clone(m); m["ttl_minutes"] = 5; return m }
	deleg := map[string]any{"tenant": "test", "client_id": "testclient1", "client_user_id": "testuser1"}
	host := map[string]any{"tenant": "test", "host": "login1", "addr": "192.0.2.1"}
	newHost := map[string]any{"tenant": "test", "host": "login2", "addr": "192.0.2.2"}
	key := map[string]any{"tenant": "test", "client_id": "testclient1", "host": "testhost1", "public_key_fingerprint": fp}
	keyUpd := maps.Clone(key)
	keyUpd["max_uses"] = 3
	return []authRoute{
		{"POST", "/v1/tms/usermfa", map[string]any{"tenant": "test", "tms_user_id": "newuser", "ttl_minutes": 5}, "admin"},
		{"GET", "/v1/tms/usermfa/testuser1", nil, "admin"},
		{"GET", "/v1/tms/usermfa/list", nil, "admin"},
		{"PATCH", "/v1/tms/usermfa/upd", map[string]any{"tenant": "test", "tms_user_id": "testuser1", "enabled": false}, "admin"},
		{"DELETE", "/v1/tms/usermfa/del/testuser1", nil, "admin"},
		{"POST", "/v1/tms/userhosts", withTTL(map[string]any{"tenant": "test", "tms_user_id": "testuser1", "host": "h2", "host_account": "a2"}), "admin"},
		{"GET", "/v1/tms/userhosts/1", nil, "admin"},
		{"GET", "/v1/tms/userhosts/list", nil, "admin"},
		{"PATCH", "/v1/tms/userhosts/upd", withTTL(mapping), "admin"},
		{"DELETE", "/v1/tms/userhosts/del", mapping, "admin"},
		{"POST", "/v1/tms/delegations", withTTL(map[string]any{"tenant": "test", "client_id": "client2", "client_user_id": "testuser1"}), "admin"},
		{"GET", "/v1/tms/delegations/1", nil, "admin"},
		{"GET", "/v1/tms/delegations/list", nil, "admin"},
		{"PATCH", "/v1/tms/delegations/upd", withTTL(deleg), "admin"},
		{"DELETE", "/v1/tms/delegations/del", deleg, "admin"},
		{"POST", "/v1/tms/hosts", newHost, "admin"},
		{"GET", "/v1/tms/hosts/1", nil, "admin"},
		{"GET", "/v1/tms/hosts/list", nil, "admin"},
		{"DELETE", "/v1/tms/hosts/del", host, "admin"},
		{"POST", "/v1/tms/pubkeys/creds", keyBody("testuser1", 1, 1), "client"},
		{"GET", pathf("/v1/tms/pubkeys/id/%d", w.KeyID), nil, "either"},
		{"GET", "/v1/tms/pubkeys/list", nil, "either"},
		{"PATCH", "/v1/tms/pubkeys", keyUpd, "either"},
		{"DELETE", "/v1/tms/pubkeys/del", key, "either"},
		{"POST", "/v1/tms/reservations", map[string]any{"client_user_id": "testuser1", "host": "testhost1", "public_key_fingerprint": fp, "ttl_minutes": 5}, "client"},
		{"POST", "/v1/tms/reservations/extend", map[string]any{"client_user_id": "testuser1", "host": "testhost1", "public_key_fingerprint": fp, "parent_resid": w.ResID}, "client"},
		{"GET", "/v1/tms/reservations/testclient1/" + w.ResID, nil, "either"},
		{"DELETE", "/v1/tms/reservations/del/testclient1/" + w.ResID, nil, "either"},
		{"DELETE", "/v1/tms/reservations/del/related/testclient1/" + w.ResID, nil, "either"},
	}
}

// authCase is one way of getting authorization wrong. It returns the
// headers and body to send and the expected status and message parts, or
// status 0 when the case does not apply to the route.
type authCase struct {
	name string
	make func(s *stack, w world, r authRoute) (h hdr, body map[string]any, status int, parts []string)
}

// good returns the credentials that would succeed on r.
func good(s *stack, r authRoute) hdr {
	if r.who == "admin" {
		return s.admin("test")
	}
	return testClient()
}

var authCases = []authCase{
	{"no tenant header", func(s *stack, w world, r authRoute) (hdr, map[string]any, int, []string) {
		if r.method == "DELETE" && r.bodyClient() {
			// As in 0.3.0, key deletion authorizes first.
			return good(s, r).with("X-TMS-TENANT", "-"), r.body, 401, []string{"NOT AUTHORIZED"}
		}
		return good(s, r).with("X-TMS-TENANT", "-"), r.body, 400, []string{"X-TMS-TENANT"}
	}},
	{"unknown tenant", func(s *stack, w world, r authRoute) (hdr, map[string]any, int, []string) {
		h := good(s, r).with("X-TMS-TENANT", "nosuch")
		if r.bodyClient() {
			return h, r.retarget("nosuch", ""), 401, []string{"NOT AUTHORIZED"}
		}
		return h, r.retarget("nosuch", ""), 400, []string{"Tenant not enabled", "nosuch"}
	}},
	{"disabled tenant", func(s *stack, w world, r authRoute) (hdr, map[string]any, int, []string) {
		h := w.OffClient
		if r.who == "admin" {
			h = w.OffAdmin
		}
		return h, r.retarget("off", "offclient"), 400, []string{"Tenant not enabled"}
	}},
	{"wrong secret", func(s *stack, w world, r authRoute) (hdr, map[string]any, int, []string) {
		h := good(s, r).with("X-TMS-CLIENT-SECRET", "secret2")
		if r.who == "admin" {
			h = good(s, r).with("X-TMS-ADMIN-SECRET", strings.Repeat("0", 48))
		}
		return h, r.body, 401, []string{"NOT AUTHORIZED"}
	}},
	{"no credentials", func(s *stack, w world, r authRoute) (hdr, map[string]any, int, []string) {
		if r.who == "client" {
			return hdr{"X-TMS-TENANT": "test"}, r.body, 400, []string{"X-TMS-CLIENT-ID"}
		}
		return hdr{"X-TMS-TENANT": "test"}, r.body, 401, []string{"NOT AUTHORIZED"}
	}},
	{"empty credentials", func(s *stack, w world, r authRoute) (hdr, map[string]any, int, []string) {
		h := hdr{"X-TMS-TENANT": "test", "X-TMS-CLIENT-ID": "", "X-TMS-CLIENT-SECRET": "", "X-TMS-ADMIN-ID": "", "X-TMS-ADMIN-SECRET": ""}
		return h, r.body, 401, []string{"NOT AUTHORIZED"}
	}},
	{"credentials of the other kind", func(s *stack, w world, r authRoute) (hdr, map[string]any, int, []string) {
		switch r.who {
		case "admin":
			return testClient(), r.body, 401, []string{"NOT AUTHORIZED"}
		case "client":
			// A valid administrator naming a client without its secret.
			return s.admin("test").with("X-TMS-CLIENT-ID", "testclient1"), r.body, 401, []string{"NOT AUTHORIZED"}
		}
		return nil, nil, 0, nil
	}},
	{"secret of another tenant", func(s *stack, w world, r authRoute) (hdr, map[string]any, int, []string) {
		if r.who == "admin" {
			return s.admin("default").with("X-TMS-TENANT", "test"), r.body, 401, []string{"NOT AUTHORIZED"}
		}
		return w.OffClient.with("X-TMS-TENANT", "test"), r.body, 401, []string{"NOT AUTHORIZED"}
	}},
	{"another client's records", func(s *stack, w world, r authRoute) (hdr, map[string]any, int, []string) {
		if r.pathClient() || r.bodyClient() {
			return w.Client2, r.body, 403, []string{"FORBIDDEN", "testclient1"}
		}
		return nil, nil, 0, nil
	}},
	{"body tenant differs from header", func(s *stack, w world, r authRoute) (hdr, map[string]any, int, []string) {
		if !r.bodyTenant() {
			return nil, nil, 0, nil
		}
		return good(s, r), r.retarget("default", ""), 403, []string{"FORBIDDEN", "(test)", "(default)"}
	}},
}

// TestKeyPlaneAuthorization sends every way of getting authorization wrong
// to every key-plane route and checks the status, the message and that
// nothing changed.
func TestKeyPlaneAuthorization(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		w := s.seedWorld(t)
		for _, r := range keyPlaneRoutes(t, w) {
			t.Run(r.name(), func(t *testing.T) {
				before := s.snapshot(t)
				for _, c := range authCases {
					h, body, status, parts := c.make(s, w, r)
					if status == 0 {
						continue
					}
					t.Run(c.name, func(t *testing.T) {
						var payload any
						if body != nil {
							payload = body
						}
						s.call(t, r.method, r.path, h, payload).wantError(t, status, parts...)
						s.wantUnchanged(t, before)
					})
				}
			})
		}
	})
}

// TestKeyPlaneRoutesAccepted checks that the requests of the authorization
// test succeed with the right credentials, so that their refusals there
// come from authorization alone. The requests do not depend on the store,
// so SQLite alone is enough.
func TestKeyPlaneRoutesAccepted(t *testing.T) {
	b := backends[0]
	s := newStack(t, b, stackOptions{})
	w := s.seedWorld(t)
	for i, r := range keyPlaneRoutes(t, w) {
		t.Run(r.name(), func(t *testing.T) {
			// Each request runs on a fresh world, as deletes cascade.
			s := newStack(t, b, stackOptions{})
			w := s.seedWorld(t)
			r := keyPlaneRoutes(t, w)[i]
			var payload any
			if r.body != nil {
				payload = r.body
			}
			if got := s.call(t, r.method, r.path, good(s, r), payload); got.Status >= 300 {
				t.Errorf("status %d: %s", got.Status, got.Raw)
			}
		})
	}
}
