package api_test

import (
	"testing"
	"time"
)

// clientFields are the fields of a single client.
var clientFields = map[string]string{"id": "i", "tenant": "s", "app_name": "s", "app_version": "s", "client_id": "s",
	"enabled": "b", "created": "t", "updated": "t"}

func newClientBody(id, tenant string) map[string]any {
	return map[string]any{"client_id": id, "tenant": tenant, "app_name": "app-" + id, "app_version": ">=1.0, <2"}
}

// TestClientLifecycle is the documented workflow of the Rust server's
// users: create a client with admin headers, list it, get it with its own
// credentials, rotate its secret, update it, delete it.
func TestClientLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		r := s.call(t, "POST", "/v1/tms/client", s.admin("test"), newClientBody("gateway", "test")).want(t, 201)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"client_id": "s", "client_secret": "s"}))
		sec := r.str(t, "client_secret")
		if r.str(t, "client_id") != "gateway" || !secretFormat.MatchString(sec) {
			t.Fatalf("create client answered %s", r.Raw)
		}
		own := clientHdr("test", "gateway", sec)

		r = s.call(t, "GET", "/v1/tms/client/list", s.admin("test"), nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"num_clients": "i", "clients": "a"}))
		list := r.list(t, "clients")
		if r.int(t, "num_clients") != 3 || len(list) != 3 {
			t.Fatalf("admin lists %s, want gateway, testclient1 and tms-cli", r.Raw)
		}
		for i, want := range []string{"gateway", "testclient1", "tms-cli"} {
			elem := map[string]string{}
			for k, v := range clientFields {
				elem[k] = v
			}
			elem["enabled"] = "01"
			wantFields(t, list[i], elem)
			if got := jsonString(t, list[i], "client_id"); got != want {
				t.Errorf("clients[%d] = %s, want %s (ordered by client id)", i, got, want)
			}
			if jsonInt(t, list[i], "enabled") != 1 {
				t.Errorf("clients[%d].enabled = %v, want 1", i, list[i]["enabled"])
			}
		}
		// A client sees only itself.
		r = s.call(t, "GET", "/v1/tms/client/list", own, nil).want(t, 200)
		if list := r.list(t, "clients"); len(list) != 1 || jsonString(t, list[0], "client_id") != "gateway" {
			t.Fatalf("client lists %s, want only itself", r.Raw)
		}

		r = s.call(t, "GET", "/v1/tms/client/gateway", own, nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(clientFields))
		if r.str(t, "app_version") != ">=1.0, <2" || !jsonBool(t, r.JSON, "enabled") || r.str(t, "created") != startWire || r.str(t, "tenant") != "test" {
			t.Fatalf("get client answered %s", r.Raw)
		}
		// The administrator may read any client of the tenant.
		s.call(t, "GET", "/v1/tms/client/gateway", s.admin("test"), nil).want(t, 200)

		s.Clock.Add(time.Minute)
		r = s.call(t, "PATCH", "/v1/tms/client/secret/gateway", own, nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"client_id": "s", "tenant": "s", "client_secret": "s"}))
		newSec := r.str(t, "client_secret")
		if !secretFormat.MatchString(newSec) || newSec == sec || r.str(t, "result_msg") != "Secret updated for client gateway" {
			t.Fatalf("rotate secret answered %s", r.Raw)
		}
		s.call(t, "GET", "/v1/tms/client/gateway", own, nil).wantError(t, 401, "NOT AUTHORIZED")
		own = clientHdr("test", "gateway", newSec)
		s.call(t, "GET", "/v1/tms/client/gateway", own, nil).want(t, 200)

		r = s.call(t, "PATCH", "/v1/tms/client/upd/gateway?app_version=2.1", own, nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"fields_updated": "i"}))
		if r.int(t, "fields_updated") != 1 || r.str(t, "result_msg") != "1 update(s) to client gateway completed" {
			t.Fatalf("update client answered %s", r.Raw)
		}
		r = s.call(t, "PATCH", "/v1/tms/client/upd/gateway", own, nil).want(t, 200)
		if r.int(t, "fields_updated") != 0 || r.str(t, "result_msg") != "No updates specified" {
			t.Fatalf("empty update answered %s", r.Raw)
		}
		r = s.call(t, "GET", "/v1/tms/client/gateway", own, nil).want(t, 200)
		if r.str(t, "app_version") != "2.1" || r.str(t, "updated") != s.wireAfter(0) {
			t.Fatalf("after the update: %s", r.Raw)
		}
		r = s.call(t, "PATCH", "/v1/tms/client/upd/gateway?app_version=3&enabled=false", s.admin("test"), nil).want(t, 200)
		if r.int(t, "fields_updated") != 2 {
			t.Fatalf("two-field update answered %s", r.Raw)
		}
		// A disabled client cannot authenticate.
		s.call(t, "GET", "/v1/tms/client/gateway", own, nil).wantError(t, 401, "disabled")
		r = s.call(t, "GET", "/v1/tms/client/gateway", s.admin("test"), nil).want(t, 200)
		if jsonBool(t, r.JSON, "enabled") {
			t.Fatalf("client still enabled: %s", r.Raw)
		}

		r = s.call(t, "DELETE", "/v1/tms/client/del/gateway", s.admin("test"), nil).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"num_deleted": "i"}))
		if r.int(t, "num_deleted") != 1 {
			t.Fatalf("delete answered %s", r.Raw)
		}
		r = s.call(t, "DELETE", "/v1/tms/client/del/gateway", s.admin("test"), nil).want(t, 200)
		if r.int(t, "num_deleted") != 0 {
			t.Fatalf("second delete answered %s", r.Raw)
		}
		s.call(t, "GET", "/v1/tms/client/gateway", s.admin("test"), nil).wantError(t, 404, "NOT_FOUND")
	})
}

func TestClientCreateModes(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		t.Run("MVP allows it", func(t *testing.T) {
			s := newStack(t, b, stackOptions{MVP: true})
			s.call(t, "POST", "/v1/tms/client", s.admin("test"), newClientBody("gateway", "test")).want(t, 201)
		})
		t.Run("new_clients disallow refuses it", func(t *testing.T) {
			s := newStack(t, b, stackOptions{DisallowNewClients: true})
			before := s.snapshot(t)
			s.call(t, "POST", "/v1/tms/client", s.admin("test"), newClientBody("gateway", "test")).wantError(t, 403, "disallow")
			s.wantUnchanged(t, before)
		})
	})
}

func TestClientRefusals(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		w := s.seedWorld(t)
		tests := []struct {
			name   string
			method string
			path   string
			h      hdr
			body   map[string]any
			status int
			parts  []string
		}{
			{"create without credentials", "POST", "/v1/tms/client", hdr{"X-TMS-TENANT": "test"}, newClientBody("x", "test"), 401, []string{"NOT AUTHORIZED"}},
			{"create by a client", "POST", "/v1/tms/client", testClient(), newClientBody("x", "test"), 401, []string{"NOT AUTHORIZED"}},
			{"create without tenant header", "POST", "/v1/tms/client", s.admin("test").with("X-TMS-TENANT", "-"), newClientBody("x", "test"), 400, []string{"X-TMS-TENANT"}},
			{"create in another tenant", "POST", "/v1/tms/client", s.admin("test"), newClientBody("x", "default"), 403, []string{"(test)", "(default)"}},
			{"create in a disabled tenant", "POST", "/v1/tms/client", w.OffAdmin, newClientBody("x", "off"), 400, []string{"Tenant not enabled"}},
			{"create with a bad version", "POST", "/v1/tms/client", s.admin("test"), map[string]any{"client_id": "x", "tenant": "test", "app_name": "a", "app_version": "1.x.y.z"}, 400, []string{"app_version", "1.x.y.z"}},
			{"create with an empty id", "POST", "/v1/tms/client", s.admin("test"), newClientBody("", "test"), 400, []string{"client_id", "empty"}},
			{"create a duplicate id", "POST", "/v1/tms/client", s.admin("test"), map[string]any{"client_id": "testclient1", "tenant": "test", "app_name": "other", "app_version": "1"}, 409, []string{"testclient1"}},
			{"create a duplicate app", "POST", "/v1/tms/client", s.admin("test"), map[string]any{"client_id": "other", "tenant": "test", "app_name": "testapp1", "app_version": "1.0"}, 409, []string{"testapp1"}},
			{"get another client", "GET", "/v1/tms/client/client2", testClient(), nil, 403, []string{"FORBIDDEN", "client2"}},
			{"get with a wrong secret", "GET", "/v1/tms/client/testclient1", testClient().with("X-TMS-CLIENT-SECRET", "secret2"), nil, 401, []string{"NOT AUTHORIZED"}},
			{"get without credentials", "GET", "/v1/tms/client/testclient1", hdr{"X-TMS-TENANT": "test"}, nil, 401, []string{"NOT AUTHORIZED"}},
			{"get without tenant header", "GET", "/v1/tms/client/testclient1", testClient().with("X-TMS-TENANT", "-"), nil, 400, []string{"X-TMS-TENANT"}},
			{"get in an unknown tenant", "GET", "/v1/tms/client/testclient1", testClient().with("X-TMS-TENANT", "nosuch"), nil, 400, []string{"Tenant not enabled"}},
			{"get in an empty tenant", "GET", "/v1/tms/client/testclient1", testClient().with("X-TMS-TENANT", ""), nil, 400, []string{"Tenant not enabled"}},
			{"get in a disabled tenant", "GET", "/v1/tms/client/offclient", w.OffClient, nil, 400, []string{"Tenant not enabled"}},
			{"get with another tenant's secret", "GET", "/v1/tms/client/testclient1", s.admin("default").with("X-TMS-TENANT", "test"), nil, 401, []string{"NOT AUTHORIZED"}},
			{"get a missing client", "GET", "/v1/tms/client/nosuch", s.admin("test"), nil, 404, []string{"NOT_FOUND"}},
			{"list without credentials", "GET", "/v1/tms/client/list", hdr{"X-TMS-TENANT": "test"}, nil, 401, []string{"NOT AUTHORIZED"}},
			{"update another client", "PATCH", "/v1/tms/client/upd/client2?enabled=false", testClient(), nil, 403, []string{"client2"}},
			{"update with a bad boolean", "PATCH", "/v1/tms/client/upd/testclient1?enabled=yes", testClient(), nil, 400, []string{"enabled", "yes"}},
			{"update with a capitalised boolean", "PATCH", "/v1/tms/client/upd/testclient1?enabled=True", testClient(), nil, 400, []string{"enabled"}},
			{"update with a bad version", "PATCH", "/v1/tms/client/upd/testclient1?app_version=not-a-version", testClient(), nil, 400, []string{"app_version"}},
			{"rotate another client's secret", "PATCH", "/v1/tms/client/secret/client2", testClient(), nil, 403, []string{"client2"}},
			{"rotate a missing client's secret", "PATCH", "/v1/tms/client/secret/nosuch", s.admin("test"), nil, 404, []string{"nosuch"}},
			{"delete another client", "DELETE", "/v1/tms/client/del/client2", testClient(), nil, 403, []string{"client2"}},
			{"delete with a wrong secret", "DELETE", "/v1/tms/client/del/testclient1", testClient().with("X-TMS-CLIENT-SECRET", "x"), nil, 401, []string{"NOT AUTHORIZED"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := s.snapshot(t)
				var body any
				if tc.body != nil {
					body = tc.body
				}
				s.call(t, tc.method, tc.path, tc.h, body).wantError(t, tc.status, tc.parts...)
				s.wantUnchanged(t, before)
			})
		}
	})
}
