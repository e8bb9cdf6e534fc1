package api_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/tms"
)

// bodyRoute is a route that takes a JSON body, with a body it accepts.
type bodyRoute struct {
	method, path string
	who          string // "admin", "client" or "none"
	body         map[string]any
	// optional fields may be absent or null.
	optional []string
	// u32 fields take 0 to 4294967295 instead of the 32-bit signed range.
	u32 []string
	// free fields are informational strings that are not checked.
	free []string
}

func (r bodyRoute) headers(s *stack) hdr {
	switch r.who {
	case "admin":
		return s.admin("test")
	case "client":
		return testClient()
	}
	return hdr{}
}

// encode returns the body as JSON text.
func encode(t *testing.T, body map[string]any) string {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// bodyRoutes lists every route with a JSON body.
func bodyRoutes(w world, fp string) []bodyRoute {
	mapping := map[string]any{"tenant": "test", "tms_user_id": "testuser1", "host": "testhost1", "host_account": "testhostaccount1"}
	withTTL := func(m map[string]any) map[string]any { m = maps.Clone(m); m["ttl_minutes"] = 5; return m }
	deleg := map[string]any{"tenant": "test", "client_id": "testclient1", "client_user_id": "testuser1"}
	host := map[string]any{"tenant": "test", "host": "login1", "addr": "192.0.2.1"}
	key := map[string]any{"tenant": "test", "client_id": "testclient1", "host": "testhost1", "public_key_fingerprint": fp}
	keyUpd := maps.Clone(key)
	keyUpd["max_uses"] = 3
	keyUpd["ttl_minutes"] = 3
	createKey := keyBody("testuser1", 1, 1)
	createKey["key_type"] = "ed25519"
	return []bodyRoute{
		{"POST", "/v1/tms/client", "admin", map[string]any{"client_id": "c3", "tenant": "test", "app_name": "a3", "app_version": "1.0"}, nil, nil, nil},
		{"PATCH", "/v1/tms/tenants/upd", "admin", map[string]any{"tenant": "test", "enabled": false}, nil, nil, nil},
		{"POST", "/v1/tms/usermfa", "admin", map[string]any{"tenant": "test", "tms_user_id": "newuser", "ttl_minutes": 5}, nil, nil, nil},
		{"PATCH", "/v1/tms/usermfa/upd", "admin", map[string]any{"tenant": "test", "tms_user_id": "testuser1", "enabled": false}, nil, nil, nil},
		{"POST", "/v1/tms/userhosts", "admin", withTTL(map[string]any{"tenant": "test", "tms_user_id": "testuser1", "host": "h2", "host_account": "a2"}), nil, nil, nil},
		{"PATCH", "/v1/tms/userhosts/upd", "admin", withTTL(mapping), nil, nil, nil},
		{"DELETE", "/v1/tms/userhosts/del", "admin", mapping, nil, nil, nil},
		{"POST", "/v1/tms/delegations", "admin", withTTL(map[string]any{"tenant": "test", "client_id": "client2", "client_user_id": "testuser1"}), nil, nil, nil},
		{"PATCH", "/v1/tms/delegations/upd", "admin", withTTL(deleg), nil, nil, nil},
		{"DELETE", "/v1/tms/delegations/del", "admin", deleg, nil, nil, nil},
		{"POST", "/v1/tms/hosts", "admin", map[string]any{"tenant": "test", "host": "login2", "addr": "192.0.2.2"}, nil, nil, nil},
		{"DELETE", "/v1/tms/hosts/del", "admin", host, nil, nil, nil},
		{"POST", "/v1/tms/pubkeys/creds", "client", createKey, []string{"key_type"}, nil, nil},
		{"POST", "/v1/tms/pubkeys/creds/retrieve", "none", map[string]any{"user": "testhostaccount1", "user_uid": "1", "host": "testhost1",
			"public_key_fingerprint": fp, "key_type": "ssh-ed25519"}, []string{"user_uid", "key_type"}, nil, []string{"user_uid", "key_type"}},
		{"PATCH", "/v1/tms/pubkeys", "client", keyUpd, []string{"max_uses", "ttl_minutes"}, []string{"max_uses", "ttl_minutes"}, nil},
		{"DELETE", "/v1/tms/pubkeys/del", "client", key, nil, nil, nil},
		{"POST", "/v1/tms/reservations", "client", map[string]any{"client_user_id": "testuser1", "host": "testhost1", "public_key_fingerprint": fp, "ttl_minutes": 5}, nil, nil, nil},
		{"POST", "/v1/tms/reservations/extend", "client", map[string]any{"client_user_id": "testuser1", "host": "testhost1", "public_key_fingerprint": fp, "parent_resid": w.ResID}, nil, nil, nil},
	}
}

// badBody is a malformed request: a raw body, optional header changes,
// and the expected status and message parts.
type badBody struct {
	name   string
	body   string
	h      []string
	status int
	parts  []string
}

// badBodies derives every bad-input case of a route from its good body.
func badBodies(t *testing.T, r bodyRoute) []badBody {
	good := encode(t, r.body)
	cases := []badBody{
		{"truncated JSON", good[:len(good)/2], nil, 400, []string{"JSON"}},
		{"not JSON", "tenant=test&host=h", nil, 400, []string{"invalid JSON"}},
		{"single quotes", strings.ReplaceAll(good, `"`, `'`), nil, 400, []string{"invalid JSON"}},
		{"array", "[" + good + "]", nil, 400, []string{"JSON object"}},
		{"string", `"` + strings.ReplaceAll(good, `"`, `\"`) + `"`, nil, 400, []string{"JSON object"}},
		{"null body", "null", nil, 400, []string{"missing or null"}},
		{"empty object", "{}", nil, 400, []string{"missing or null"}},
		{"empty body", "", nil, 400, []string{"empty"}},
		{"blank body", " \n\t", nil, 400, []string{"empty"}},
		{"trailing garbage", good + " x", nil, 400, []string{"after the JSON object"}},
		{"two objects", good + good, nil, 400, []string{"after the JSON object"}},
		{"no Content-Type", good, []string{"Content-Type", ""}, 415, []string{"Content-Type", "missing"}},
		{"text/plain", good, []string{"Content-Type", "text/plain"}, 415, []string{"Content-Type", "text/plain"}},
		{"form", good, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, []string{"Content-Type"}},
		{"bad media type", good, []string{"Content-Type", "application/json; charset"}, 415, []string{"Content-Type"}},
		{"oversized", strings.TrimSuffix(good, "}") + `,"padding":"` + strings.Repeat("x", maxBody) + `"}`, nil, 413, []string{"larger than"}},
	}
	for _, field := range slices.Sorted(maps.Keys(r.body)) {
		value := r.body[field]
		optional := slices.Contains(r.optional, field)
		set := func(v any) string {
			b := maps.Clone(r.body)
			b[field] = v
			return encode(t, b)
		}
		setRaw := func(raw string) string {
			return strings.Replace(set("\x00marker"), `"\u0000marker"`, raw, 1)
		}
		if !optional {
			without := maps.Clone(r.body)
			delete(without, field)
			cases = append(cases,
				badBody{field + " missing", encode(t, without), nil, 400, []string{field, "missing"}},
				badBody{field + " null", set(nil), nil, 400, []string{field, "missing or null"}})
		}
		switch value.(type) {
		case string:
			cases = append(cases,
				badBody{field + " number", set(5), nil, 400, []string{field, "string"}},
				badBody{field + " boolean", set(true), nil, 400, []string{field, "string"}},
				badBody{field + " object", set(map[string]any{"v": "x"}), nil, 400, []string{field, "string"}},
				badBody{field + " array", set([]string{"x"}), nil, 400, []string{field, "string"}})
			if !slices.Contains(r.free, field) && field != "tenant" {
				tooLong := []string{field, "longer than"}
				if field == "key_type" {
					tooLong = []string{field, "accepted values"}
				}
				cases = append(cases,
					badBody{field + " too long", set(strings.Repeat("x", 300)), nil, 400, tooLong},
					badBody{field + " control character", set("a\x01b"), nil, 400, []string{field}})
				if field != "key_type" {
					cases = append(cases, badBody{field + " empty", set(""), nil, 400, []string{field, "empty"}})
				}
			}
		case int:
			low, high := "-2147483649", "2147483648"
			if slices.Contains(r.u32, field) {
				low, high = "-1", "4294967296"
			}
			cases = append(cases,
				badBody{field + ` string "1"`, set("1"), nil, 400, []string{field, "integer"}},
				badBody{field + " 1.0", setRaw("1.0"), nil, 400, []string{field}},
				badBody{field + " 1.5", setRaw("1.5"), nil, 400, []string{field}},
				badBody{field + " 1e3", setRaw("1e3"), nil, 400, []string{field}},
				badBody{field + " boolean", set(true), nil, 400, []string{field, "integer"}},
				badBody{field + " below range", setRaw(low), nil, 400, []string{field, "out of range"}},
				badBody{field + " above range", setRaw(high), nil, 400, []string{field, "out of range"}},
				badBody{field + " beyond 64 bits", setRaw("99999999999999999999"), nil, 400, []string{field}})
		case bool:
			cases = append(cases,
				badBody{field + ` string "true"`, set("true"), nil, 400, []string{field, "true or false"}},
				badBody{field + " number 1", set(1), nil, 400, []string{field, "true or false"}})
		default:
			t.Fatalf("%s %s: field %s has an unexpected type %T", r.method, r.path, field, value)
		}
	}
	return cases
}

// maxBody is the body limit of the bad-input tests.
const maxBody = 8 << 10

// TestBadBodies sends every class of bad body to every route with a body
// and checks the JSON error that names the problem, and that nothing
// changed.
func TestBadBodies(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{API: api.Options{MaxBodyBytes: maxBody}})
		w := s.seedWorld(t)
		before := s.snapshot(t)
		for _, r := range bodyRoutes(w, w.Fingerprint(t)) {
			t.Run(r.method+" "+r.path, func(t *testing.T) {
				for _, c := range badBodies(t, r) {
					t.Run(c.name, func(t *testing.T) {
						h := r.headers(s).with(c.h...)
						s.call(t, r.method, r.path, h, c.body).wantError(t, c.status, c.parts...)
					})
				}
				s.wantUnchanged(t, before)
			})
		}
	})
}

// TestGoodBodiesAccepted checks that the bodies the bad-input test starts
// from are accepted, with every accepted form of Content-Type, so that the
// refusals there come from the changes alone.
func TestGoodBodiesAccepted(t *testing.T) {
	b := backends[0]
	s := newStack(t, b, stackOptions{})
	w := s.seedWorld(t)
	contentTypes := []string{"application/json", "application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"}
	for i, r := range bodyRoutes(w, w.Fingerprint(t)) {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			// Each request runs on a fresh world, as deletes cascade.
			s := newStack(t, b, stackOptions{})
			w := s.seedWorld(t)
			r := bodyRoutes(w, w.Fingerprint(t))[i]
			ct := contentTypes[i%len(contentTypes)]
			// Unknown fields are ignored.
			body := maps.Clone(r.body)
			body["unknown_field"] = []int{1, 2}
			if got := s.call(t, r.method, r.path, r.headers(s).with("Content-Type", ct), body); got.Status >= 300 {
				t.Errorf("Content-Type %s: status %d: %s", ct, got.Status, got.Raw)
			}
		})
	}
}

func TestBadHeaders(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		before := s.snapshot(t)
		for _, name := range []string{"X-TMS-TENANT", "X-TMS-CLIENT-ID", "X-TMS-CLIENT-SECRET", "X-TMS-ADMIN-ID", "X-TMS-ADMIN-SECRET"} {
			for _, tc := range []struct {
				method, path string
				h            hdr
				body         any
			}{
				{"GET", "/v1/tms/client/testclient1", testClient(), nil},
				{"POST", "/v1/tms/pubkeys/creds", testClient(), keyBody("testuser1", 1, 1)},
				{"POST", "/v1/tms/usermfa", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "u", "ttl_minutes": 1}},
			} {
				t.Run(name+" "+tc.method+" "+tc.path, func(t *testing.T) {
					s.call(t, tc.method, tc.path, tc.h.with(name, "t\u00e9st"), tc.body).wantError(t, 400, "header "+name, "ASCII")
				})
			}
		}
		s.wantUnchanged(t, before)
	})
}

func TestBadPathValues(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		for _, route := range []struct{ prefix, param string }{
			{"/v1/tms/userhosts/", "id"},
			{"/v1/tms/delegations/", "id"},
			{"/v1/tms/hosts/", "id"},
			{"/v1/tms/pubkeys/id/", "seqno"},
		} {
			h := s.admin("test")
			for _, v := range []string{"abc", "1.5", "1e3", "0x10", "2147483648", "99999999999999999999", "%20", "1%00"} {
				t.Run(route.prefix+v, func(t *testing.T) {
					s.call(t, "GET", route.prefix+v, h, nil).wantError(t, 400, "`"+route.param+"`", "not an integer")
				})
			}
			t.Run(route.prefix+"missing", func(t *testing.T) {
				s.call(t, "GET", route.prefix+"-1", h, nil).wantError(t, 404, "NOT_FOUND")
			})
		}
	})
}

func TestBadQueryValues(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		before := s.snapshot(t)
		for _, v := range []string{"yes", "1", "0", "", "TRUE", "False", "t", "true%20"} {
			t.Run(fmt.Sprintf("enabled=%q", v), func(t *testing.T) {
				s.call(t, "PATCH", "/v1/tms/client/upd/testclient1?app_version=2.0&enabled="+v, s.admin("test"), nil).wantError(t, 400, "enabled")
			})
		}
		s.wantUnchanged(t, before)
	})
}

// TestRetrieveIgnoresHeaders checks that sshd's lookup needs no headers
// and that bad header values cannot break it.
func TestRetrieveIgnoresHeaders(t *testing.T) {
	s := newStack(t, backends[0], stackOptions{})
	fp := s.createKey(t, testClient(), keyBody(tms.TestUser, -1, -1)).str(t, "public_key_fingerprint")
	body := map[string]any{"user": tms.TestHostAccount, "host": tms.TestHost, "public_key_fingerprint": fp}
	s.call(t, "POST", "/v1/tms/pubkeys/creds/retrieve", hdr{"X-TMS-TENANT": "t\u00e9st"}, body).want(t, 200)
}
