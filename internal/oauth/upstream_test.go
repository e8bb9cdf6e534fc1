package oauth_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/tmsproject/tms/internal/chromiumtest"
	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/oauth"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
	"github.com/tmsproject/tms/internal/totp/totptest"
	"github.com/tmsproject/tms/internal/upstream"
	"github.com/tmsproject/tms/internal/upstream/providertest"
)

// The accounts of the test provider: alice signs in with a password only,
// bob with a second factor too.
var providerAccounts = []providertest.Account{
	{ID: "alice", Password: "alice-pw", AMR: []string{"pwd"}, Claims: map[string]any{"preferred_username": "alice"}},
	{ID: "bob", Password: "bob-pw", AMR: []string{"pwd", "mfa"}, Claims: map[string]any{"preferred_username": "bob"}},
}

// upstreamWorld is a test server whose test tenant signs in through a real
// provider ("campus") behind a proxy, with the impostors the proxy can
// hand a sign-in to.
type upstreamWorld struct {
	srv         *testServer
	proxy       *providertest.Proxy
	trusted     *providertest.Provider
	otherIssuer *providertest.Provider
	otherKeys   *providertest.Provider
	provider    *upstream.Provider
	clock       *clocktest.Clock
}

type worldOptions struct {
	local tms.LocalTOTP
	// down starts the server while the provider cannot be reached.
	down bool
	// impostors starts the providers with another issuer or other keys.
	impostors  bool
	noPassword bool
	// realTime runs the rules on the real clock, as a client that polls
	// in real time needs.
	realTime bool
	audit    bool
}

func newUpstreamWorld(t *testing.T, b backend, o worldOptions) *upstreamWorld {
	t.Helper()
	w := &upstreamWorld{proxy: providertest.NewProxy(t), clock: clocktest.New(time.Now())}
	w.proxy.OtherClientID, w.proxy.OtherClientSecret = "other-app", "other-secret"
	var so serverOptions
	if !o.realTime {
		so.clock = w.clock
	}
	so.audit = o.audit
	if o.noPassword {
		so.noPassword = []string{tms.TestTenant}
	}
	so.upstreams = func(baseURL string) ([]oauth.Upstream, []tms.UpstreamRule) {
		callback := baseURL + "/v1/oauth2/upstream/campus/callback"
		clients := []providertest.Client{{ID: "tms", Secret: "tms-secret", RedirectURIs: []string{callback}},
			{ID: "other-app", Secret: "other-secret", RedirectURIs: []string{callback}}}
		w.trusted = providertest.Start(t, providertest.Options{Issuer: w.proxy.URL, Clients: clients, Accounts: providerAccounts})
		if o.impostors {
			w.otherIssuer = providertest.Start(t, providertest.Options{Issuer: w.proxy.URL + "/elsewhere", JWKS: w.trusted.JWKS,
				Clients: clients, Accounts: providerAccounts})
			w.otherKeys = providertest.Start(t, providertest.Options{Issuer: w.proxy.URL, Clients: clients, Accounts: providerAccounts})
		}
		w.proxy.SetTrusted(w.trusted.URL)
		w.provider = upstream.New(upstream.Config{Issuer: w.proxy.URL, ClientID: "tms", ClientSecret: "tms-secret", RedirectURL: callback,
			Scopes: []string{"openid", "profile"}, UsernameClaim: "preferred_username", Timeout: 30 * time.Second})
		if o.down {
			w.proxy.SetTrusted("http://127.0.0.1:1") // nothing listens there
		} else if err := w.provider.Discover(context.Background()); err != nil {
			t.Fatal(err)
		}
		return []oauth.Upstream{{ID: "campus", Tenant: tms.TestTenant, Name: "Campus sign-in", Provider: w.provider}},
			[]tms.UpstreamRule{{ID: "campus", Tenant: tms.TestTenant, CreateUsers: true, LocalTOTP: o.local,
				MFAAMR: []string{"mfa", "otp"}}}
	}
	w.srv = startServer(t, b, so)
	return w
}

var upstreamLink = regexp.MustCompile(`href="([^"]*/v1/oauth2/upstream/campus/start[^"]*)"`)

// toSignIn opens the sign-in page of a user code.
func (b *browser) toSignIn(userCode string) page {
	b.t.Helper()
	p := b.get(oauth.DevicePath+"?user_code="+url.QueryEscape(userCode)).want(b.t, 200, userCode)
	return b.submit(p, oauth.DevicePath, url.Values{"user_code": {userCode}}).want(b.t, 200, "Sign in", userCode, "Sign in with Campus sign-in")
}

// toProvider presses the provider's button of a sign-in page and returns
// the provider's login page.
func (b *browser) toProvider(p page) page {
	b.t.Helper()
	m := upstreamLink.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no button of the provider on the page:\n%s", p.body)
	}
	p = b.get(html.UnescapeString(m[1]))
	if p.status != 200 || !providertest.IsLoginPage([]byte(p.body)) {
		b.t.Fatalf("the button did not lead to the provider's login page: %d %s\n%s", p.status, p.url, p.body)
	}
	return p
}

// providerLogin signs in at the provider's login page and returns the
// page the browser ends on at TMS.
func (b *browser) providerLogin(p page, username, password string) page {
	b.t.Helper()
	return b.response(providertest.SubmitLogin(b.t, b.http, p.url, []byte(p.body), username, password))
}

func (b *browser) response(resp *http.Response) page {
	b.t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, body: string(body), path: resp.Request.URL.Path, header: resp.Header, url: resp.Request.URL}
}

// upstreamSignIn walks from the code to the page after the provider.
func (b *browser) upstreamSignIn(userCode, username, password string) page {
	b.t.Helper()
	return b.providerLogin(b.toProvider(b.toSignIn(userCode)), username, password)
}

// stopAtCallback makes the browser stop at the redirect to the callback
// and return it instead of following it.
func (b *browser) stopAtCallback() func() {
	b.http.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasSuffix(req.URL.Path, "/callback") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return func() { b.http.CheckRedirect = nil }
}

// callbackURL walks to the provider, signs in, and returns the callback
// URL the provider sends the browser to, without following it.
func (b *browser) callbackURL(userCode, username, password string) string {
	b.t.Helper()
	login := b.toProvider(b.toSignIn(userCode))
	done := b.stopAtCallback()
	defer done()
	p := b.providerLogin(login, username, password)
	loc := p.header.Get("Location")
	if !strings.Contains(loc, "/v1/oauth2/upstream/campus/callback?") {
		b.t.Fatalf("the provider did not send the browser to the callback: %d %q", p.status, loc)
	}
	return loc
}

func (b *browser) getURL(raw string) page {
	b.t.Helper()
	req, err := http.NewRequest("GET", raw, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// finish enters the user's TOTP code on the one-time code page, approves
// and returns the token the device polls.
func (w *upstreamWorld) approve(t *testing.T, b *browser, consent page, userCode, deviceCode string) string {
	t.Helper()
	b.decide(consent, userCode, "approve", "2").want(t, 200, "Device approved")
	status, out := pollOnce(t, w.srv, deviceCode)
	tok, _ := out["access_token"].(string)
	if status != 200 || tok == "" {
		t.Fatalf("poll after approval: %d %v", status, out)
	}
	return tok
}

// totp returns the user's code for the n-th sign-in of a test by the
// server's clock (see totp).
func (w *upstreamWorld) totp(t *testing.T, secret string, n int) string {
	t.Helper()
	code, err := tms.TOTPCode(secret, w.clock.Now().Add(time.Duration(n)*30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

var enrollSecret = regexp.MustCompile(`id="secret">([A-Z2-7 ]+)<`)

// TestUpstreamWithoutMFA: the provider asserts only pwd. With when-no-mfa
// the user enrols TOTP at the first sign-in and enters its code at the
// next; the login's token then works.
func TestUpstreamWithoutMFA(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			w := newUpstreamWorld(t, b, worldOptions{local: tms.LocalTOTPWhenNoMFA})
			ctx := context.Background()
			code, userCode, _ := deviceCode(t, w.srv)
			br := newBrowser(t, w.srv.URL)
			p := br.upstreamSignIn(userCode, "alice", "alice-pw").want(t, 200, "Set up your authenticator app", "alice")
			u, err := w.srv.st.GetUser(ctx, tms.TestTenant, "alice")
			if err != nil || u.Origin != store.UpstreamOrigin("campus") || u.PasswordHash != "" {
				t.Fatalf("the new user: %+v %v", u, err)
			}
			secret := strings.ReplaceAll(enrollSecret.FindStringSubmatch(p.body)[1], " ", "")
			p = br.submit(p, oauth.DevicePath+"/enroll", url.Values{"user_code": {userCode}, "otp": {w.totp(t, secret, 0)}}).
				want(t, 200, "Approve access", "alice")
			tok := w.approve(t, br, p, userCode, code)
			if info := me(t, w.srv, tok); info["username"] != "alice" {
				t.Fatalf("user/me: %v", info)
			}

			// The next login asks for the code of the enrolled app.
			code, userCode, _ = deviceCode(t, w.srv)
			br = newBrowser(t, w.srv.URL)
			p = br.upstreamSignIn(userCode, "alice", "alice-pw").want(t, 200, "Enter your one-time code", "alice")
			p = br.submit(p, oauth.DevicePath+"/otp", url.Values{"user_code": {userCode}, "otp": {totptest.Wrong(t, secret, w.clock.Now())}}).
				want(t, http.StatusUnauthorized, "not right")
			p = br.submit(p, oauth.DevicePath+"/otp", url.Values{"user_code": {userCode}, "otp": {w.totp(t, secret, 1)}}).
				want(t, 200, "Approve access", "alice")
			w.approve(t, br, p, userCode, code)
			wantMetrics(t, w.srv, `tms_upstream_sign_ins_total{result="totp",upstream="campus"} 2`,
				`tms_upstream_sign_ins_total{result="mfa",upstream="campus"} 0`)
		})
	}
}

// TestUpstreamWithMFA: the provider asserts mfa; no TOTP is asked and the
// user's MFA record is renewed.
func TestUpstreamWithMFA(t *testing.T) {
	w := newUpstreamWorld(t, sqliteBackend, worldOptions{local: tms.LocalTOTPWhenNoMFA, audit: true})
	ctx := context.Background()
	code, userCode, _ := deviceCode(t, w.srv)
	br := newBrowser(t, w.srv.URL)
	p := br.upstreamSignIn(userCode, "bob", "bob-pw").want(t, 200, "Approve access", "bob")
	mfa, err := w.srv.st.GetUserMFA(ctx, tms.TestTenant, "bob")
	if err != nil || !mfa.Enabled || !mfa.ExpiresAt.After(w.clock.Now().Add(23*time.Hour)) {
		t.Fatalf("bob's MFA record: %+v %v", mfa, err)
	}
	tok := w.approve(t, br, p, userCode, code)
	if info := me(t, w.srv, tok); info["username"] != "bob" {
		t.Fatalf("user/me: %v", info)
	}
	u, err := w.srv.st.GetUser(ctx, tms.TestTenant, "bob")
	if err != nil || u.TOTPSecret != "" {
		t.Fatalf("bob was asked to enrol TOTP: %+v %v", u, err)
	}
	wantMetrics(t, w.srv, `tms_upstream_sign_ins_total{result="mfa",upstream="campus"} 1`)
	wantUpstreamEvent(t, w.srv, "bob", "upstream=campus; result=mfa")
}

// wantUpstreamEvent waits for the audit event of a return from the
// provider with the test tenant, the user and the detail.
func wantUpstreamEvent(t *testing.T, srv *testServer, user, detail string) {
	t.Helper()
	clocktest.Eventually(t, "the audit event user.login_upstream of "+user, func() bool {
		for _, e := range listAudit(t, srv) {
			if e.Type == "user.login_upstream" && e.Tenant == tms.TestTenant && e.User == user && strings.Contains(e.Detail, detail) {
				return true
			}
		}
		return false
	})
}

// TestUpstreamNever: with local_totp = "never" a sign-in without a second
// factor is refused with a page that says so; the request stays usable.
func TestUpstreamNever(t *testing.T) {
	w := newUpstreamWorld(t, sqliteBackend, worldOptions{local: tms.LocalTOTPNever, audit: true})
	code, userCode, _ := deviceCode(t, w.srv)
	newBrowser(t, w.srv.URL).upstreamSignIn(userCode, "alice", "alice-pw").
		want(t, http.StatusForbidden, "Second factor required", "did not confirm a second factor")
	br := newBrowser(t, w.srv.URL)
	p := br.upstreamSignIn(userCode, "bob", "bob-pw").want(t, 200, "Approve access", "bob")
	w.approve(t, br, p, userCode, code)
	wantMetrics(t, w.srv, `tms_upstream_sign_ins_total{result="no_mfa",upstream="campus"} 1`)
	wantUpstreamEvent(t, w.srv, "alice", "upstream=campus; result=no_mfa")
}

// TestUpstreamFailures: each failure has its own page, and the same
// device request is signed in afterwards.
func TestUpstreamFailures(t *testing.T) {
	w := newUpstreamWorld(t, sqliteBackend, worldOptions{local: tms.LocalTOTPWhenNoMFA, impostors: true})
	// finish signs bob in for the request in a new browser and approves:
	// the request was still usable.
	finish := func(t *testing.T, code, userCode string) {
		t.Helper()
		br := newBrowser(t, w.srv.URL)
		p := br.upstreamSignIn(userCode, "bob", "bob-pw").want(t, 200, "Approve access", "bob")
		w.approve(t, br, p, userCode, code)
	}

	t.Run("access denied", func(t *testing.T) {
		code, userCode, _ := deviceCode(t, w.srv)
		br := newBrowser(t, w.srv.URL)
		login := br.toProvider(br.toSignIn(userCode))
		br.response(providertest.Cancel(t, br.http, login.url, []byte(login.body))).
			want(t, http.StatusForbidden, "Sign-in cancelled", "was cancelled or refused", "Sign in with Campus sign-in")
		finish(t, code, userCode)
	})
	t.Run("wrong state", func(t *testing.T) {
		code, userCode, _ := deviceCode(t, w.srv)
		br := newBrowser(t, w.srv.URL)
		cb, _ := url.Parse(br.callbackURL(userCode, "bob", "bob-pw"))
		q := cb.Query()
		q.Set("state", "forged"+q.Get("state"))
		cb.RawQuery = q.Encode()
		br.getURL(cb.String()).want(t, http.StatusBadRequest, "Please sign in again", "did not start in this browser")
		finish(t, code, userCode)
	})
	t.Run("replayed state", func(t *testing.T) {
		code, userCode, _ := deviceCode(t, w.srv)
		br := newBrowser(t, w.srv.URL)
		cb := br.callbackURL(userCode, "bob", "bob-pw")
		consent := br.getURL(cb).want(t, 200, "Approve access", "bob")
		br.getURL(cb).want(t, http.StatusBadRequest, "Please sign in again", "already used")
		w.approve(t, br, consent, userCode, code)
	})
	t.Run("state of another browser", func(t *testing.T) {
		code, userCode, _ := deviceCode(t, w.srv)
		cb := newBrowser(t, w.srv.URL).callbackURL(userCode, "bob", "bob-pw")
		newBrowser(t, w.srv.URL).getURL(cb).want(t, http.StatusBadRequest, "did not start in this browser")
		finish(t, code, userCode)
	})
	t.Run("expired request", func(t *testing.T) {
		_, userCode, _ := deviceCode(t, w.srv)
		br := newBrowser(t, w.srv.URL)
		login := br.toProvider(br.toSignIn(userCode))
		w.clock.Add(3 * time.Minute) // the requests of the test server live 2 minutes
		br.providerLogin(login, "bob", "bob-pw").want(t, http.StatusGone, "Code expired", "has expired")
		wantMetrics(t, w.srv, `tms_upstream_sign_ins_total{result="expired",upstream="campus"} 1`)
	})
	for _, tc := range []struct {
		name string
		set  func()
	}{
		{"wrong issuer", func() { w.proxy.SetImpostor(w.otherIssuer.URL); w.proxy.SetMode(providertest.Impostor) }},
		{"wrong signature", func() { w.proxy.SetImpostor(w.otherKeys.URL); w.proxy.SetMode(providertest.Impostor) }},
		{"wrong audience", func() { w.proxy.SetMode(providertest.OtherClient) }},
		{"wrong nonce", func() { w.proxy.SetMode(providertest.OtherNonce) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, userCode, _ := deviceCode(t, w.srv)
			tc.set()
			newBrowser(t, w.srv.URL).upstreamSignIn(userCode, "bob", "bob-pw").
				want(t, http.StatusBadGateway, "Sign-in not verified", "could not be verified", "Sign in with Campus sign-in")
			w.proxy.SetMode(providertest.Honest)
			finish(t, code, userCode)
		})
	}
	t.Run("provider down at the callback", func(t *testing.T) {
		code, userCode, _ := deviceCode(t, w.srv)
		br := newBrowser(t, w.srv.URL)
		cb := br.callbackURL(userCode, "bob", "bob-pw")
		w.proxy.SetTrusted("http://127.0.0.1:1")
		br.getURL(cb).want(t, http.StatusServiceUnavailable, "Sign-in provider unavailable", "cannot be reached right now")
		w.proxy.SetTrusted(w.trusted.URL)
		finish(t, code, userCode)
	})
	wantMetrics(t, w.srv, `tms_upstream_sign_ins_total{result="access_denied",upstream="campus"} 1`,
		`tms_upstream_sign_ins_total{result="bad_state",upstream="campus"} 3`,
		`tms_upstream_sign_ins_total{result="invalid_token",upstream="campus"} 4`,
		`tms_upstream_sign_ins_total{result="unavailable",upstream="campus"} 1`)
}

// TestUpstreamDown: a provider that is down when the server starts makes
// its button say so, and the start route answers 503; once discovery
// succeeds the same request signs in.
func TestUpstreamDown(t *testing.T) {
	w := newUpstreamWorld(t, sqliteBackend, worldOptions{local: tms.LocalTOTPWhenNoMFA, down: true})
	code, userCode, _ := deviceCode(t, w.srv)
	br := newBrowser(t, w.srv.URL)
	p := br.get(oauth.DevicePath+"?user_code="+url.QueryEscape(userCode)).want(t, 200, userCode)
	p = br.submit(p, oauth.DevicePath, url.Values{"user_code": {userCode}}).
		want(t, 200, "Campus sign-in is unavailable right now", "Password")
	if upstreamLink.MatchString(p.body) {
		t.Fatalf("the page links to a provider that is down:\n%s", p.body)
	}
	start := "/v1/oauth2/upstream/campus/start?user_code=" + url.QueryEscape(userCode) + "&csrf=" + url.QueryEscape(p.field(t, "csrf"))
	br.get(start).want(t, http.StatusServiceUnavailable, "Sign-in provider unavailable", "cannot be reached right now")
	// Without the session's CSRF token the start route does nothing.
	br.get("/v1/oauth2/upstream/campus/start?user_code="+url.QueryEscape(userCode)+"&csrf=x").want(t, http.StatusForbidden, "start again")
	br.get("/v1/oauth2/upstream/nope/start").want(t, http.StatusNotFound, "no such sign-in provider")

	w.proxy.SetTrusted(w.trusted.URL)
	if err := w.provider.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	p = br.upstreamSignIn(userCode, "bob", "bob-pw").want(t, 200, "Approve access", "bob")
	w.approve(t, br, p, userCode, code)
}

// TestPasswordSignInOff: a tenant with password_sign_in = false refuses
// password sign-ins, even with the right password and code, and the
// sign-in page that names the tenant (from the verification URI of the
// tenant's endpoint) shows only the provider's button.
func TestPasswordSignInOff(t *testing.T) {
	w := newUpstreamWorld(t, sqliteBackend, worldOptions{local: tms.LocalTOTPWhenNoMFA, noPassword: true})
	code, userCode, _ := deviceCode(t, w.srv)
	br := newBrowser(t, w.srv.URL)
	named := br.get(oauth.DevicePath+"/signin?tenant=test&user_code="+url.QueryEscape(userCode)).
		want(t, 200, "Sign in with Campus sign-in", "test")
	if strings.Contains(named.body, `name="password"`) {
		t.Fatalf("the sign-in page of the tenant shows the password form:\n%s", named.body)
	}
	p := br.toSignIn(userCode)
	br.submit(p, oauth.DevicePath+"/signin", url.Values{"user_code": {userCode}, "username": {w.srv.user.Username},
		"password": {w.srv.user.Password}, "otp": {w.totp(t, w.srv.user.TOTPSecret, 0)}}).
		want(t, http.StatusForbidden, "signs users in through its identity provider only")
	// The button of the named page signs in.
	p = br.providerLogin(br.toProvider(named), "bob", "bob-pw").want(t, 200, "Approve access", "bob")
	w.approve(t, br, p, userCode, code)
}

// TestUpstreamChromium walks the upstream sign-in once in a real headless
// Chromium: the verification link, the provider's button, the provider's
// own login page, back to the consent (the provider asserts a second
// factor), approval; x/oauth2 then gets the tokens, which work.
func TestUpstreamChromium(t *testing.T) {
	w := newUpstreamWorld(t, sqliteBackend, worldOptions{local: tms.LocalTOTPWhenNoMFA, realTime: true})
	browser := chromiumtest.Context(t, 90*time.Second)
	l := startLogin(t, w.srv, oauth2.AuthStyleAutoDetect)
	result := l.pollInBackground()

	// step runs actions, then waits until the page has an element that
	// matches want.
	step := func(what, want string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(browser, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		clocktest.Eventually(t, what+": an element "+want, func() bool {
			ok, err := chromedp.Run(browser, chromedp.Evaluate[bool](`document.querySelector("`+want+`") !== null`))
			return err == nil && ok
		})
	}
	step("open the link", "#confirm", chromedp.Navigate(l.da.VerificationURIComplete))
	step("confirm the code", "#upstream-campus", chromedp.Click(chromedp.ID("confirm")))
	step("press the provider's button", "input[name=login]", chromedp.Click(chromedp.ID("upstream-campus")))
	step("sign in at the provider", "#days",
		chromedp.SendKeys(chromedp.CSS("input[name=login]"), "bob"),
		chromedp.SendKeys(chromedp.CSS("input[name=password]"), "bob-pw"),
		chromedp.Click(chromedp.CSS(`form[action$="/login"] button`)))
	step("approve for 5 days", "#result",
		chromedp.SetValue(chromedp.ID("days"), "5"),
		chromedp.Click(chromedp.ID("approve")))
	text, err := chromedp.Run(browser, chromedp.Text(chromedp.ID("result")))
	if err != nil || !strings.Contains(text, "for 5 days") {
		t.Fatalf("the result page says %q (%v)", text, err)
	}
	r := <-result
	if r.err != nil {
		t.Fatalf("x/oauth2 after the browser approved: %v", r.err)
	}
	if info := me(t, w.srv, r.tok.AccessToken); info["username"] != "bob" {
		t.Fatalf("user/me: %v", info)
	}
}
