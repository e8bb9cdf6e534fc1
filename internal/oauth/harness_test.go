package oauth_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/keys"
	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/oauth"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/postgres"
	"github.com/tmsproject/tms/internal/store/postgres/pgtest"
	"github.com/tmsproject/tms/internal/store/readcache"
	"github.com/tmsproject/tms/internal/store/sqlite"
	"github.com/tmsproject/tms/internal/tms"
)

// backend opens an empty store.
type backend struct {
	name string
	open func(t *testing.T) store.Store
}

var sqliteBackend = backend{"sqlite", func(t *testing.T) store.Store {
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "tms.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return readcache.Wrap(st, 1000)
}}

var postgresBackend = backend{"postgres", func(t *testing.T) store.Store {
	st, err := postgres.Open(context.Background(), postgres.Options{URL: pgtest.NewSchema(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return readcache.Wrap(st, 1000)
}}

// backends are SQLite, and PostgreSQL when a test server is configured.
func backends() []backend {
	if os.Getenv(pgtest.Variable) == "" {
		return []backend{sqliteBackend}
	}
	return []backend{sqliteBackend, postgresBackend}
}

type serverOptions struct {
	pollInterval  time.Duration
	lifetime      time.Duration
	attempts      int
	attemptsTotal int
	directories   []tms.TenantDirectory
	// maxLive bounds the unexpired logins of a tenant (0: the default).
	maxLive int
	// audit records the audit log, written within milliseconds.
	audit bool
	// auditWindow is the audit log's failure window (0: none).
	auditWindow time.Duration
	// clock, when set, is the service's clock; otherwise it uses the
	// real time.
	clock *clocktest.Clock
	// upstreams returns the upstream providers, whose redirect URIs are
	// under the server's base URL, and their rules.
	upstreams func(baseURL string) ([]oauth.Upstream, []tms.UpstreamRule)
	// noPassword lists the tenants without password sign-in.
	noPassword []string
}

// testServer is the real API with the OAuth handler over a real store.
type testServer struct {
	// handler serves the API, for requests with a made-up client address.
	handler http.Handler
	URL     string
	svc     *tms.Service
	st      store.Store
	user    tms.DevUser
	admin   tms.AdminSecret
	limiter *clocktest.Clock
	metrics *metrics.Metrics
	// audit is the audit recorder when serverOptions.audit is set.
	audit *audit.Recorder
}

func startServer(t *testing.T, b backend, o serverOptions) *testServer {
	t.Helper()
	if o.pollInterval == 0 {
		o.pollInterval = time.Second
	}
	if o.lifetime == 0 {
		o.lifetime = 2 * time.Minute
	}
	st := b.open(t)
	gen, err := keys.NewGenerator(keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var now func() time.Time
	if o.clock != nil {
		now = o.clock.Now
	}
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	baseURL := "http://" + srv.Listener.Addr().String()
	var upstreams []oauth.Upstream
	var rules []tms.UpstreamRule
	if o.upstreams != nil {
		upstreams, rules = o.upstreams(baseURL)
	}
	svc := tms.New(tms.Options{Store: st, Keys: gen, Now: now, OAuth: tms.OAuthOptions{
		DeviceCodeLifetime: o.lifetime, PollInterval: o.pollInterval, MaxDelegationDays: 30, MaxLiveDeviceCodes: o.maxLive,
		Upstreams: rules, NoPasswordTenants: o.noPassword}, Directories: o.directories})
	ctx := context.Background()
	secrets, err := svc.Initialize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{svc: svc, st: st, limiter: clocktest.New(time.Now()), metrics: metrics.New()}
	for _, s := range secrets {
		if s.Tenant == tms.TestTenant {
			ts.admin = s
		}
	}
	if ts.user, err = svc.EnsureDevUser(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	h := oauth.New(oauth.Options{Service: svc, AttemptsPerMinute: o.attempts, AttemptsPerMinuteTotal: o.attemptsTotal, Now: ts.limiter.Now,
		Metrics: ts.metrics, NotFound: api.NotFound, Upstreams: upstreams})
	if o.audit {
		ts.audit = audit.New(st, audit.Options{FlushInterval: 5 * time.Millisecond, FailureWindow: o.auditWindow})
		t.Cleanup(func() {
			if err := ts.audit.Close(context.Background()); err != nil {
				t.Errorf("close audit recorder: %v", err)
			}
		})
	}
	a := api.New(api.Options{Service: svc, Extra: []func(*http.ServeMux){h.Register}, Audit: ts.audit})
	ts.handler = a.Handler()
	srv.Config.Handler = ts.handler
	srv.Start()
	ts.URL = srv.URL
	return ts
}

// oauthConfig is the configuration of x/oauth2 that tms login uses, in the
// given client authentication style.
func (s *testServer) oauthConfig(style oauth2.AuthStyle) *oauth2.Config {
	return &oauth2.Config{
		ClientID: tms.CLIClientID,
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: s.URL + oauth.DeviceCodePath,
			TokenURL:      s.URL + oauth.TokenPath,
			AuthStyle:     style,
		},
		Scopes: []string{tms.ScopeKeys},
	}
}

// browser is a plain HTTP form client with a cookie jar and no JavaScript,
// as a text browser on a login host would be.
type browser struct {
	t    *testing.T
	base string
	http *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// page is an answered request of the browser.
type page struct {
	status int
	body   string
	path   string
	header http.Header
	url    *url.URL
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, body: string(body), path: resp.Request.URL.Path, header: resp.Header, url: resp.Request.URL}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// submit posts a form of p to action with the page's CSRF token.
func (b *browser) submit(p page, action string, values url.Values) page {
	b.t.Helper()
	if _, ok := values["csrf"]; !ok {
		values.Set("csrf", p.field(b.t, "csrf"))
	}
	req, err := http.NewRequest("POST", b.base+action, strings.NewReader(values.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var inputPattern = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)

// field returns the value of the named input of the page's form.
func (p page) field(t *testing.T, name string) string {
	t.Helper()
	for _, m := range inputPattern.FindAllStringSubmatch(p.body, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2])
		}
	}
	t.Fatalf("no input %q on page %s (status %d):\n%s", name, p.path, p.status, p.body)
	return ""
}

// want fails unless the page has the status and contains every part.
func (p page) want(t *testing.T, status int, parts ...string) page {
	t.Helper()
	if p.status != status {
		t.Fatalf("page %s: status %d, want %d:\n%s", p.path, p.status, status, p.body)
	}
	text := html.UnescapeString(p.body)
	for _, part := range parts {
		if !strings.Contains(text, part) {
			t.Fatalf("page %s lacks %q:\n%s", p.path, part, p.body)
		}
	}
	return p
}

// wantNot fails if the page contains any of the parts.
func (p page) wantNot(t *testing.T, parts ...string) page {
	t.Helper()
	for _, part := range parts {
		if strings.Contains(p.body, part) {
			t.Fatalf("page %s has %q:\n%s", p.path, part, p.body)
		}
	}
	return p
}

// totp returns the user's code for the n-th sign-in of a test (n from 0):
// a code is accepted once, and the next time step's code is accepted
// early, so one test can sign in twice in one step.
func totp(t *testing.T, secret string, n int) string {
	t.Helper()
	code, err := tms.TOTPCode(secret, time.Now().Add(time.Duration(n)*30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// signIn walks from the code entry to the consent page for the user with
// the given one-time code.
func (b *browser) signIn(userCode, username, password, otp string) page {
	b.t.Helper()
	p := b.get(oauth.DevicePath+"?user_code="+url.QueryEscape(userCode)).want(b.t, 200, userCode, "Check that this code")
	p = b.submit(p, oauth.DevicePath, url.Values{"user_code": {p.field(b.t, "user_code")}}).want(b.t, 200, "Sign in", userCode)
	return b.submit(p, oauth.DevicePath+"/signin", url.Values{"user_code": {userCode}, "username": {username},
		"password": {password}, "otp": {otp}})
}

// decide answers the consent page p.
func (b *browser) decide(p page, userCode, action, days string) page {
	b.t.Helper()
	return b.submit(p, oauth.DevicePath+"/consent", url.Values{"user_code": {userCode}, "days": {days}, "action": {action}})
}

// approve signs the development user in and approves the request.
func (b *browser) approve(s *testServer, userCode string) {
	b.t.Helper()
	p := b.signIn(userCode, s.user.Username, s.user.Password, totp(b.t, s.user.TOTPSecret, 0)).want(b.t, 200, "Approve access")
	b.decide(p, userCode, "approve", "3").want(b.t, 200, "Device approved", "for 3 days")
}

// deny signs the development user in and denies the request.
func (b *browser) deny(s *testServer, userCode string) {
	b.t.Helper()
	p := b.signIn(userCode, s.user.Username, s.user.Password, totp(b.t, s.user.TOTPSecret, 0)).want(b.t, 200, "Approve access")
	b.decide(p, userCode, "deny", "").want(b.t, 200, "Request denied")
}
