package api_test

import (
	"testing"
)

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
