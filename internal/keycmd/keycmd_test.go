package keycmd_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tmsproject/tms/internal/keycmd"
)

// returnGuard is how long a test waits for a call that must end on its own
// before declaring it hung. It is a hang detector, not a timing check.
const returnGuard = 30 * time.Second

// testKey is a public key as TMS stores it.
type testKey struct {
	line        string // "ssh-ed25519 AAAA..."
	fingerprint string // "SHA256:..."
}

func newTestKey(tb testing.TB) testKey {
	tb.Helper()
	public, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		tb.Fatal(err)
	}
	key, err := ssh.NewPublicKey(public)
	if err != nil {
		tb.Fatal(err)
	}
	return testKey{
		line:        strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(key)), "\n"),
		fingerprint: ssh.FingerprintSHA256(key),
	}
}

// retrieveServer stands in for the TMS retrieve endpoint: it records each
// request and answers with a fixed status and body.
type retrieveServer struct {
	status int
	body   string

	mu       sync.Mutex
	requests []recordedRequest
}

type recordedRequest struct {
	method, path, contentType string
	body                      map[string]any
}

func (s *retrieveServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	rec := recordedRequest{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type")}
	_ = json.Unmarshal(raw, &rec.body)
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(s.status)
	io.WriteString(w, s.body)
}

func (s *retrieveServer) recorded() []recordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recordedRequest(nil), s.requests...)
}

func okBody(publicKey string) string {
	body, _ := json.Marshal(map[string]string{"public_key": publicKey, "result_code": "0", "result_msg": "success"})
	return string(body)
}

const retrievePath = "/v1/tms/pubkeys/creds/retrieve"

func configFor(tb testing.TB, serverURL string, timeout time.Duration) keycmd.Config {
	tb.Helper()
	u, err := url.Parse(serverURL + retrievePath)
	if err != nil {
		tb.Fatal(err)
	}
	return keycmd.Config{URL: u, HostName: "login1", Timeout: timeout}
}

func requestFor(key testKey) keycmd.Request {
	return keycmd.Request{User: "alice", UID: 1000, Fingerprint: key.fingerprint, KeyType: "ssh-ed25519"}
}

func TestLookupSendsTheRustWireRequest(t *testing.T) {
	key := newTestKey(t)
	fake := &retrieveServer{status: http.StatusOK, body: okBody(key.line)}
	server := httptest.NewServer(fake)
	defer server.Close()

	got, err := keycmd.Lookup(context.Background(), configFor(t, server.URL, 5*time.Second), requestFor(key))
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if got != key.line {
		t.Errorf("Lookup = %q; want %q", got, key.line)
	}
	requests := fake.recorded()
	if len(requests) != 1 {
		t.Fatalf("server saw %d requests; want 1", len(requests))
	}
	req := requests[0]
	if req.method != http.MethodPost || req.path != retrievePath || req.contentType != "application/json" {
		t.Errorf("request = %s %s (Content-Type %q); want POST %s (application/json)", req.method, req.path, req.contentType, retrievePath)
	}
	want := map[string]any{
		"user": "alice", "user_uid": "1000", "host": "login1",
		"public_key_fingerprint": key.fingerprint, "key_type": "ssh-ed25519",
	}
	if len(req.body) != len(want) {
		t.Errorf("body = %v; want exactly %v", req.body, want)
	}
	for field, value := range want {
		if req.body[field] != value {
			t.Errorf("body[%q] = %#v; want %#v", field, req.body[field], value)
		}
	}
}

func TestLookupRejectsBadAnswers(t *testing.T) {
	key := newTestKey(t)
	other := newTestKey(t)
	tests := []struct {
		name     string
		status   int
		body     string
		wantErr  string
		notFound bool
	}{
		{name: "404", status: 404, body: `{"result_code":"404","result_msg":"NOT_FOUND"}`, wantErr: `status 404 Not Found: server says "NOT_FOUND"`, notFound: true},
		{name: "500", status: 500, body: `{"result_code":"500","result_msg":"ERROR: database"}`, wantErr: `status 500 Internal Server Error: server says "ERROR: database"`},
		{name: "503 with text body", status: 503, body: "overloaded", wantErr: `status 503 Service Unavailable: body "overloaded"`},
		{name: "201 with a key", status: 201, body: okBody(key.line), wantErr: "status 201 Created"},
		{name: "non-JSON body", status: 200, body: "ssh-ed25519 AAAA", wantErr: "body is not a JSON object"},
		{name: "JSON array", status: 200, body: `["` + key.line + `"]`, wantErr: "body is not a JSON object"},
		{name: "missing public_key", status: 200, body: `{"result_code":"0"}`, wantErr: "public_key is missing"},
		{name: "null public_key", status: 200, body: `{"public_key":null}`, wantErr: "public_key is not a string"},
		{name: "numeric public_key", status: 200, body: `{"public_key":42}`, wantErr: "public_key is not a string"},
		{name: "object public_key", status: 200, body: `{"public_key":{"k":"v"}}`, wantErr: "public_key is not a string"},
		{name: "empty public_key", status: 200, body: okBody(""), wantErr: "public_key is empty"},
		{name: "two lines", status: 200, body: okBody(key.line + "\n" + other.line), wantErr: "not a single line"},
		{name: "trailing newline", status: 200, body: okBody(key.line + "\n"), wantErr: "not a single line"},
		{name: "carriage return", status: 200, body: okBody(key.line + "\r"), wantErr: "not a single line"},
		{name: "not a key", status: 200, body: okBody("hello world"), wantErr: "not an authorized_keys line"},
		{name: "key for another fingerprint", status: 200, body: okBody(other.line), wantErr: "but sshd asked for " + key.fingerprint},
		{name: "body over 64 KiB", status: 200, body: `{"public_key":"` + key.line + `","padding":"` + strings.Repeat("x", 64<<10) + `"}`, wantErr: "larger than 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := httptest.NewServer(&retrieveServer{status: tt.status, body: tt.body})
			defer server.Close()
			got, err := keycmd.Lookup(context.Background(), configFor(t, server.URL, 5*time.Second), requestFor(key))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Lookup = %q, %v; want error containing %q", got, err, tt.wantErr)
			}
			if got != "" {
				t.Errorf("Lookup returned %q along with an error", got)
			}
			if errors.Is(err, keycmd.ErrNotFound) != tt.notFound {
				t.Errorf("errors.Is(err, ErrNotFound) = %v; want %v", !tt.notFound, tt.notFound)
			}
		})
	}
}

func TestLookupAcceptsBodyOfExactly64KiB(t *testing.T) {
	key := newTestKey(t)
	prefix := `{"public_key":"` + key.line + `","padding":"`
	body := prefix + strings.Repeat("x", 64<<10-len(prefix)-2) + `"}`
	server := httptest.NewServer(&retrieveServer{status: 200, body: body})
	defer server.Close()
	if _, err := keycmd.Lookup(context.Background(), configFor(t, server.URL, 5*time.Second), requestFor(key)); err != nil {
		t.Fatalf("Lookup with a %d-byte body: %v", len(body), err)
	}
}

func TestLookupDoesNotFollowRedirects(t *testing.T) {
	key := newTestKey(t)
	target := httptest.NewServer(&retrieveServer{status: 200, body: okBody(key.line)})
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+retrievePath, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	_, err := keycmd.Lookup(context.Background(), configFor(t, redirector.URL, 5*time.Second), requestFor(key))
	if err == nil || !strings.Contains(err.Error(), "status 307") {
		t.Fatalf("Lookup through a redirect: err = %v; want status 307", err)
	}
}

func TestLookupOverTLS(t *testing.T) {
	key := newTestKey(t)
	server := httptest.NewTLSServer(&retrieveServer{status: 200, body: okBody(key.line)})
	defer server.Close()
	dir := t.TempDir()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})
	writeFile(t, filepath.Join(dir, "tms-ca.pem"), string(caPEM))

	t.Run("trusted through ca_file", func(t *testing.T) {
		cfg := loadConfig(t, dir, `
tms_url = "`+server.URL+retrievePath+`"
host_name = "login1"
ca_file = "tms-ca.pem"
`)
		got, err := keycmd.Lookup(context.Background(), cfg, requestFor(key))
		if err != nil || got != key.line {
			t.Fatalf("Lookup = %q, %v; want %q", got, err, key.line)
		}
	})
	t.Run("untrusted without ca_file", func(t *testing.T) {
		cfg := loadConfig(t, dir, `
tms_url = "`+server.URL+retrievePath+`"
host_name = "login1"
`)
		_, err := keycmd.Lookup(context.Background(), cfg, requestFor(key))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Lookup = %v; want a certificate error", err)
		}
	})
}

func TestLookupTimesOut(t *testing.T) {
	key := newTestKey(t)
	const timeout = 300 * time.Millisecond

	// A server that reads the request and never answers. Reading the body
	// lets the server notice when the client hangs up.
	stalled := make(chan struct{})
	silentHTTP := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-stalled:
		}
	}))
	defer silentHTTP.Close()
	// A server that sends the status line and headers, then stalls in the
	// middle of the body.
	halfAnswer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"public_key":"`)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-stalled:
		}
	}))
	defer halfAnswer.Close()
	defer close(stalled)

	// A listener that accepts connections and never says anything: a TLS
	// handshake against it never completes.
	silentTCP, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silentTCP.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			conn, err := silentTCP.Accept()
			if err != nil {
				return
			}
			held = append(held, conn)
		}
	}()

	for _, tt := range []struct{ name, url string }{
		{"server never answers the request", silentHTTP.URL},
		{"server never completes the TLS handshake", "https://" + silentTCP.Addr().String()},
		{"server stalls in the middle of the body", halfAnswer.URL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configFor(t, tt.url, timeout)
			start := time.Now()
			done := make(chan error, 1)
			go func() {
				_, err := keycmd.Lookup(context.Background(), cfg, requestFor(key))
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "300ms") {
					t.Fatalf("Lookup = %v; want a timeout error", err)
				}
				t.Logf("timed out after %v (timeout %v): %v", time.Since(start), timeout, err)
			case <-time.After(returnGuard):
				t.Fatalf("Lookup did not return within %v with a %v timeout", returnGuard, timeout)
			}
		})
	}
}

func TestLookupConnectionRefused(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	key := newTestKey(t)
	_, err = keycmd.Lookup(context.Background(), configFor(t, "http://"+addr, 5*time.Second), requestFor(key))
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Lookup = %v; want connection refused", err)
	}
}

func TestLookupHonoursCallerContext(t *testing.T) {
	key := newTestKey(t)
	server := httptest.NewServer(&retrieveServer{status: 200, body: okBody(key.line)})
	defer server.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := keycmd.Lookup(ctx, configFor(t, server.URL, 5*time.Second), requestFor(key)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lookup with a cancelled context: err = %v; want context.Canceled", err)
	}
}

func TestLookupRefusesAnIncompleteConfig(t *testing.T) {
	key := newTestKey(t)
	server := httptest.NewServer(&retrieveServer{status: 200, body: okBody(key.line)})
	defer server.Close()
	for _, cfg := range []keycmd.Config{
		{HostName: "login1", Timeout: time.Second},
		{URL: configFor(t, server.URL, 0).URL, HostName: "login1"},
	} {
		if _, err := keycmd.Lookup(context.Background(), cfg, requestFor(key)); err == nil || !strings.Contains(err.Error(), "positive timeout") {
			t.Errorf("Lookup(%+v) = %v; want an error about the config", cfg, err)
		}
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    keycmd.Request
		wantErr string
	}{
		{name: "as sshd passes them", args: []string{"alice", "1000", "SHA256:abc", "ssh-ed25519"},
			want: keycmd.Request{User: "alice", UID: 1000, Fingerprint: "SHA256:abc", KeyType: "ssh-ed25519"}},
		{name: "uid with spaces", args: []string{"bob", " 42\n", "SHA256:x", ""},
			want: keycmd.Request{User: "bob", UID: 42, Fingerprint: "SHA256:x"}},
		{name: "largest uid", args: []string{"root", "4294967295", "SHA256:x", "ssh-rsa"},
			want: keycmd.Request{User: "root", UID: 4294967295, Fingerprint: "SHA256:x", KeyType: "ssh-rsa"}},
		{name: "no arguments", args: nil, wantErr: "want 4 arguments USER UID FINGERPRINT KEYTYPE (sshd's %u %U %f %t), got 0"},
		{name: "three arguments", args: []string{"alice", "1000", "SHA256:abc"}, wantErr: "got 3"},
		{name: "five arguments", args: []string{"alice", "1000", "SHA256:abc", "ssh-ed25519", "extra"}, wantErr: "got 5"},
		{name: "empty user", args: []string{"", "1000", "SHA256:abc", "ssh-ed25519"}, wantErr: "argument 1, USER (%u): is empty"},
		{name: "uid not a number", args: []string{"alice", "abc", "SHA256:abc", "ssh-ed25519"}, wantErr: `argument 2, UID (%U): "abc" is not a user id`},
		{name: "negative uid", args: []string{"alice", "-1", "SHA256:abc", "ssh-ed25519"}, wantErr: `argument 2, UID (%U): "-1"`},
		{name: "uid too large", args: []string{"alice", "4294967296", "SHA256:abc", "ssh-ed25519"}, wantErr: `argument 2, UID (%U): "4294967296"`},
		{name: "empty uid", args: []string{"alice", "", "SHA256:abc", "ssh-ed25519"}, wantErr: `argument 2, UID (%U): ""`},
		{name: "empty fingerprint", args: []string{"alice", "1000", "", "ssh-ed25519"}, wantErr: "argument 3, FINGERPRINT (%f): is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := keycmd.ParseArgs(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseArgs(%q) = %+v, %v; want error containing %q", tt.args, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseArgs(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	server := httptest.NewTLSServer(http.NotFoundHandler())
	defer server.Close()
	writeFile(t, filepath.Join(dir, "ca.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})))
	writeFile(t, filepath.Join(dir, "not-pem.txt"), "hello\n")

	t.Run("minimal, as tms_keycmd reads it", func(t *testing.T) {
		cfg := loadConfig(t, dir, `
tms_url = "https://tms.example.org:3000/v1/tms/pubkeys/creds/retrieve"
host_name = "testhost1"
`)
		if cfg.URL.String() != "https://tms.example.org:3000/v1/tms/pubkeys/creds/retrieve" || cfg.HostName != "testhost1" ||
			cfg.Timeout != keycmd.DefaultTimeout || cfg.RootCAs != nil || cfg.LogFile != "" {
			t.Errorf("config = %+v; want the URL and host name, default timeout, system roots, log to stderr", cfg)
		}
	})
	t.Run("every key", func(t *testing.T) {
		cfg := loadConfig(t, dir, `
tms_url = "https://127.0.0.1/v1/tms/pubkeys/creds/retrieve"
host_name = "login1"
timeout = "1500ms"
ca_file = "ca.pem"
log_file = "logs/keycmd.log"
`)
		if cfg.Timeout != 1500*time.Millisecond || cfg.RootCAs == nil || cfg.LogFile != filepath.Join(dir, "logs/keycmd.log") {
			t.Errorf("config = %+v; want timeout 1.5s, CA pool set, log file under %s", cfg, dir)
		}
	})

	const url = `tms_url = "http://127.0.0.1:3000/v1/tms/pubkeys/creds/retrieve"` + "\n"
	const host = `host_name = "login1"` + "\n"
	const httpsURL = `tms_url = "https://127.0.0.1:3000/v1/tms/pubkeys/creds/retrieve"` + "\n"
	tests := []struct {
		name, content, wantErr string
	}{
		{"tms_url missing", host, "tms_url: is required"},
		{"tms_url empty", `tms_url = ""` + "\n" + host, "tms_url: is empty"},
		{"tms_url blank", `tms_url = "  "` + "\n" + host, "tms_url: is empty"},
		{"tms_url padded", `tms_url = " http://a/b"` + "\n" + host, "tms_url: \" http://a/b\" has leading or trailing spaces"},
		{"tms_url scheme", `tms_url = "ftp://a/b"` + "\n" + host, `tms_url: "ftp://a/b" must start with http:// or https://`},
		{"tms_url no scheme", `tms_url = "tms.example.org/v1"` + "\n" + host, "must start with http:// or https://"},
		{"tms_url unparsable", `tms_url = "http://a b/"` + "\n" + host, `tms_url: "http://a b/" is not a URL`},
		{"tms_url without host", `tms_url = "http:///v1"` + "\n" + host, "tms_url: \"http:///v1\" has no host"},
		{"tms_url with password", `tms_url = "http://u:p@a/v1"` + "\n" + host, "must not contain user information"},
		{"tms_url not a string", `tms_url = 3000` + "\n" + host, "tms_url (line 1): must be a string"},
		{"host_name missing", url, "host_name: is required"},
		{"host_name empty", url + `host_name = ""`, "host_name: is empty"},
		{"host_name padded", url + `host_name = "login1 "`, `host_name: "login1 " has leading or trailing spaces`},
		{"host_name not a string", url + `host_name = true`, "host_name (line 2): must be a string"},
		{"timeout not a duration", url + host + `timeout = "5"`, `timeout: "5" is not a duration`},
		{"timeout zero", url + host + `timeout = "0s"`, `timeout: "0s" is out of range: must be more than 0 and at most 1m0s`},
		{"timeout negative", url + host + `timeout = "-1s"`, `timeout: "-1s" is out of range`},
		{"timeout too long", url + host + `timeout = "61s"`, `timeout: "61s" is out of range`},
		{"timeout a number", url + host + `timeout = 5`, "timeout (line 3): must be a string"},
		{"ca_file with http", url + host + `ca_file = "ca.pem"`, "ca_file: set, but tms_url \"http://127.0.0.1:3000/v1/tms/pubkeys/creds/retrieve\" does not use https"},
		{"ca_file missing file", httpsURL + host + `ca_file = "absent.pem"`, "ca_file: read CA bundle: open " + filepath.Join(dir, "absent.pem")},
		{"ca_file not PEM", httpsURL + host + `ca_file = "not-pem.txt"`, "ca_file: " + filepath.Join(dir, "not-pem.txt") + " holds no PEM certificate"},
		{"ca_file empty", httpsURL + host + `ca_file = ""`, "ca_file: is empty"},
		{"log_file empty", url + host + `log_file = ""`, "log_file: is empty"},
		{"unknown key", url + host + `host_secret = "s"`, `unknown key "host_secret" (line 3); accepted keys are tms_url, host_name, timeout, ca_file, log_file`},
		{"unknown table", url + host + "[server]\nport = 1\n", `unknown key "server" (line 3)`},
		{"duplicate key", url + url + host, "tms_url (line 2, column 1): key tms_url is already defined"},
		{"not TOML", "tms_url = \n", "line 1, column 11:"},
		{"empty file", "", "tms_url: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Relative paths resolve against the config's directory, so the
			// file sits next to the fixtures.
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".toml")
			writeFile(t, path, tt.content)
			_, err := keycmd.LoadConfig(path)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("LoadConfig error = %v; want it to contain %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "config "+path+": ") {
				t.Errorf("error %q does not start by naming the file", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans several lines", err)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tms_keycmd.toml")
		_, err := keycmd.LoadConfig(path)
		if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Fatalf("LoadConfig(missing) = %v; want a not-exist error naming %s", err, path)
		}
	})
}

// TestMainContract checks what sshd sees: stdout, exit code and one log line.
func TestMainContract(t *testing.T) {
	key := newTestKey(t)
	found := httptest.NewServer(&retrieveServer{status: 200, body: okBody(key.line)})
	defer found.Close()
	missing := httptest.NewServer(&retrieveServer{status: 404, body: `{"result_code":"404","result_msg":"NOT_FOUND"}`})
	defer missing.Close()
	args := []string{"alice", "1000", key.fingerprint, "ssh-ed25519"}

	tests := []struct {
		name       string
		serverURL  string
		args       []string
		wantCode   int
		wantStdout string
		wantLog    string
	}{
		{"key found", found.URL, args, 0, key.line + "\n", `msg="authorized-keys: key accepted" user=alice uid=1000 fingerprint=` + key.fingerprint},
		{"key not found", missing.URL, args, 1, "", `level=INFO msg="authorized-keys: no key"`},
		{"server down", "http://127.0.0.1:1", args, 1, "", `level=ERROR msg="authorized-keys: lookup failed"`},
		{"bad arguments", found.URL, args[:3], 1, "", `msg="authorized-keys: bad arguments" error="want 4 arguments`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, filepath.Join(dir, "tms_keycmd.toml"),
				"tms_url = \""+tt.serverURL+retrievePath+"\"\nhost_name = \"login1\"\ntimeout = \"5s\"\n")
			var stdout, stderr bytes.Buffer
			code := keycmd.Main(context.Background(), tt.args, path, &stdout, &stderr)
			if code != tt.wantCode || stdout.String() != tt.wantStdout {
				t.Errorf("Main = %d, stdout %q; want %d, %q", code, stdout.String(), tt.wantCode, tt.wantStdout)
			}
			assertOneLogLine(t, stderr.String(), tt.wantLog)
		})
	}

	t.Run("bad config", func(t *testing.T) {
		path := writeFile(t, filepath.Join(t.TempDir(), "tms_keycmd.toml"), "host_name = \"login1\"\n")
		var stdout, stderr bytes.Buffer
		code := keycmd.Main(context.Background(), args, path, &stdout, &stderr)
		if code != 1 || stdout.Len() != 0 {
			t.Errorf("Main = %d, stdout %q; want 1 and nothing", code, stdout.String())
		}
		assertOneLogLine(t, stderr.String(), `msg="authorized-keys: configuration is unusable" error="config `+path+`: tms_url: is required`)
	})

	t.Run("default config in the current directory", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, keycmd.DefaultConfigFile), "tms_url = \""+found.URL+retrievePath+"\"\nhost_name = \"login1\"\n")
		t.Chdir(dir)
		var stdout, stderr bytes.Buffer
		if code := keycmd.Main(context.Background(), args, "", &stdout, &stderr); code != 0 || stdout.String() != key.line+"\n" {
			t.Fatalf("Main = %d, stdout %q, stderr %q; want 0 and the key", code, stdout.String(), stderr.String())
		}
	})

	t.Run("log_file gets one line per call", func(t *testing.T) {
		dir := t.TempDir()
		path := writeFile(t, filepath.Join(dir, "tms_keycmd.toml"),
			"tms_url = \""+found.URL+retrievePath+"\"\nhost_name = \"login1\"\nlog_file = \"keycmd.log\"\n")
		for range 2 {
			var stdout, stderr bytes.Buffer
			if code := keycmd.Main(context.Background(), args, path, &stdout, &stderr); code != 0 || stderr.Len() != 0 {
				t.Fatalf("Main = %d, stderr %q; want 0 and nothing on stderr", code, stderr.String())
			}
		}
		logged, err := os.ReadFile(filepath.Join(dir, "keycmd.log"))
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Count(string(logged), "\n"); lines != 2 || strings.Count(string(logged), "key accepted") != 2 {
			t.Errorf("log file = %q; want two 'key accepted' lines", logged)
		}
	})

	t.Run("unopenable log_file falls back to stderr", func(t *testing.T) {
		dir := t.TempDir()
		path := writeFile(t, filepath.Join(dir, "tms_keycmd.toml"),
			"tms_url = \""+missing.URL+retrievePath+"\"\nhost_name = \"login1\"\nlog_file = \"no/such/dir/keycmd.log\"\n")
		var stdout, stderr bytes.Buffer
		code := keycmd.Main(context.Background(), args, path, &stdout, &stderr)
		if code != 1 || stdout.Len() != 0 {
			t.Errorf("Main = %d, stdout %q; want 1 and nothing", code, stdout.String())
		}
		assertOneLogLine(t, stderr.String(), `log_file_error="open `+filepath.Join(dir, "no/such/dir/keycmd.log"))
	})
}

func assertOneLogLine(tb testing.TB, logged, want string) {
	tb.Helper()
	if strings.Count(logged, "\n") != 1 || !strings.HasSuffix(logged, "\n") {
		tb.Errorf("log = %q; want exactly one line", logged)
	}
	if !strings.Contains(logged, want) {
		tb.Errorf("log = %q; want it to contain %q", logged, want)
	}
}

func loadConfig(tb testing.TB, dir, content string) keycmd.Config {
	tb.Helper()
	path := writeFile(tb, filepath.Join(dir, "tms_keycmd.toml"), content)
	cfg, err := keycmd.LoadConfig(path)
	if err != nil {
		tb.Fatalf("LoadConfig: %v", err)
	}
	return cfg
}

func writeFile(tb testing.TB, path, content string) string {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}
