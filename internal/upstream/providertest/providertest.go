// Package providertest runs a real OpenID Connect provider for tests: node's
// oidc-provider (scripts/oidc-provider, installed with npm ci) on
// 127.0.0.1, with the clients and accounts a test asks for. A Proxy in
// front of it lets a test send the sign-in to a second, untrustworthy
// provider, or alter what the client sends, so that the checks of the
// client meet tokens a real provider issued. It skips the test with a
// message when node is missing. Only tests import it.
package providertest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/needtest"
)

// startTimeout bounds the start of the provider: far beyond what a start
// needs on a busy machine (node loads oidc-provider and makes an RSA key,
// and a test binary may start a dozen providers at once beside other test
// binaries), so that reaching it means the provider will not start.
const startTimeout = 3 * time.Minute

// Client is a client registered at the provider.
type Client struct {
	ID           string   `json:"client_id"`
	Secret       string   `json:"client_secret"`
	RedirectURIs []string `json:"redirect_uris"`
}

// Account is a user of the provider. AMR is what the provider asserts
// after the user signs in with the password, e.g. ["pwd"] or ["pwd","mfa"].
type Account struct {
	ID       string         `json:"id"`
	Password string         `json:"password"`
	AMR      []string       `json:"amr"`
	ACR      string         `json:"acr,omitempty"`
	Claims   map[string]any `json:"claims"`
}

// Options configure a provider.
type Options struct {
	// Issuer is the issuer it names itself; "" means its own address.
	Issuer string
	// JWKS are the private signing keys; nil generates new ones.
	JWKS      json.RawMessage
	ACRValues []string
	Clients   []Client
	Accounts  []Account
}

// Provider is a running oidc-provider.
type Provider struct {
	// Issuer is the issuer it names itself, and URL where it listens.
	Issuer, URL string
	// JWKS are its private signing keys.
	JWKS json.RawMessage

	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
	mu    sync.Mutex
	log   bytes.Buffer
}

// scriptDir finds scripts/oidc-provider above the working directory.
func scriptDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "scripts", "oidc-provider")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("providertest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Missing says why no provider can run here (node is not installed), or
// returns "" when one can.
func Missing() string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node is missing; install Debian's nodejs and npm packages (scripts/test.sh does as root)"
	}
	return ""
}

// Start runs a provider until the test ends. When node is missing it
// fails the test in CI and skips it elsewhere (needtest).
func Start(t testing.TB, opts Options) *Provider {
	t.Helper()
	if why := Missing(); why != "" {
		needtest.Missing(t, why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(err)
	}
	dir := scriptDir(t)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		t.Fatalf("oidc-provider is not installed in %s: run \"npm ci --prefix %s\" (scripts/test.sh does)", dir, dir)
	}
	config, err := json.Marshal(struct {
		Issuer    string          `json:"issuer,omitempty"`
		JWKS      json.RawMessage `json:"jwks,omitempty"`
		ACRValues []string        `json:"acr_values,omitempty"`
		Clients   []Client        `json:"clients"`
		Accounts  []Account       `json:"accounts"`
	}{opts.Issuer, opts.JWKS, opts.ACRValues, opts.Clients, opts.Accounts})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(dir, "provider.js"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OIDC_TEST_CONFIG="+string(config))
	p := &Provider{cmd: cmd, done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &lockedWriter{p: p}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the provider: %v", err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Stop)

	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		if sc.Scan() {
			first <- sc.Text()
		}
		close(first)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line, ok := <-first:
		var hello struct {
			Issuer string          `json:"issuer"`
			Port   int             `json:"port"`
			JWKS   json.RawMessage `json:"jwks"`
		}
		if !ok || json.Unmarshal([]byte(line), &hello) != nil || hello.Port == 0 {
			<-p.done
			t.Fatalf("the provider did not start: %q\n%s", line, p.Log())
		}
		p.Issuer, p.URL, p.JWKS = hello.Issuer, fmt.Sprintf("http://127.0.0.1:%d", hello.Port), hello.JWKS
	case <-time.After(startTimeout):
		t.Fatalf("the provider did not start within %s\n%s", startTimeout, p.Log())
	}
	return p
}

// Stop ends the provider and waits for it.
func (p *Provider) Stop() {
	p.stdin.Close() // the script exits when its standard input closes
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// Log returns what the provider wrote to standard error.
func (p *Provider) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

type lockedWriter struct{ p *Provider }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.log.Write(b)
}

// Mode says where a Proxy sends requests and what it changes.
type Mode int

// The modes of a Proxy.
const (
	// Honest forwards everything to the trusted provider.
	Honest Mode = iota
	// Impostor answers discovery and the keys from the trusted provider
	// but sends the sign-in and the token request to the impostor.
	Impostor
	// OtherClient rewrites the client id (and secret) of the
	// authorization and token requests to OtherClientID: the ID token is
	// then issued for another audience.
	OtherClient
	// OtherNonce replaces the nonce of the authorization request.
	OtherNonce
)

// Proxy is the address a client is configured with. Requests go to the
// trusted provider or, in Impostor mode, to the impostor; its Host header
// is kept, so the providers build their URLs on the proxy's address.
type Proxy struct {
	URL string
	// OtherClientID and OtherClientSecret are what OtherClient mode sends.
	OtherClientID, OtherClientSecret string

	mode              atomic.Int32
	trusted, impostor atomic.Pointer[url.URL]
}

// NewProxy listens on a free loopback port until the test ends. Point it
// at the providers with SetTrusted and SetImpostor.
func NewProxy(t testing.TB) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{URL: "http://" + ln.Addr().String()}
	rp := &httputil.ReverseProxy{Rewrite: p.rewrite, ErrorLog: log.New(io.Discard, "", 0)}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

// SetTrusted and SetImpostor name the providers behind the proxy.
func (p *Proxy) SetTrusted(rawURL string)  { p.trusted.Store(mustParse(rawURL)) }
func (p *Proxy) SetImpostor(rawURL string) { p.impostor.Store(mustParse(rawURL)) }

// SetMode switches the mode for the requests that follow.
func (p *Proxy) SetMode(m Mode) { p.mode.Store(int32(m)) }

func mustParse(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}

func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	target := p.trusted.Load()
	mode := Mode(p.mode.Load())
	path := pr.In.URL.Path
	if mode == Impostor && path != "/.well-known/openid-configuration" && path != "/jwks" {
		target = p.impostor.Load()
	}
	pr.SetURL(target)
	pr.Out.Host = pr.In.Host
	switch {
	case mode == OtherNonce && path == "/auth":
		q := pr.Out.URL.Query()
		q.Set("nonce", "a-nonce-of-another-sign-in")
		pr.Out.URL.RawQuery = q.Encode()
	case mode == OtherClient && path == "/auth":
		q := pr.Out.URL.Query()
		q.Set("client_id", p.OtherClientID)
		pr.Out.URL.RawQuery = q.Encode()
	case mode == OtherClient && path == "/token":
		pr.Out.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString(
			[]byte(url.QueryEscape(p.OtherClientID)+":"+url.QueryEscape(p.OtherClientSecret))))
		body, _ := io.ReadAll(io.LimitReader(pr.In.Body, 1<<16))
		form, _ := url.ParseQuery(string(body))
		if form.Has("client_id") {
			form.Set("client_id", p.OtherClientID)
		}
		enc := form.Encode()
		pr.Out.Body = io.NopCloser(strings.NewReader(enc))
		pr.Out.ContentLength = int64(len(enc))
		pr.Out.Header.Set("Content-Length", fmt.Sprint(len(enc)))
	}
}

var formAction = regexp.MustCompile(`action="(/interaction/[A-Za-z0-9_-]+/(login|abort))"`)

// SubmitLogin fills in the provider's login page (page, read from pageURL)
// with a username and password and posts it with c, which follows the
// redirects it is told to follow. It returns the last response.
func SubmitLogin(t testing.TB, c *http.Client, pageURL *url.URL, page []byte, username, password string) *http.Response {
	t.Helper()
	return postForm(t, c, pageURL, page, "login", url.Values{"login": {username}, "password": {password}})
}

// Cancel presses the Cancel button of the provider's login page.
func Cancel(t testing.TB, c *http.Client, pageURL *url.URL, page []byte) *http.Response {
	t.Helper()
	return postForm(t, c, pageURL, page, "abort", url.Values{})
}

func postForm(t testing.TB, c *http.Client, pageURL *url.URL, page []byte, which string, form url.Values) *http.Response {
	t.Helper()
	var action string
	for _, m := range formAction.FindAllSubmatch(page, -1) {
		if string(m[2]) == which {
			action = string(m[1])
		}
	}
	if action == "" {
		t.Fatalf("no %s form on the provider's page %s:\n%s", which, pageURL, page)
	}
	resp, err := c.PostForm(pageURL.ResolveReference(&url.URL{Path: action}).String(), form)
	if err != nil {
		t.Fatalf("post the provider's %s form: %v", which, err)
	}
	return resp
}

// IsLoginPage reports whether page is the provider's login page.
func IsLoginPage(page []byte) bool {
	return bytes.Contains(page, []byte("<h1>Test provider sign-in</h1>"))
}
