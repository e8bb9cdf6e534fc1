package api_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestHello(t *testing.T) {
	s := newFakeStack(t, &fakeService{})
	for _, tc := range []struct{ query, want string }{
		{"", "hello!"},
		{"?name=sshd", "hello, sshd!"},
	} {
		r := s.call(t, "GET", "/v1/tms/hello"+tc.query, hdr{}, nil).want(t, 200)
		if got := string(r.Raw); got != tc.want {
			t.Errorf("GET /v1/tms/hello%s = %q, want %q", tc.query, got, tc.want)
		}
		if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("Content-Type %q, want text/plain; charset=utf-8", ct)
		}
	}
}

func TestVersion(t *testing.T) {
	s := newFakeStack(t, &fakeService{})
	// The load test's getversion request sends no headers at all.
	r := s.call(t, "GET", "/v1/tms/version", hdr{}, nil).want(t, 200)
	wantFields(t, r.JSON, envelopeFields(map[string]string{
		"tms_version": "s", "git_branch": "s", "git_commit": "s", "git_dirty": "s", "source_ts": "s", "go_version": "s",
	}))
	if d := r.str(t, "git_dirty"); d != "true" && d != "false" {
		t.Errorf("git_dirty = %q, want \"true\" or \"false\"", d)
	}
}

func TestUnknownRoutes(t *testing.T) {
	s := newFakeStack(t, &fakeService{})
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/tms/nothing"},
		{"GET", "/v1/tms/version/"}, // routes match exactly
		{"POST", "/v1/tms/pubkeys/creds/"},
		{"GET", "/"},
		{"GET", "/v2/tms/version"},
		{"DELETE", "/v1/tms/usermfa/del/"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			s.call(t, tc.method, tc.path, testClient(), nil).wantError(t, http.StatusNotFound, tc.path)
		})
	}
}

func TestWrongMethods(t *testing.T) {
	s := newFakeStack(t, &fakeService{})
	for _, tc := range []struct{ method, path, allow string }{
		{"POST", "/v1/tms/version", "GET"},
		{"GET", "/v1/tms/pubkeys/creds", "POST"},
		{"PUT", "/v1/tms/pubkeys/creds/retrieve", "POST"},
		{"DELETE", "/v1/tms/client/testclient1", "GET"},
		{"PUT", "/v1/tms/tenants/upd", "PATCH"},
		{"PATCH", "/v1/tms/client/list", "GET"},
		{"GET", "/v1/tms/pubkeys", "PATCH"},
		{"POST", "/v1/tms/reservations/del/testclient1/r1", "DELETE"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := s.call(t, tc.method, tc.path, testClient(), nil)
			r.wantError(t, http.StatusMethodNotAllowed, tc.method, tc.path)
			if allow := r.Header.Get("Allow"); !strings.Contains(allow, tc.allow) {
				t.Errorf("Allow %q does not list %s", allow, tc.allow)
			}
		})
	}
}
