package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/keys"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/postgres"
	"github.com/tmsproject/tms/internal/store/postgres/pgtest"
	"github.com/tmsproject/tms/internal/store/readcache"
	"github.com/tmsproject/tms/internal/store/sqlite"
	"github.com/tmsproject/tms/internal/tms"
)

// startTime is where the clock of every test stack starts. Its microseconds
// show the wire format of timestamps.
var startTime = time.Date(2026, 7, 13, 18, 2, 11, 123456000, time.UTC)

// The wire forms of startTime and of the "never expires" sentinel.
const (
	startWire = "2026-07-13T18:02:11.123456+00:00"
	neverWire = "9999-12-31T23:59:59+00:00"
)

// stackOptions configure a test stack; the zero value is a non-MVP server
// with enforced retrieval and no repeat window.
type stackOptions struct {
	MVP                bool
	Permissive         bool
	DisallowNewClients bool
	RepeatWindow       time.Duration
	// RequireHostCredential makes retrieval demand a host credential.
	RequireHostCredential bool
	// RefuseUnregisteredHosts refuses lookups for hosts no tenant has
	// registered; otherwise the stack accepts them, as a development
	// server does.
	RefuseUnregisteredHosts bool
	// API sets the limits of the handler; Service is filled in.
	API api.Options
	// Keys sizes the key generator.
	Keys keys.Options
	// SQLite and Postgres override the options of the store; Path and URL
	// are filled in.
	SQLite   sqlite.Options
	Postgres postgres.Options
}

// backend opens an empty store of one kind for a test.
type backend struct {
	name string
	open func(t *testing.T, s *stack, o stackOptions) store.Store
}

var backends = []backend{
	{"sqlite", func(t *testing.T, s *stack, o stackOptions) store.Store {
		opts := o.SQLite
		opts.Path = filepath.Join(t.TempDir(), "tms.db")
		s.sqlitePath = opts.Path
		db, err := sqlite.Open(testContext(t), opts)
		if err != nil {
			t.Fatalf("open SQLite store: %v", err)
		}
		return readcache.Wrap(db, 1000)
	}},
	{"postgres", func(t *testing.T, s *stack, o stackOptions) store.Store {
		opts := o.Postgres
		opts.URL = pgtest.NewSchema(t)
		s.pgURL = opts.URL
		db, err := postgres.Open(testContext(t), opts)
		if err != nil {
			t.Fatalf("open PostgreSQL store: %v", err)
		}
		return readcache.Wrap(db, 1000)
	}},
}

// eachBackend runs test once per store backend, as subtests named after
// the backend. PostgreSQL runs only when pgtest.Variable is set.
func eachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

// testContext returns a context that ends with the test, or after a minute.
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// stack is a running API over a real store, initialized with the standard
// tenants and the test data.
type stack struct {
	URL    string
	Store  store.Store
	Svc    *tms.Service
	Clock  *clocktest.Clock
	client *http.Client
	// adminSecrets holds the administrator secret of each tenant by name.
	adminSecrets map[string]string
	// resIDs lists the reservations created through the stack, by tenant,
	// so snapshots can include them.
	resIDs     map[string][]string
	sqlitePath string
	pgURL      string
	// storeClosed is set once a test has closed the store itself.
	storeClosed atomic.Bool
}

// closeStore closes the store under the running server.
func (s *stack) closeStore(t *testing.T) {
	t.Helper()
	s.storeClosed.Store(true)
	if err := s.Store.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
}

// newStack starts an API server over a fresh store of backend b.
func newStack(t *testing.T, b backend, o stackOptions) *stack {
	t.Helper()
	s := &stack{Clock: clocktest.New(startTime), adminSecrets: map[string]string{}, resIDs: map[string][]string{}}
	st := b.open(t, s, o)
	t.Cleanup(func() {
		if s.storeClosed.Load() {
			return
		}
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	s.Store = st
	gen, err := keys.NewGenerator(o.Keys)
	if err != nil {
		t.Fatalf("key generator: %v", err)
	}
	svcOpts := tms.Options{
		Store: st, Keys: gen, Now: s.Clock.Now,
		MVP: o.MVP, DisallowNewClients: o.DisallowNewClients,
		PermissiveRetrieval: o.Permissive, RepeatWindow: o.RepeatWindow,
		RequireHostCredential: o.RequireHostCredential,
		UnregisteredHosts:     tms.AcceptUnregisteredHosts,
	}
	if o.RefuseUnregisteredHosts {
		svcOpts.UnregisteredHosts = tms.RefuseUnregisteredHosts
	}
	s.Svc = tms.New(svcOpts)
	secrets, err := s.Svc.Initialize(testContext(t))
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if len(secrets) != 2 {
		t.Fatalf("Initialize returned %d administrator secrets, want 2", len(secrets))
	}
	for _, sec := range secrets {
		s.adminSecrets[sec.Tenant] = sec.Secret
	}
	apiOpts := o.API
	apiOpts.Service = s.Svc
	srv := httptest.NewServer(api.New(apiOpts).Handler())
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	s.client = srv.Client()
	s.client.Timeout = 30 * time.Second
	return s
}

// hdr holds request headers. A "Content-Type" entry replaces the default
// application/json; an empty one sends no Content-Type at all.
type hdr map[string]string

// with returns a copy of h with the pairs (name, value, ...) set; a value
// of "-" removes the header.
func (h hdr) with(pairs ...string) hdr {
	out := hdr{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "-" {
			delete(out, pairs[i])
			continue
		}
		out[pairs[i]] = pairs[i+1]
	}
	return out
}

// admin returns the administrator headers of a tenant.
func (s *stack) admin(tenant string) hdr {
	return hdr{"X-TMS-TENANT": tenant, "X-TMS-ADMIN-ID": tms.AdminID, "X-TMS-ADMIN-SECRET": s.adminSecrets[tenant]}
}

// clientHdr returns the headers of a client.
func clientHdr(tenant, id, secret string) hdr {
	return hdr{"X-TMS-TENANT": tenant, "X-TMS-CLIENT-ID": id, "X-TMS-CLIENT-SECRET": secret}
}

// testClient returns the headers of the well-known test client.
func testClient() hdr { return clientHdr(tms.TestTenant, tms.TestClientID, tms.TestClientSecret) }

// reply is an HTTP answer with its JSON body decoded (numbers kept as
// json.Number, so integers and strings stay apart).
type reply struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   map[string]any
}

// call sends a request and fails the test if it gets no answer. body may
// be nil (no body), a string or []byte (sent as is) or anything else (sent
// as JSON).
func (s *stack) call(t *testing.T, method, path string, h hdr, body any) reply {
	t.Helper()
	r, err := s.send(testContext(t), method, path, h, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send sends a request. Unlike call, it may be used from any goroutine.
func (s *stack) send(ctx context.Context, method, path string, h hdr, body any) (reply, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return reply{}, fmt.Errorf("encode request body: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, rd)
	if err != nil {
		return reply{}, fmt.Errorf("build request %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range h {
		if k == "Content-Type" && v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	r := reply{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&r.JSON); err != nil {
			return reply{}, fmt.Errorf("%s %s: status %d with a body that is not a JSON object: %w\n%s", method, path, r.Status, err, raw)
		}
	}
	return r, nil
}

// want fails the test unless the status is status and, for JSON answers,
// result_code is the string "0" for a success or the status for an error.
func (r reply) want(t *testing.T, status int) reply {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Raw)
	}
	if r.JSON != nil {
		wantCode := "0"
		if status >= 400 {
			wantCode = strconv.Itoa(status)
		}
		if code, ok := r.JSON["result_code"].(string); !ok || code != wantCode {
			t.Fatalf("result_code %#v, want the string %q; body: %s", r.JSON["result_code"], wantCode, r.Raw)
		}
		if _, ok := r.JSON["result_msg"].(string); !ok {
			t.Fatalf("result_msg %#v is not a string; body: %s", r.JSON["result_msg"], r.Raw)
		}
	}
	return r
}

// wantError fails the test unless the answer is the JSON error envelope
// with this status and a message containing every one of parts.
func (r reply) wantError(t *testing.T, status int, parts ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Raw)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type %q, want the JSON envelope; body: %s", ct, r.Raw)
	}
	if len(r.JSON) != 2 {
		t.Fatalf("error body has %d fields, want result_code and result_msg only: %s", len(r.JSON), r.Raw)
	}
	r.want(t, status)
	msg := r.JSON["result_msg"].(string)
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Fatalf("result_msg %q does not mention %q", msg, p)
		}
	}
}

// str returns a string field, failing unless it is a JSON string.
func (r reply) str(t *testing.T, field string) string {
	t.Helper()
	return jsonString(t, r.JSON, field)
}

// int returns an integer field, failing unless it is a JSON integer.
func (r reply) int(t *testing.T, field string) int64 {
	t.Helper()
	return jsonInt(t, r.JSON, field)
}

// list returns an array-of-objects field.
func (r reply) list(t *testing.T, field string) []map[string]any {
	t.Helper()
	raw, ok := r.JSON[field].([]any)
	if !ok {
		t.Fatalf("field %s is %#v, want an array; body: %s", field, r.JSON[field], r.Raw)
	}
	out := make([]map[string]any, len(raw))
	for i, e := range raw {
		m, ok := e.(map[string]any)
		if !ok {
			t.Fatalf("%s[%d] is %#v, want an object", field, i, e)
		}
		out[i] = m
	}
	return out
}

func jsonString(t *testing.T, m map[string]any, field string) string {
	t.Helper()
	v, ok := m[field].(string)
	if !ok {
		t.Fatalf("field %s is %#v (%T), want a JSON string in %v", field, m[field], m[field], m)
	}
	return v
}

func jsonInt(t *testing.T, m map[string]any, field string) int64 {
	t.Helper()
	n, ok := m[field].(json.Number)
	if !ok {
		t.Fatalf("field %s is %#v (%T), want a JSON number in %v", field, m[field], m[field], m)
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatalf("field %s is %s, want an integer", field, n)
	}
	return v
}

func jsonBool(t *testing.T, m map[string]any, field string) bool {
	t.Helper()
	v, ok := m[field].(bool)
	if !ok {
		t.Fatalf("field %s is %#v (%T), want a JSON boolean in %v", field, m[field], m[field], m)
	}
	return v
}

// wireTime matches the 0.3.0 timestamp format.
var wireTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?\+00:00$`)

// wantFields fails unless m has exactly the fields named, each of the JSON
// kind given: "s" string, "i" integer, "b" boolean, "t" timestamp string,
// "01" the integer 0 or 1, "a" an array.
func wantFields(t *testing.T, m map[string]any, kinds map[string]string) {
	t.Helper()
	for field, kind := range kinds {
		switch kind {
		case "s":
			jsonString(t, m, field)
		case "i":
			jsonInt(t, m, field)
		case "b":
			jsonBool(t, m, field)
		case "t":
			if v := jsonString(t, m, field); !wireTime.MatchString(v) {
				t.Fatalf("field %s = %q is not a 0.3.0 timestamp", field, v)
			}
		case "a":
			if _, ok := m[field].([]any); !ok {
				t.Fatalf("field %s is %#v, want an array", field, m[field])
			}
		case "01":
			if v := jsonInt(t, m, field); v != 0 && v != 1 {
				t.Fatalf("field %s = %d, want 0 or 1", field, v)
			}
		default:
			t.Fatalf("wantFields: unknown kind %q", kind)
		}
	}
	for field := range m {
		if _, ok := kinds[field]; !ok {
			t.Fatalf("unexpected field %s in %v", field, m)
		}
	}
}

// envelopeFields adds result_code and result_msg to a field list.
func envelopeFields(kinds map[string]string) map[string]string {
	out := map[string]string{"result_code": "s", "result_msg": "s"}
	for k, v := range kinds {
		out[k] = v
	}
	return out
}

// wireAfter returns the wire form of the stack's time plus d.
func (s *stack) wireAfter(d time.Duration) string {
	return api.FormatTime(store.Micro(s.Clock.Now().Add(d)))
}

// snapshot is everything the store holds, read through the store itself.
type snapshot struct {
	Tenants      []store.Tenant
	Admins       map[string]store.Credential
	Clients      map[string][]store.Client
	Secrets      map[string]store.Credential
	UserMFA      map[string][]store.UserMFA
	UserHosts    map[string][]store.UserHost
	Delegations  map[string][]store.Delegation
	Hosts        map[string][]store.Host
	Pubkeys      map[string][]store.Pubkey
	Reservations map[string]store.Reservation
}

// snapshot reads the whole state of the store.
func (s *stack) snapshot(t *testing.T) snapshot {
	t.Helper()
	ctx := testContext(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
	}
	var snap snapshot
	var err error
	snap.Tenants, err = s.Store.ListTenants(ctx)
	must(err)
	snap.Admins = map[string]store.Credential{}
	snap.Clients = map[string][]store.Client{}
	snap.Secrets = map[string]store.Credential{}
	snap.UserMFA = map[string][]store.UserMFA{}
	snap.UserHosts = map[string][]store.UserHost{}
	snap.Delegations = map[string][]store.Delegation{}
	snap.Hosts = map[string][]store.Host{}
	snap.Pubkeys = map[string][]store.Pubkey{}
	snap.Reservations = map[string]store.Reservation{}
	for _, tn := range snap.Tenants {
		name := tn.Name
		snap.Admins[name], err = s.Store.AdminCredential(ctx, name, tms.AdminID)
		must(err)
		snap.Clients[name], err = s.Store.ListClients(ctx, name, "")
		must(err)
		for _, c := range snap.Clients[name] {
			snap.Secrets[name+"/"+c.ClientID], err = s.Store.ClientCredential(ctx, name, c.ClientID)
			must(err)
		}
		snap.UserMFA[name], err = s.Store.ListUserMFA(ctx, name)
		must(err)
		snap.UserHosts[name], err = s.Store.ListUserHosts(ctx, name)
		must(err)
		snap.Delegations[name], err = s.Store.ListDelegations(ctx, name)
		must(err)
		snap.Hosts[name], err = s.Store.ListHosts(ctx, name)
		must(err)
		snap.Pubkeys[name], err = s.Store.ListPubkeys(ctx, name, "")
		must(err)
		for _, id := range s.resIDs[name] {
			r, err := s.Store.GetReservation(ctx, name, id)
			if err == nil {
				snap.Reservations[name+"/"+id] = r
			}
		}
	}
	return snap
}

// wantUnchanged fails the test if the store differs from before.
func (s *stack) wantUnchanged(t *testing.T, before snapshot) {
	t.Helper()
	after := s.snapshot(t)
	if reflect.DeepEqual(before, after) {
		return
	}
	bv, av := reflect.ValueOf(before), reflect.ValueOf(after)
	for i := range bv.NumField() {
		if !reflect.DeepEqual(bv.Field(i).Interface(), av.Field(i).Interface()) {
			t.Fatalf("the request changed the store's %s:\nbefore: %+v\nafter:  %+v",
				bv.Type().Field(i).Name, bv.Field(i).Interface(), av.Field(i).Interface())
		}
	}
}

// world is the extra data most tests start from, on top of the test data;
// the test tenant also gets the host login1 with address 192.0.2.1.
type world struct {
	// Client2 is a second client of the test tenant.
	Client2 hdr
	// Key is an unlimited ed25519 key of testclient1 for testuser1 on
	// testhost1 as testhostaccount1.
	Key reply
	// KeyID is the record id of Key.
	KeyID int64
	// ResID is a reservation of Key by testclient1.
	ResID string
	// OffAdmin and OffClient are credentials of the disabled tenant "off".
	OffAdmin, OffClient hdr
}

// Fingerprint returns the fingerprint of the world's key.
func (w world) Fingerprint(t *testing.T) string { return w.Key.str(t, "public_key_fingerprint") }

// seedWorld creates the world through the API.
func (s *stack) seedWorld(t *testing.T) world {
	t.Helper()
	var w world
	r := s.call(t, "POST", "/v1/tms/client", s.admin("test"),
		map[string]any{"client_id": "client2", "tenant": "test", "app_name": "app2", "app_version": "2.0"}).want(t, 201)
	w.Client2 = clientHdr("test", "client2", r.str(t, "client_secret"))
	w.Key = s.createKey(t, testClient(), keyBody(tms.TestUser, -1, -1))
	w.KeyID = s.keyID(t, w.Fingerprint(t))
	r = s.call(t, "POST", "/v1/tms/reservations", testClient(), map[string]any{
		"client_user_id": tms.TestUser, "host": tms.TestHost, "public_key_fingerprint": w.Fingerprint(t), "ttl_minutes": 60,
	}).want(t, 201)
	w.ResID = r.str(t, "resid")
	s.resIDs["test"] = append(s.resIDs["test"], w.ResID)

	s.call(t, "POST", "/v1/tms/hosts", s.admin("test"), map[string]any{"tenant": "test", "host": "login1", "addr": "192.0.2.1"}).want(t, 201)

	r = s.call(t, "POST", "/v1/tms/tenants/off", s.admin("default"), nil).want(t, 201)
	s.adminSecrets["off"] = r.str(t, "admin_secret")
	w.OffAdmin = s.admin("off")
	r = s.call(t, "POST", "/v1/tms/client", w.OffAdmin,
		map[string]any{"client_id": "offclient", "tenant": "off", "app_name": "offapp", "app_version": "1.0"}).want(t, 201)
	w.OffClient = clientHdr("off", "offclient", r.str(t, "client_secret"))
	s.call(t, "PATCH", "/v1/tms/tenants/upd", w.OffAdmin, map[string]any{"tenant": "off", "enabled": false}).want(t, 200)
	return w
}

// keyBody is a key-creation body for testhostaccount1 on testhost1.
func keyBody(user string, numUses, ttlMinutes int) map[string]any {
	return map[string]any{"client_user_id": user, "host": tms.TestHost, "host_account": tms.TestHostAccount,
		"num_uses": numUses, "ttl_minutes": ttlMinutes}
}

// createKey creates a key and fails unless it gets 201.
func (s *stack) createKey(t *testing.T, h hdr, body map[string]any) reply {
	t.Helper()
	return s.call(t, "POST", "/v1/tms/pubkeys/creds", h, body).want(t, 201)
}

// retrieve asks for a key as sshd does.
func (s *stack) retrieve(t *testing.T, account, host, fingerprint string) reply {
	t.Helper()
	method, path, h, body := retrieveRequest(account, host, fingerprint)
	return s.call(t, method, path, h, body)
}

// retrieveRequest is the request sshd's lookup sends.
func retrieveRequest(account, host, fingerprint string) (method, path string, h hdr, body any) {
	return "POST", "/v1/tms/pubkeys/creds/retrieve", hdr{},
		map[string]any{"user": account, "user_uid": "1001", "host": host, "public_key_fingerprint": fingerprint, "key_type": "ssh-ed25519"}
}

// login does what sshd does for one login with a key: a lookup for the
// unsigned probe and another for the signed attempt. It returns both
// statuses.
func (s *stack) login(t *testing.T, fingerprint string) (probe, signed int) {
	t.Helper()
	probe = s.retrieve(t, tms.TestHostAccount, tms.TestHost, fingerprint).Status
	signed = s.retrieve(t, tms.TestHostAccount, tms.TestHost, fingerprint).Status
	return probe, signed
}

// keyID returns the record id of testclient1's key with this fingerprint on
// testhost1.
func (s *stack) keyID(t *testing.T, fingerprint string) int64 {
	t.Helper()
	k, err := s.Store.FindPubkey(testContext(t), store.PubkeyKey{Tenant: "test", ClientID: tms.TestClientID, Host: tms.TestHost, Fingerprint: fingerprint})
	if err != nil {
		t.Fatalf("find key %s: %v", fingerprint, err)
	}
	return k.ID
}

// remainingUses returns the remaining uses of a key record.
func (s *stack) remainingUses(t *testing.T, id int64) int32 {
	t.Helper()
	k, err := s.Store.GetPubkey(testContext(t), "test", id, "")
	if err != nil {
		t.Fatalf("get key %d: %v", id, err)
	}
	return k.RemainingUses
}

// pathf formats a request path.
func pathf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
