package apidocs_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/needtest"
	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/server/servertest"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
	"github.com/tmsproject/tms/internal/upstream/providertest"
)

// checker sends requests to a running server and checks every answer
// against the OpenAPI document: its status is documented for the
// operation, and its content type and body match the schema. It records
// which operations were answered, and every secret it saw.
type checker struct {
	t       *testing.T
	doc     *openapi3.T
	base    string
	answers map[string][]int // operation → statuses seen
	secrets map[string]string
}

// browser is an HTTP client with its own cookies that follows no
// redirects, as the checker checks each answer itself.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// call is one request: op is the operation as "METHOD /path/{param}".
type call struct {
	op     string
	path   map[string]string
	query  url.Values
	header map[string]string
	json   any
	form   url.Values
	// raw is sent as is, with the Content-Type of header.
	raw string
	// bad marks a request that breaks the document on purpose; only the
	// answer is checked.
	bad    bool
	client *http.Client
}

// answer is a checked answer.
type answer struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (a answer) str(t *testing.T, field string) string {
	t.Helper()
	v, ok := a.json[field].(string)
	if !ok {
		t.Fatalf("answer field %s is %#v, want a string: %s", field, a.json[field], a.body)
	}
	return v
}

// keep remembers a secret that must never reach the audit log.
func (c *checker) keep(name, value string) string {
	if value != "" {
		c.secrets[name] = value
	}
	return value
}

// do sends r, checks the answer against the document and that its status
// is want, and returns it.
func (c *checker) do(r call, want int) answer {
	c.t.Helper()
	method, template, _ := strings.Cut(r.op, " ")
	item := c.doc.Paths.Find(template)
	if item == nil || item.GetOperation(method) == nil {
		c.t.Fatalf("%s is not in the document", r.op)
	}
	path := template
	for name, value := range r.path {
		path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(value))
	}
	var body []byte
	contentType := ""
	switch {
	case r.json != nil:
		body, _ = json.Marshal(r.json)
		contentType = "application/json"
	case r.form != nil:
		body = []byte(r.form.Encode())
		contentType = "application/x-www-form-urlencoded"
	case r.raw != "":
		body = []byte(r.raw)
	}
	build := func() *http.Request {
		u := c.base + path
		if len(r.query) > 0 {
			u += "?" + r.query.Encode()
		}
		req, err := http.NewRequestWithContext(c.t.Context(), method, u, bytes.NewReader(body))
		if err != nil {
			c.t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for k, v := range r.header {
			req.Header.Set(k, v)
		}
		return req
	}
	client := r.client
	if client == nil {
		client = browser()
	}
	resp, err := client.Do(build())
	if err != nil {
		c.t.Fatalf("%s: %v", r.op, err)
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.t.Fatalf("%s: read the answer: %v", r.op, err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: respBody}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		dec := json.NewDecoder(bytes.NewReader(respBody))
		dec.UseNumber()
		dec.Decode(&a.json)
	}
	if a.status != want {
		c.t.Fatalf("%s %s: status %d, want %d; body: %.600s", method, path, a.status, want, respBody)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		c.t.Errorf("%s: no X-Request-Id header", r.op)
	}

	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	route := &routers.Route{Spec: c.doc, Path: template, PathItem: item, Method: method, Operation: item.GetOperation(method)}
	reqInput := &openapi3filter.RequestValidationInput{Request: build(), PathParams: r.path, QueryParams: r.query, Route: route, Options: opts}
	if !r.bad {
		if err := openapi3filter.ValidateRequest(c.t.Context(), reqInput); err != nil {
			c.t.Errorf("%s %s: the request does not match the document: %v", method, path, err)
		}
	}
	err = openapi3filter.ValidateResponse(c.t.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput, Status: a.status, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts,
	})
	if err != nil {
		c.t.Errorf("%s %s: answer %d does not match the document: %v\nbody: %.600s", method, path, a.status, err, respBody)
	}
	c.answers[r.op] = append(c.answers[r.op], a.status)
	return a
}

var (
	csrfField     = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	enrollSecret  = regexp.MustCompile(`id="secret">([A-Z2-7 ]+)<`)
	deviceFlowEnv = []string{"TMS_OAUTH_POLL_INTERVAL=1s", "TMS_LIMITS_MAX_BODY_BYTES=2048"}
)

// csrf returns the CSRF token of a page's form.
func csrf(t *testing.T, page answer) string {
	t.Helper()
	m := csrfField.FindSubmatch(page.body)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page.body)
	}
	return string(m[1])
}

// TestServerMatchesSpec runs a real server and sends every operation of the
// document valid and invalid requests, checking each answer against the
// document. Every operation must have been answered successfully at least
// once. At the end, no secret seen on the way may be in the audit log.
func TestServerMatchesSpec(t *testing.T) {
	doc := loadSpec(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The upstream sign-in routes need a real OpenID provider.
	opts := server.Options{Dev: true, Env: deviceFlowEnv, Listener: ln}
	upstreamOps := []string{"GET /v1/oauth2/upstream/{id}/start", "GET /v1/oauth2/upstream/{id}/callback",
		"GET /v1/oauth2/device/otp", "POST /v1/oauth2/device/otp"}
	withProvider := providertest.Missing() == ""
	if withProvider {
		opts.ConfigFile = specProvider(t, "http://"+ln.Addr().String())
		opts.Env = append([]string{"TMS_OAUTH_UPSTREAM_CAMPUS_CLIENT_SECRET=" + specProviderSecret}, deviceFlowEnv...)
	} else {
		t.Logf("not exercising %v: %s", upstreamOps, providertest.Missing())
	}
	srv := servertest.Start(t, opts)
	c := &checker{t: t, doc: doc, base: srv.URL, answers: map[string][]int{}, secrets: map[string]string{}}
	dev := srv.DevEnv(t)
	defaultSecret := servertest.AdminSecrets(srv.Stdout.String())["default"]
	if defaultSecret == "" {
		t.Fatalf("the server printed no administrator secret for the default tenant:\n%s", srv.Output)
	}
	testAdmin := map[string]string{"X-TMS-TENANT": "test", "X-TMS-ADMIN-ID": "~~admin",
		"X-TMS-ADMIN-SECRET": c.keep("test admin secret", dev["X_TMS_ADMIN_SECRET"])}
	defaultAdmin := map[string]string{"X-TMS-TENANT": "default", "X-TMS-ADMIN-ID": "~~admin",
		"X-TMS-ADMIN-SECRET": c.keep("default admin secret", defaultSecret)}
	client1 := map[string]string{"X-TMS-TENANT": "test", "X-TMS-CLIENT-ID": tms.TestClientID,
		"X-TMS-CLIENT-SECRET": c.keep("test client secret", tms.TestClientSecret)}
	wrongClient := map[string]string{"X-TMS-TENANT": "test", "X-TMS-CLIENT-ID": tms.TestClientID, "X-TMS-CLIENT-SECRET": "wrong"}
	jsonText := map[string]string{"Content-Type": "text/plain"}
	tooBig := `{"padding":"` + strings.Repeat("x", 4096) + `"}`

	run := func(name string, steps func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			c.t = t
			steps(t)
		})
		c.t = t
	}

	run("general", func(t *testing.T) {
		c.do(call{op: "GET /v1/tms/hello"}, 200)
		c.do(call{op: "GET /v1/tms/hello", query: url.Values{"name": {"tms"}}}, 200)
		c.do(call{op: "GET /v1/tms/version"}, 200)
		c.do(call{op: "GET /healthz"}, 200)
		c.do(call{op: "GET /readyz"}, 200)
		c.do(call{op: "GET /metrics"}, 200)
	})

	run("documentation", func(t *testing.T) {
		root := c.do(call{op: "GET /"}, 302)
		if root.header.Get("Location") != "/docs" {
			t.Errorf("GET / redirects to %q, want /docs", root.header.Get("Location"))
		}
		page := c.do(call{op: "GET /docs"}, 200)
		if !strings.Contains(page.header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("the documentation page has no content security policy")
		}
		c.do(call{op: "GET /docs", header: map[string]string{"If-None-Match": page.header.Get("ETag")}}, 304)
		for _, file := range []string{"swagger-ui.css", "swagger-ui-bundle.js", "init.js", "LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"} {
			c.do(call{op: "GET /docs/{file}", path: map[string]string{"file": file}}, 200)
		}
		c.do(call{op: "GET /docs/{file}", path: map[string]string{"file": "index.html"}, bad: true}, 404)
		yamlDoc := c.do(call{op: "GET /openapi.yaml"}, 200)
		jsonDoc := c.do(call{op: "GET /openapi.json"}, 200)
		// The served documents are the files, listing this server as the
		// server (server_urls left at its default).
		for _, d := range []struct {
			file   string
			served []byte
		}{{"openapi.yaml", yamlDoc.body}, {"openapi.json", jsonDoc.body}} {
			served, err := openapi3.NewLoader().LoadFromData(d.served)
			if err != nil {
				t.Fatalf("GET /%s: %v", d.file, err)
			}
			if len(served.Servers) != 1 || served.Servers[0].URL != srv.URL {
				t.Errorf("GET /%s lists the servers %+v, want %s", d.file, served.Servers, srv.URL)
			}
			onDisk := c.doc
			served.Servers = onDisk.Servers
			got, _ := json.Marshal(served)
			want, _ := json.Marshal(onDisk)
			if !bytes.Equal(got, want) {
				t.Errorf("GET /%s differs from %s in more than the servers", d.file, d.file)
			}
		}
	})

	var labAdmin map[string]string
	run("tenants", func(t *testing.T) {
		c.do(call{op: "GET /v1/tms/tenants/list"}, 400)
		c.do(call{op: "GET /v1/tms/tenants/list", header: defaultAdmin}, 200)
		c.do(call{op: "GET /v1/tms/tenants/{tenant}", path: map[string]string{"tenant": "test"}}, 200)
		c.do(call{op: "GET /v1/tms/tenants/{tenant}", path: map[string]string{"tenant": "nosuch"}}, 404)
		lab := c.do(call{op: "POST /v1/tms/tenants/{tenant}", path: map[string]string{"tenant": "lab"}, header: defaultAdmin}, 201)
		labAdmin = map[string]string{"X-TMS-TENANT": "lab", "X-TMS-ADMIN-ID": "~~admin", "X-TMS-ADMIN-SECRET": c.keep("lab admin secret", lab.str(t, "admin_secret"))}
		c.do(call{op: "POST /v1/tms/tenants/{tenant}", path: map[string]string{"tenant": "lab"}, header: defaultAdmin}, 409)
		c.do(call{op: "POST /v1/tms/tenants/{tenant}", path: map[string]string{"tenant": "lab2"}, header: testAdmin}, 403)
		c.do(call{op: "POST /v1/tms/tenants/{tenant}", path: map[string]string{"tenant": "lab2"},
			header: map[string]string{"X-TMS-TENANT": "default", "X-TMS-ADMIN-ID": "~~admin", "X-TMS-ADMIN-SECRET": "wrong"}}, 401)
		c.do(call{op: "PATCH /v1/tms/tenants/upd", header: labAdmin, json: map[string]any{"tenant": "lab", "enabled": true}}, 200)
		c.do(call{op: "PATCH /v1/tms/tenants/upd", header: labAdmin, json: map[string]any{"tenant": "test", "enabled": false}}, 403)
		c.do(call{op: "PATCH /v1/tms/tenants/upd", header: labAdmin, json: map[string]any{"tenant": "lab"}, bad: true}, 400)
		c.do(call{op: "PATCH /v1/tms/tenants/upd", header: merge(labAdmin, jsonText), raw: `{"tenant":"lab","enabled":true}`, bad: true}, 415)
		c.do(call{op: "PATCH /v1/tms/tenants/upd", header: merge(labAdmin, map[string]string{"Content-Type": "application/json"}), raw: tooBig, bad: true}, 413)
	})

	run("clients", func(t *testing.T) {
		created := c.do(call{op: "POST /v1/tms/client", header: testAdmin,
			json: map[string]any{"client_id": "client2", "tenant": "test", "app_name": "app2", "app_version": "2.0"}}, 201)
		client2 := map[string]string{"X-TMS-TENANT": "test", "X-TMS-CLIENT-ID": "client2",
			"X-TMS-CLIENT-SECRET": c.keep("client2 secret", created.str(t, "client_secret"))}
		c.do(call{op: "POST /v1/tms/client", header: testAdmin,
			json: map[string]any{"client_id": "client2", "tenant": "test", "app_name": "app2", "app_version": "2.0"}}, 409)
		c.do(call{op: "POST /v1/tms/client", header: testAdmin,
			json: map[string]any{"client_id": "client3", "tenant": "test", "app_name": "app3", "app_version": "not a version"}}, 400)
		c.do(call{op: "GET /v1/tms/client/list", header: testAdmin}, 200)
		c.do(call{op: "GET /v1/tms/client/list", header: client1}, 200)
		c.do(call{op: "GET /v1/tms/client/list", header: map[string]string{"X-TMS-ADMIN-SECRET": "x"}}, 400)
		c.do(call{op: "GET /v1/tms/client/{client_id}", path: map[string]string{"client_id": tms.TestClientID}, header: client1}, 200)
		c.do(call{op: "GET /v1/tms/client/{client_id}", path: map[string]string{"client_id": "client2"}, header: client1}, 403)
		c.do(call{op: "GET /v1/tms/client/{client_id}", path: map[string]string{"client_id": "nosuch"}, header: testAdmin}, 404)
		c.do(call{op: "GET /v1/tms/client/{client_id}", path: map[string]string{"client_id": tms.TestClientID}, header: wrongClient}, 401)
		c.do(call{op: "PATCH /v1/tms/client/upd/{client_id}", path: map[string]string{"client_id": "client2"}, header: client2,
			query: url.Values{"app_version": {"2.1"}}}, 200)
		c.do(call{op: "PATCH /v1/tms/client/upd/{client_id}", path: map[string]string{"client_id": "client2"}, header: client2,
			query: url.Values{"enabled": {"maybe"}}, bad: true}, 400)
		rotated := c.do(call{op: "PATCH /v1/tms/client/secret/{client_id}", path: map[string]string{"client_id": "client2"}, header: testAdmin}, 200)
		c.keep("client2 rotated secret", rotated.str(t, "client_secret"))
		c.do(call{op: "PATCH /v1/tms/client/secret/{client_id}", path: map[string]string{"client_id": "nosuch"}, header: testAdmin}, 404)
		c.do(call{op: "DELETE /v1/tms/client/del/{client_id}", path: map[string]string{"client_id": "client2"}, header: testAdmin}, 200)
		c.do(call{op: "DELETE /v1/tms/client/del/{client_id}", path: map[string]string{"client_id": "client2"}, header: client1}, 403)
	})

	var userHostID, delegationID string
	run("key dependencies", func(t *testing.T) {
		c.do(call{op: "POST /v1/tms/usermfa", header: testAdmin, json: map[string]any{"tenant": "test", "tms_user_id": "alice", "ttl_minutes": 60}}, 201)
		c.do(call{op: "POST /v1/tms/usermfa", header: testAdmin, json: map[string]any{"tenant": "test", "tms_user_id": "alice", "ttl_minutes": 60}}, 409)
		c.do(call{op: "POST /v1/tms/usermfa", header: testAdmin, json: map[string]any{"tenant": "lab", "tms_user_id": "alice", "ttl_minutes": 60}}, 403)
		c.do(call{op: "POST /v1/tms/usermfa", header: testAdmin, json: map[string]any{"tenant": "test", "tms_user_id": "alice", "ttl_minutes": 3e9}, bad: true}, 400)
		c.do(call{op: "GET /v1/tms/usermfa/list", header: testAdmin}, 200)
		c.do(call{op: "GET /v1/tms/usermfa/list", header: client1}, 401)
		c.do(call{op: "GET /v1/tms/usermfa/{tms_user_id}", path: map[string]string{"tms_user_id": "alice"}, header: testAdmin}, 200)
		c.do(call{op: "GET /v1/tms/usermfa/{tms_user_id}", path: map[string]string{"tms_user_id": "nobody"}, header: testAdmin}, 404)
		c.do(call{op: "PATCH /v1/tms/usermfa/upd", header: testAdmin, json: map[string]any{"tenant": "test", "tms_user_id": "alice", "enabled": true}}, 200)

		uh := map[string]any{"tenant": "test", "tms_user_id": "alice", "host": "login1", "host_account": "alice", "ttl_minutes": 60}
		c.do(call{op: "POST /v1/tms/userhosts", header: testAdmin, json: uh}, 201)
		c.do(call{op: "POST /v1/tms/userhosts", header: testAdmin, json: uh}, 409)
		c.do(call{op: "POST /v1/tms/userhosts", header: testAdmin, json: map[string]any{"tenant": "test", "tms_user_id": "nobody", "host": "h", "host_account": "a", "ttl_minutes": 1}}, 404)
		list := c.do(call{op: "GET /v1/tms/userhosts/list", header: testAdmin}, 200)
		userHostID = idOf(t, list, "users", "tms_user_id", "alice")
		c.do(call{op: "GET /v1/tms/userhosts/{id}", path: map[string]string{"id": userHostID}, header: testAdmin}, 200)
		c.do(call{op: "GET /v1/tms/userhosts/{id}", path: map[string]string{"id": "99999"}, header: testAdmin}, 404)
		c.do(call{op: "GET /v1/tms/userhosts/{id}", path: map[string]string{"id": "x"}, header: testAdmin, bad: true}, 400)
		c.do(call{op: "PATCH /v1/tms/userhosts/upd", header: testAdmin, json: uh}, 200)

		dg := map[string]any{"tenant": "test", "client_id": tms.TestClientID, "client_user_id": "alice", "ttl_minutes": 60}
		c.do(call{op: "POST /v1/tms/delegations", header: testAdmin, json: dg}, 201)
		c.do(call{op: "POST /v1/tms/delegations", header: testAdmin, json: dg}, 409)
		c.do(call{op: "POST /v1/tms/delegations", header: testAdmin, json: map[string]any{"tenant": "test", "client_id": "nosuch", "client_user_id": "alice", "ttl_minutes": 1}}, 404)
		list = c.do(call{op: "GET /v1/tms/delegations/list", header: testAdmin}, 200)
		delegationID = idOf(t, list, "users", "client_user_id", "alice")
		c.do(call{op: "GET /v1/tms/delegations/{id}", path: map[string]string{"id": delegationID}, header: testAdmin}, 200)
		c.do(call{op: "GET /v1/tms/delegations/{id}", path: map[string]string{"id": "99999"}, header: testAdmin}, 404)
		c.do(call{op: "PATCH /v1/tms/delegations/upd", header: testAdmin, json: dg}, 200)

		host := map[string]any{"tenant": "test", "host": "login1", "addr": "192.0.2.1"}
		c.do(call{op: "POST /v1/tms/hosts", header: testAdmin, json: host}, 201)
		c.do(call{op: "POST /v1/tms/hosts", header: testAdmin, json: host}, 409)
		list = c.do(call{op: "GET /v1/tms/hosts/list", header: testAdmin}, 200)
		c.do(call{op: "GET /v1/tms/hosts/{id}", path: map[string]string{"id": idOf(t, list, "users", "host", "login1")}, header: testAdmin}, 200)
		c.do(call{op: "GET /v1/tms/hosts/{id}", path: map[string]string{"id": "99999"}, header: testAdmin}, 404)
		c.do(call{op: "DELETE /v1/tms/hosts/del", header: testAdmin, json: host}, 200)

		cred := c.do(call{op: "POST /v1/tms/hosts/credentials", header: testAdmin, json: map[string]any{"tenant": "test", "host": "login1"}}, 201)
		c.keep("host secret", cred.str(t, "host_secret"))
		c.do(call{op: "POST /v1/tms/hosts/credentials", header: testAdmin, json: map[string]any{"tenant": "test", "host": "login1"}}, 409)
		c.do(call{op: "GET /v1/tms/hosts/credentials/list", header: testAdmin}, 200)
		c.do(call{op: "DELETE /v1/tms/hosts/credentials/del", header: testAdmin, json: map[string]any{"tenant": "test", "host": "login1"}}, 200)
	})

	var fingerprint, keyID string
	run("keys", func(t *testing.T) {
		body := map[string]any{"client_user_id": "alice", "host": "login1", "host_account": "alice", "num_uses": 5, "ttl_minutes": 60}
		key := c.do(call{op: "POST /v1/tms/pubkeys/creds", header: client1, json: body}, 201)
		fingerprint = key.str(t, "public_key_fingerprint")
		c.keep("private key", key.str(t, "private_key"))
		c.do(call{op: "POST /v1/tms/pubkeys/creds", header: client1, json: with(body, "key_type", "dsa")}, 400)
		c.do(call{op: "POST /v1/tms/pubkeys/creds", header: wrongClient, json: body}, 401)
		c.do(call{op: "POST /v1/tms/pubkeys/creds", header: testAdmin, json: body}, 400)
		c.do(call{op: "POST /v1/tms/pubkeys/creds", header: client1, json: with(body, "num_uses", "five"), bad: true}, 400)

		lookup := map[string]any{"user": "alice", "user_uid": "1001", "host": "login1", "public_key_fingerprint": fingerprint, "key_type": "ssh-ed25519"}
		c.do(call{op: "POST /v1/tms/pubkeys/creds/retrieve", json: lookup}, 200)
		c.do(call{op: "POST /v1/tms/pubkeys/creds/retrieve", json: with(lookup, "public_key_fingerprint", "SHA256:nosuchkey")}, 404)
		c.do(call{op: "POST /v1/tms/pubkeys/creds/retrieve", json: map[string]any{"user": "alice"}, bad: true}, 400)

		list := c.do(call{op: "GET /v1/tms/pubkeys/list", header: client1}, 200)
		keyID = idOf(t, list, "pubkeys", "public_key_fingerprint", fingerprint)
		c.do(call{op: "GET /v1/tms/pubkeys/id/{seqno}", path: map[string]string{"seqno": keyID}, header: testAdmin}, 200)
		c.do(call{op: "GET /v1/tms/pubkeys/id/{seqno}", path: map[string]string{"seqno": "99999"}, header: client1}, 404)
		c.do(call{op: "GET /v1/tms/pubkeys/id/{seqno}", path: map[string]string{"seqno": "first"}, header: client1, bad: true}, 400)
		keyRef := map[string]any{"client_id": tms.TestClientID, "tenant": "test", "host": "login1", "public_key_fingerprint": fingerprint}
		c.do(call{op: "PATCH /v1/tms/pubkeys", header: client1, json: with(keyRef, "max_uses", 10)}, 200)
		c.do(call{op: "PATCH /v1/tms/pubkeys", header: client1, json: with(with(keyRef, "tenant", "lab"), "max_uses", 10)}, 403)
		c.do(call{op: "PATCH /v1/tms/pubkeys", header: client1, json: with(with(keyRef, "public_key_fingerprint", "SHA256:x"), "ttl_minutes", 10)}, 404)

		res := c.do(call{op: "POST /v1/tms/reservations", header: client1,
			json: map[string]any{"client_user_id": "alice", "host": "login1", "public_key_fingerprint": fingerprint, "ttl_minutes": 60}}, 201)
		resID := res.str(t, "resid")
		c.do(call{op: "POST /v1/tms/reservations", header: client1,
			json: map[string]any{"client_user_id": "alice", "host": "login1", "public_key_fingerprint": "SHA256:x", "ttl_minutes": 60}}, 404)
		c.do(call{op: "POST /v1/tms/reservations/extend", header: client1,
			json: map[string]any{"client_user_id": "alice", "host": "login1", "public_key_fingerprint": fingerprint, "parent_resid": resID}}, 201)
		c.do(call{op: "POST /v1/tms/reservations/extend", header: client1,
			json: map[string]any{"client_user_id": "alice", "host": "login1", "public_key_fingerprint": fingerprint, "parent_resid": "nosuch"}}, 404)
		resPath := map[string]string{"client_id": tms.TestClientID, "resid": resID}
		c.do(call{op: "GET /v1/tms/reservations/{client_id}/{resid}", path: resPath, header: client1}, 200)
		c.do(call{op: "GET /v1/tms/reservations/{client_id}/{resid}", path: map[string]string{"client_id": tms.TestClientID, "resid": "nosuch"}, header: client1}, 404)
		c.do(call{op: "DELETE /v1/tms/reservations/del/related/{client_id}/{resid}", path: resPath, header: client1}, 200)
		c.do(call{op: "DELETE /v1/tms/reservations/del/{client_id}/{resid}", path: resPath, header: client1}, 200)
		c.do(call{op: "DELETE /v1/tms/reservations/del/{client_id}/{resid}", path: map[string]string{"client_id": "other", "resid": resID}, header: client1}, 403)

		c.do(call{op: "DELETE /v1/tms/pubkeys/del", header: client1, json: keyRef}, 200)
		c.do(call{op: "DELETE /v1/tms/pubkeys/del", header: wrongClient, json: keyRef}, 401)
	})

	run("users", func(t *testing.T) {
		c.do(call{op: "POST /v1/tms/users", header: testAdmin, json: map[string]any{"username": "bob", "password": c.keep("bob password", "correct horse battery")}}, 201)
		c.do(call{op: "POST /v1/tms/users", header: testAdmin, json: map[string]any{"username": "bob", "password": "correct horse battery"}}, 409)
		c.do(call{op: "POST /v1/tms/users", header: testAdmin, json: map[string]any{"username": "-bad name", "password": "correct horse battery"}}, 400)
		c.do(call{op: "POST /v1/tms/users", header: testAdmin, json: map[string]any{"username": "carol", "password": c.keep("carol password", "carol's long password")}}, 201)
		c.do(call{op: "GET /v1/tms/users/list", header: testAdmin}, 200)
		c.do(call{op: "GET /v1/tms/users/{username}", path: map[string]string{"username": "bob"}, header: testAdmin}, 200)
		c.do(call{op: "GET /v1/tms/users/{username}", path: map[string]string{"username": "nobody"}, header: testAdmin}, 404)
		c.do(call{op: "PATCH /v1/tms/users/upd", header: testAdmin, json: map[string]any{"username": "bob", "password": c.keep("bob new password", "another long password")}}, 200)
		c.do(call{op: "PATCH /v1/tms/users/upd", header: testAdmin, json: map[string]any{"username": "nobody", "enabled": false}}, 404)
		totp := c.do(call{op: "POST /v1/tms/users/{username}/totp", path: map[string]string{"username": "bob"}, header: testAdmin}, 201)
		c.keep("bob TOTP secret", totp.str(t, "secret"))
		c.do(call{op: "POST /v1/tms/users/{username}/totp", path: map[string]string{"username": "nobody"}, header: testAdmin}, 404)
		c.do(call{op: "DELETE /v1/tms/users/del/{username}", path: map[string]string{"username": "bob"}, header: testAdmin}, 200)

		c.do(call{op: "POST /v1/tms/oauthclients", header: testAdmin, json: map[string]any{"client_id": "portal", "app_name": "portal", "app_version": "1.0"}}, 201)
		c.do(call{op: "POST /v1/tms/oauthclients", header: testAdmin, json: map[string]any{"client_id": "portal", "app_name": "portal", "app_version": "1.0"}}, 409)
		c.do(call{op: "GET /v1/tms/oauthclients/list", header: testAdmin}, 200)
	})

	run("device flow", func(t *testing.T) {
		c.do(call{op: "GET /.well-known/oauth-authorization-server"}, 200)
		start := url.Values{"client_id": {"tms-cli"}, "tenant": {"test"}}
		grant := c.do(call{op: "POST /v1/oauth2/device/code", form: start}, 200)
		deviceCode := c.keep("device code", grant.str(t, "device_code"))
		userCode := c.keep("user code", grant.str(t, "user_code"))
		c.do(call{op: "POST /v1/oauth2/device/code", form: url.Values{"tenant": {"test"}}, bad: true}, 400)
		c.do(call{op: "POST /v1/oauth2/device/code", form: url.Values{"client_id": {"tms-cli"}, "client_secret": {"x"}}, bad: true}, 401)
		poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {deviceCode}, "client_id": {"tms-cli"}}
		pending := c.do(call{op: "POST /v1/oauth2/token", form: poll}, 400)
		if pending.str(t, "error") != "authorization_pending" {
			t.Fatalf("first poll: %s", pending.body)
		}
		c.do(call{op: "POST /v1/oauth2/token", form: url.Values{"grant_type": {"password"}, "client_id": {"tms-cli"}}, bad: true}, 400)

		// The user, in a browser.
		b := browser()
		page := c.do(call{op: "GET /v1/oauth2/device", client: b}, 200)
		c.keep("csrf token", csrf(t, page))
		c.do(call{op: "GET /v1/oauth2/device", query: url.Values{"tenant": {"test"}, "user_code": {userCode}}, client: b}, 200)
		c.do(call{op: "POST /v1/oauth2/device", form: url.Values{"csrf": {"forged"}, "user_code": {userCode}}, client: b}, 403)
		c.do(call{op: "POST /v1/oauth2/device", form: url.Values{"csrf": {csrf(t, page)}, "user_code": {"AEIO-UAEI"}}, client: b}, 400)
		next := c.do(call{op: "POST /v1/oauth2/device", form: url.Values{"csrf": {csrf(t, page)}, "user_code": {userCode}}, client: b}, 303)
		if !strings.Contains(next.header.Get("Location"), "/v1/oauth2/device/signin") {
			t.Fatalf("after the code: Location %q", next.header.Get("Location"))
		}
		signIn := c.do(call{op: "GET /v1/oauth2/device/signin", query: url.Values{"user_code": {userCode}}, client: b}, 200)
		wrong := url.Values{"csrf": {csrf(t, signIn)}, "user_code": {userCode}, "username": {dev["TMS_DEV_USER"]}, "password": {"wrong password"}, "otp": {"000000"}}
		c.do(call{op: "POST /v1/oauth2/device/signin", form: wrong, client: b}, 401)
		code, err := tms.TOTPCode(c.keep("dev TOTP secret", dev["TMS_DEV_TOTP_SECRET"]), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		right := url.Values{"csrf": {csrf(t, signIn)}, "user_code": {userCode}, "username": {dev["TMS_DEV_USER"]},
			"password": {c.keep("dev password", dev["TMS_DEV_PASSWORD"])}, "otp": {code}}
		next = c.do(call{op: "POST /v1/oauth2/device/signin", form: right, client: b}, 303)
		if !strings.Contains(next.header.Get("Location"), "/v1/oauth2/device/consent") {
			t.Fatalf("after signing in: Location %q", next.header.Get("Location"))
		}
		consent := c.do(call{op: "GET /v1/oauth2/device/consent", query: url.Values{"user_code": {userCode}}, client: b}, 200)
		c.do(call{op: "POST /v1/oauth2/device/consent", form: url.Values{"csrf": {csrf(t, consent)}, "user_code": {userCode}, "action": {"maybe"}}, client: b, bad: true}, 400)
		c.do(call{op: "POST /v1/oauth2/device/consent", form: url.Values{"csrf": {csrf(t, consent)}, "user_code": {userCode}, "action": {"approve"}, "days": {"7"}}, client: b}, 200)
		c.do(call{op: "POST /v1/oauth2/device/consent", form: url.Values{"csrf": {csrf(t, consent)}, "user_code": {userCode}, "action": {"approve"}, "days": {"7"}}, client: b}, 409)

		// An approved code answers at once, however soon after the last
		// poll.
		tokens := c.do(call{op: "POST /v1/oauth2/token", form: poll}, 200)
		c.keep("access token", tokens.str(t, "access_token"))
		refresh := c.keep("refresh token", tokens.str(t, "refresh_token"))
		c.do(call{op: "POST /v1/oauth2/token", form: poll}, 400)
		refreshed := c.do(call{op: "POST /v1/oauth2/token", form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {"tms-cli"}}}, 200)
		c.keep("refreshed refresh token", refreshed.str(t, "refresh_token"))
		refresh = c.keep("refreshed refresh token", refreshed.str(t, "refresh_token"))

		// The issuer of tenant test: its metadata and endpoints; another
		// tenant's endpoints know nothing of its tokens.
		testIssuer := map[string]string{"tenant": "test"}
		c.do(call{op: "GET /.well-known/oauth-authorization-server/v1/oauth2/tenants/{tenant}", path: testIssuer}, 200)
		c.do(call{op: "GET /.well-known/oauth-authorization-server/v1/oauth2/tenants/{tenant}", path: map[string]string{"tenant": "nosuch"}}, 404)
		c.do(call{op: "POST /v1/oauth2/tenants/{tenant}/device/code", path: testIssuer, form: url.Values{"client_id": {"tms-cli"}}}, 200)
		c.do(call{op: "POST /v1/oauth2/tenants/{tenant}/device/code", path: map[string]string{"tenant": "nosuch"},
			form: url.Values{"client_id": {"tms-cli"}}}, 404)
		refreshGrant := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {"tms-cli"}}
		c.do(call{op: "POST /v1/oauth2/tenants/{tenant}/token", path: map[string]string{"tenant": "default"}, form: refreshGrant}, 400)
		refreshed = c.do(call{op: "POST /v1/oauth2/tenants/{tenant}/token", path: testIssuer, form: refreshGrant}, 200)
		access := c.keep("access token of tenant test", refreshed.str(t, "access_token"))
		c.do(call{op: "POST /v1/oauth2/tenants/{tenant}/revoke", path: map[string]string{"tenant": "default"},
			form: url.Values{"token": {access}, "client_id": {"tms-cli"}}}, 200)

		bearer := map[string]string{"Authorization": "Bearer " + access}
		c.do(call{op: "GET /v1/tms/user/me", header: bearer}, 200)
		c.do(call{op: "GET /v1/tms/user/me"}, 401)
		c.do(call{op: "GET /v1/tms/user/me", header: map[string]string{"Authorization": "Bearer not-a-token"}}, 401)
		key := c.do(call{op: "POST /v1/tms/user/keys", header: bearer,
			json: map[string]any{"host": tms.TestHost, "host_account": tms.TestHostAccount, "num_uses": 1, "ttl_minutes": 60}}, 201)
		c.keep("user's private key", key.str(t, "private_key"))
		c.do(call{op: "POST /v1/tms/user/keys", header: bearer,
			json: map[string]any{"host": "elsewhere", "host_account": "nobody", "num_uses": 1, "ttl_minutes": 60}}, 403)
		c.do(call{op: "GET /v1/tms/user/keys", header: bearer}, 200)
		fp := map[string]string{"fingerprint": key.str(t, "public_key_fingerprint")}
		c.do(call{op: "DELETE /v1/tms/user/keys/{fingerprint}", path: fp, header: bearer, bad: true}, 400)
		c.do(call{op: "DELETE /v1/tms/user/keys/{fingerprint}", path: fp, header: bearer, query: url.Values{"host": {tms.TestHost}}}, 200)
		c.do(call{op: "DELETE /v1/tms/user/keys/{fingerprint}", path: fp, header: bearer, query: url.Values{"host": {tms.TestHost}}}, 404)
		c.do(call{op: "GET /v1/tms/user/delegations", header: bearer}, 200)
		c.do(call{op: "DELETE /v1/tms/user/delegations/{client_id}", path: map[string]string{"client_id": "portal"}, header: bearer}, 404)
		c.do(call{op: "DELETE /v1/tms/user/delegations/{client_id}", path: map[string]string{"client_id": "tms-cli"}, header: bearer}, 200)
		c.do(call{op: "POST /v1/oauth2/tenants/{tenant}/revoke", path: testIssuer, form: url.Values{"token": {access}, "client_id": {"tms-cli"}}}, 200)
		c.do(call{op: "POST /v1/oauth2/revoke", form: url.Values{"token": {access}, "client_id": {"tms-cli"}}}, 200)
		c.do(call{op: "POST /v1/oauth2/revoke", form: url.Values{"client_id": {"tms-cli"}}, header: map[string]string{"Authorization": "Basic dG1zLWNsaTp4"}, bad: true}, 401)
		c.do(call{op: "GET /v1/tms/user/delegations", header: bearer}, 401)

		// A second device, for a user who sets up TOTP on the way, and
		// denies.
		grant = c.do(call{op: "POST /v1/oauth2/device/code", form: start}, 200)
		deviceCode = c.keep("second device code", grant.str(t, "device_code"))
		userCode = c.keep("second user code", grant.str(t, "user_code"))
		b = browser()
		signIn = c.do(call{op: "GET /v1/oauth2/device/signin", query: url.Values{"user_code": {userCode}}, client: b}, 200)
		next = c.do(call{op: "POST /v1/oauth2/device/signin", client: b, form: url.Values{"csrf": {csrf(t, signIn)}, "user_code": {userCode},
			"username": {"carol"}, "password": {"carol's long password"}, "otp": {""}}}, 303)
		if !strings.Contains(next.header.Get("Location"), "/v1/oauth2/device/enroll") {
			t.Fatalf("first sign-in: Location %q", next.header.Get("Location"))
		}
		enroll := c.do(call{op: "GET /v1/oauth2/device/enroll", query: url.Values{"user_code": {userCode}}, client: b}, 200)
		m := enrollSecret.FindSubmatch(enroll.body)
		if m == nil {
			t.Fatalf("no TOTP secret on the enrolment page:\n%s", enroll.body)
		}
		secret := c.keep("carol TOTP secret", strings.ReplaceAll(string(m[1]), " ", ""))
		c.do(call{op: "POST /v1/oauth2/device/enroll", client: b, form: url.Values{"csrf": {csrf(t, enroll)}, "user_code": {userCode}, "otp": {"12345"}}}, 400)
		code, err = tms.TOTPCode(secret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		c.do(call{op: "POST /v1/oauth2/device/enroll", client: b, form: url.Values{"csrf": {csrf(t, enroll)}, "user_code": {userCode}, "otp": {code}}}, 303)
		consent = c.do(call{op: "GET /v1/oauth2/device/consent", query: url.Values{"user_code": {userCode}}, client: b}, 200)
		c.do(call{op: "POST /v1/oauth2/device/consent", client: b, form: url.Values{"csrf": {csrf(t, consent)}, "user_code": {userCode}, "action": {"deny"}}}, 200)
		denied := c.do(call{op: "POST /v1/oauth2/token", form: url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
			"device_code": {deviceCode}, "client_id": {"tms-cli"}}}, 400)
		if denied.str(t, "error") != "access_denied" {
			t.Fatalf("poll after a denial: %s", denied.body)
		}
		c.do(call{op: "GET /v1/oauth2/device/enroll", query: url.Values{"user_code": {"AEIO-UAEI"}}, client: b}, 400)
		c.do(call{op: "GET /v1/oauth2/device/enroll", query: url.Values{"user_code": {"BCDF-GHJK"}}, client: b}, 403)
	})

	run("upstream sign-in", func(t *testing.T) {
		if !withProvider {
			needtest.Missing(t, providertest.Missing())
		}
		// An administrator admits the provider's user ahead and gives it
		// a TOTP secret, so the sign-in asks for its code.
		c.do(call{op: "POST /v1/tms/users", header: testAdmin, json: map[string]any{"username": "dora", "origin": "upstream:campus"}}, 201)
		c.do(call{op: "POST /v1/tms/users", header: testAdmin, json: map[string]any{"username": "erin", "origin": "upstream:elsewhere"}}, 400)
		c.do(call{op: "POST /v1/tms/users", header: testAdmin, json: map[string]any{"username": "erin", "origin": "upstream:campus", "password": "a long password"}}, 400)
		secret := c.do(call{op: "POST /v1/tms/users/{username}/totp", path: map[string]string{"username": "dora"}, header: testAdmin}, 201)
		totpSecret := c.keep("dora's TOTP secret", secret.str(t, "secret"))

		grant := c.do(call{op: "POST /v1/oauth2/device/code", form: url.Values{"client_id": {"tms-cli"}, "tenant": {"test"}}}, 200)
		c.keep("upstream device code", grant.str(t, "device_code"))
		userCode := c.keep("upstream user code", grant.str(t, "user_code"))
		b := browser()
		// Discovery runs in the background from the start.
		var start *url.URL
		clocktest.Eventually(t, "the provider's button", func() bool {
			page := c.do(call{op: "GET /v1/oauth2/device/signin", query: url.Values{"user_code": {userCode}}, client: b}, 200)
			m := startLink.FindSubmatch(page.body)
			if m != nil {
				start, _ = url.Parse(html.UnescapeString(string(m[1])))
			}
			return m != nil
		})
		campus := map[string]string{"id": "campus"}
		c.do(call{op: "GET /v1/oauth2/upstream/{id}/start", path: map[string]string{"id": "nope"}, query: start.Query(), client: b}, 404)
		toProvider := c.do(call{op: "GET /v1/oauth2/upstream/{id}/start", path: campus, query: start.Query(), client: b}, 303)
		callback := providerSignIn(t, b, toProvider.header.Get("Location"), "u-dora", specProviderPassword)
		q := callback.Query()
		c.keep("authorization code", q.Get("code"))
		bogus := url.Values{"state": {"forged"}, "code": {"x"}}
		c.do(call{op: "GET /v1/oauth2/upstream/{id}/callback", path: campus, query: bogus, client: b}, 400)
		next := c.do(call{op: "GET /v1/oauth2/upstream/{id}/callback", path: campus, query: q, client: b}, 303)
		if !strings.Contains(next.header.Get("Location"), "/v1/oauth2/device/otp") {
			t.Fatalf("after the provider: Location %q", next.header.Get("Location"))
		}
		otp := c.do(call{op: "GET /v1/oauth2/device/otp", query: url.Values{"user_code": {userCode}}, client: b}, 200)
		c.do(call{op: "GET /v1/oauth2/device/otp", query: url.Values{"user_code": {userCode}}}, 403)
		c.do(call{op: "POST /v1/oauth2/device/otp", client: b, form: url.Values{"csrf": {csrf(t, otp)}, "user_code": {userCode}, "otp": {"12345"}}}, 400)
		code, err := tms.TOTPCode(totpSecret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		c.do(call{op: "POST /v1/oauth2/device/otp", client: b, form: url.Values{"csrf": {csrf(t, otp)}, "user_code": {userCode}, "otp": {code}}}, 303)
		c.do(call{op: "GET /v1/oauth2/device/consent", query: url.Values{"user_code": {userCode}}, client: b}, 200)
	})

	run("audit", func(t *testing.T) {
		c.do(call{op: "GET /v1/tms/audit/list", header: testAdmin}, 200)
		c.do(call{op: "GET /v1/tms/audit/list", header: testAdmin, query: url.Values{"type": {"key.create"}, "limit": {"5"}, "from": {"2020-01-01T00:00:00Z"}}}, 200)
		c.do(call{op: "GET /v1/tms/audit/list", header: testAdmin, query: url.Values{"limit": {"0"}}, bad: true}, 400)
		c.do(call{op: "GET /v1/tms/audit/list", header: client1}, 401)
		c.do(call{op: "GET /v1/tms/audit/list", header: testAdmin, query: url.Values{"no_tenant": {"true"}}}, 403)
		c.do(call{op: "GET /v1/tms/audit/list", header: defaultAdmin, query: url.Values{"no_tenant": {"true"}}}, 200)
	})

	run("removals", func(t *testing.T) {
		c.do(call{op: "DELETE /v1/tms/delegations/del", header: testAdmin, json: map[string]any{"tenant": "test", "client_id": tms.TestClientID, "client_user_id": "alice"}}, 200)
		c.do(call{op: "DELETE /v1/tms/userhosts/del", header: testAdmin, json: map[string]any{"tenant": "test", "tms_user_id": "alice", "host": "login1", "host_account": "alice"}}, 200)
		c.do(call{op: "DELETE /v1/tms/usermfa/del/{tms_user_id}", path: map[string]string{"tms_user_id": "alice"}, header: testAdmin}, 200)
		c.do(call{op: "DELETE /v1/tms/tenants/del/{tenant}", path: map[string]string{"tenant": "test"}, header: testAdmin}, 409)
		c.do(call{op: "DELETE /v1/tms/tenants/del/{tenant}", path: map[string]string{"tenant": "test"}, header: labAdmin}, 403)
		c.do(call{op: "DELETE /v1/tms/tenants/wipe/{tenant}", path: map[string]string{"tenant": "lab"}, header: labAdmin}, 200)
		empty := c.do(call{op: "POST /v1/tms/tenants/{tenant}", path: map[string]string{"tenant": "empty"}, header: defaultAdmin}, 201)
		emptyAdmin := map[string]string{"X-TMS-TENANT": "empty", "X-TMS-ADMIN-ID": "~~admin", "X-TMS-ADMIN-SECRET": c.keep("empty admin secret", empty.str(t, "admin_secret"))}
		c.do(call{op: "DELETE /v1/tms/tenants/del/{tenant}", path: map[string]string{"tenant": "empty"}, header: emptyAdmin}, 200)
	})

	for _, op := range specRoutes(doc) {
		if !withProvider && slices.Contains(upstreamOps, op) {
			continue
		}
		statuses := c.answers[op]
		ok := false
		for _, s := range statuses {
			ok = ok || s < 400
		}
		if !ok {
			t.Errorf("%s: never answered successfully (answers: %v); exercise it in this test", op, statuses)
		}
	}

	srv.Stop(t) // flushes the audit log
	checkAuditLog(t, srv, c.secrets)
}

// checkAuditLog reads the whole audit log of the stopped server: it must
// hold the events of the session and none of its secrets.
func checkAuditLog(t *testing.T, srv *servertest.Server, secrets map[string]string) {
	st, err := server.OpenStore(t.Context(), server.StoreOptions{RootDir: srv.Root, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var events []store.AuditEvent
	for _, tenant := range []string{"", "default", "test", "lab", "empty"} {
		list, err := st.ListAudit(t.Context(), store.AuditQuery{Tenant: tenant, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, list...)
	}
	raw, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range secrets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if bytes.Contains(raw, []byte(secrets[name])) {
			t.Errorf("the audit log contains the %s", name)
		}
	}
	if bytes.Contains(raw, []byte("PRIVATE KEY")) {
		t.Error("the audit log contains a private key")
	}

	seen := map[string]bool{}
	for _, e := range events {
		seen[e.Type+"/"+e.Outcome] = true
	}
	for _, want := range []string{
		"key.create/success", "key.retrieve/success", "key.retrieve/refused", "auth.failure/denied", "key.delete/success",
		"client.create/success", "client.secret_rotate/success", "tenant.create/success", "tenant.wipe/success",
		"user.create/success", "user.login/success", "user.totp_enroll/success", "device.start/success",
		"device.approve/success", "device.deny/success", "token.issue/success", "token.revoke/success",
		"user.delegation_revoke/success", "user.delegation_revoke/refused", "usermfa.delete/success",
	} {
		if !seen[want] {
			t.Errorf("the audit log has no %s event", want)
		}
	}
	for _, e := range events {
		if e.Type == "request" {
			t.Errorf("a change has no audit type of its own (add its route to auditTypes in internal/api/audit.go): %+v", e)
		}
		if e.Type == "user.login" && e.Outcome == "success" && (e.User == "" || e.Tenant != "test" || e.ClientID != "tms-cli") {
			t.Errorf("sign-in event without its user, tenant or client: %+v", e)
		}
		if (e.Type == "device.approve" || e.Type == "device.deny") && (e.User == "" || e.ClientID != "tms-cli") {
			t.Errorf("device decision without its user: %+v", e)
		}
	}
}

// idOf returns the id of the element of list field whose key is value.
func idOf(t *testing.T, a answer, field, key, value string) string {
	t.Helper()
	list, _ := a.json[field].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		if m[key] == value {
			return fmt.Sprint(m["id"])
		}
	}
	t.Fatalf("no element with %s %q in %s: %s", key, value, field, a.body)
	return ""
}

// with returns a copy of m with field set to v.
func with(m map[string]any, field string, v any) map[string]any {
	out := map[string]any{}
	for k, x := range m {
		out[k] = x
	}
	out[field] = v
	return out
}

// merge returns the headers of a and b together.
func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// The client secret and the user's password at the provider of the
// upstream sign-in routes.
const (
	specProviderSecret   = "campus client secret"
	specProviderPassword = "dora's provider password"
)

var startLink = regexp.MustCompile(`href="([^"]*/v1/oauth2/upstream/campus/start[^"]*)"`)

// specProvider starts a real OpenID provider whose client "tms" has its
// redirect URI under base, and returns a configuration file with it as the
// upstream provider "campus" of tenant test.
func specProvider(t *testing.T, base string) string {
	t.Helper()
	p := providertest.Start(t, providertest.Options{
		Clients: []providertest.Client{{ID: "tms", Secret: specProviderSecret, RedirectURIs: []string{base + "/v1/oauth2/upstream/campus/callback"}}},
		Accounts: []providertest.Account{{ID: "u-dora", Password: specProviderPassword, AMR: []string{"pwd"},
			Claims: map[string]any{"preferred_username": "dora"}}},
	})
	path := filepath.Join(t.TempDir(), "tms.toml")
	conf := fmt.Sprintf("[[oauth.upstream]]\nid = \"campus\"\ntenant = \"test\"\nname = \"Campus sign-in\"\nissuer = %q\nclient_id = \"tms\"\ncreate_users = false\n", p.Issuer)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// providerSignIn follows the redirect to the provider with the browser's
// cookies, signs in on its login page and returns the callback URL the
// provider sends the browser back to.
func providerSignIn(t *testing.T, b *http.Client, location, username, password string) *url.URL {
	t.Helper()
	pc := &http.Client{Jar: b.Jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasSuffix(req.URL.Path, "/callback") {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := pc.Get(location)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp = providertest.SubmitLogin(t, pc, resp.Request.URL, page, username, password)
	resp.Body.Close()
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasSuffix(u.Path, "/v1/oauth2/upstream/campus/callback") {
		t.Fatalf("the provider did not send the browser back: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return u
}
