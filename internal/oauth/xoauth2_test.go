package oauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/oauth"
	"github.com/tmsproject/tms/internal/tms"
)

// poll is one request x/oauth2 sent to the token endpoint and its answer.
type poll struct {
	at     time.Time
	basic  bool
	status int
	code   string // the OAuth error code; "" for tokens
}

// recorder is an http.RoundTripper that records the token requests of
// x/oauth2 and signals the first authorization_pending and slow_down.
type recorder struct {
	mu      sync.Mutex
	polls   []poll
	pending chan struct{}
	slow    chan struct{}
}

func newRecorder() *recorder {
	return &recorder{pending: make(chan struct{}), slow: make(chan struct{})}
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, oauth.TokenPath) {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var answer struct {
		Error string `json:"error"`
	}
	json.Unmarshal(body, &answer)
	_, _, basic := req.BasicAuth()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.polls = append(r.polls, poll{at: time.Now(), basic: basic, status: resp.StatusCode, code: answer.Error})
	signal := func(ch chan struct{}) {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
	switch answer.Error {
	case tms.OAuthAuthorizationPending:
		signal(r.pending)
	case tms.OAuthSlowDown:
		signal(r.slow)
	}
	return resp, nil
}

func (r *recorder) recorded() []poll {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]poll(nil), r.polls...)
}

func (r *recorder) count(code string) int {
	n := 0
	for _, p := range r.recorded() {
		if p.code == code {
			n++
		}
	}
	return n
}

// waitFor waits for a signal of the recorder, or fails the test.
func waitFor(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("x/oauth2 did not get %s within 30s", what)
	}
}

// login is one run of x/oauth2's device flow against a test server.
type login struct {
	t   *testing.T
	srv *testServer
	cfg *oauth2.Config
	rec *recorder
	ctx context.Context
	da  *oauth2.DeviceAuthResponse
}

func startLogin(t *testing.T, srv *testServer, style oauth2.AuthStyle) *login {
	t.Helper()
	rec := newRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: rec, Timeout: 30 * time.Second})
	cfg := srv.oauthConfig(style)
	da, err := cfg.DeviceAuth(ctx, oauth2.SetAuthURLParam("tenant", tms.TestTenant))
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	if da.DeviceCode == "" || len(da.UserCode) != 9 || da.VerificationURI != srv.URL+oauth.DevicePath+"?tenant="+tms.TestTenant ||
		da.VerificationURIComplete != da.VerificationURI+"&user_code="+url.QueryEscape(da.UserCode) || da.Interval < 1 || da.Expiry.IsZero() {
		t.Fatalf("device authorization: %+v", da)
	}
	return &login{t: t, srv: srv, cfg: cfg, rec: rec, ctx: ctx, da: da}
}

// token polls like tms login until x/oauth2 returns.
func (l *login) token() (*oauth2.Token, error) {
	return l.cfg.DeviceAccessToken(l.ctx, l.da)
}

// polled is what token returned.
type polled struct {
	tok *oauth2.Token
	err error
}

// pollInBackground runs token in a goroutine, so that the test goroutine
// can play the user meanwhile.
func (l *login) pollInBackground() <-chan polled {
	out := make(chan polled, 1)
	go func() {
		tok, err := l.token()
		out <- polled{tok, err}
	}()
	return out
}

// wantCode fails unless err is an RFC 6749 error with the code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != code {
		t.Fatalf("got %v, want the OAuth error %s", err, code)
	}
	if re.Response.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("error answer without Cache-Control: no-store")
	}
}

// me calls the user API with an access token.
func me(t *testing.T, srv *testServer, token string) map[string]any {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+"/v1/tms/user/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/tms/user/me: status %d, %v %v", resp.StatusCode, out, err)
	}
	return out
}

var authStyles = []struct {
	name  string
	style oauth2.AuthStyle
}{
	{"AutoDetect", oauth2.AuthStyleAutoDetect},
	{"InParams", oauth2.AuthStyleInParams},
	{"InHeader", oauth2.AuthStyleInHeader},
}

// TestXOAuth2 runs golang.org/x/oauth2, the library of tms login, through
// the device flow of the real server in each client authentication style.
// The scenarios mostly wait for poll intervals, so they run side by side,
// a few at a time, each with a server of its own.
func TestXOAuth2(t *testing.T) {
	scenarios := []struct {
		name string
		fn   func(*testing.T, backend, oauth2.AuthStyle)
	}{
		{"Approve", testApprove},
		{"Deny", testDeny},
		{"Expiry", testExpiry},
		{"SlowDown", testSlowDown},
		{"ReplayRedeemedCode", testReplay},
		{"ConcurrentPolls", testConcurrentPolls},
		{"WrongTOTP", testWrongTOTP},
		{"UserCodeBruteForce", testBruteForce},
	}
	slots := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, b := range backends() {
		for _, st := range authStyles {
			for _, sc := range scenarios {
				wg.Add(1)
				go func() {
					defer wg.Done()
					slots <- struct{}{}
					defer func() { <-slots }()
					t.Run(b.name+"/"+st.name+"/"+sc.name, func(t *testing.T) { sc.fn(t, b, st.style) })
				}()
			}
		}
	}
	wg.Wait()
}

// testApprove: the user approves after the device has polled; the device
// gets tokens, and while it waited no poll was answered slow_down, also not
// the immediate retries of the auto-detect style.
func testApprove(t *testing.T, b backend, style oauth2.AuthStyle) {
	srv := startServer(t, b, serverOptions{pollInterval: 2 * time.Second})
	l := startLogin(t, srv, style)
	result := l.pollInBackground()
	// Let two pending polls pass before approving (in the auto-detect
	// style, two Basic requests and their retries).
	clocktest.Eventually(t, "two pending polls", func() bool {
		basic, body := 0, 0
		for _, p := range l.rec.recorded() {
			switch {
			case p.code != tms.OAuthAuthorizationPending:
			case p.basic:
				basic++
			default:
				body++
			}
		}
		if style == oauth2.AuthStyleAutoDetect {
			return basic >= 2 && body >= 2
		}
		return basic+body >= 2
	})
	newBrowser(t, srv.URL).approve(srv, l.da.UserCode)
	r := <-result
	tok, err := r.tok, r.err
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v\npolls: %+v", err, l.rec.recorded())
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
		t.Fatalf("token: %+v", tok)
	}
	polls := l.rec.recorded()
	if n := l.rec.count(tms.OAuthSlowDown); n != 0 {
		t.Fatalf("%d polls answered slow_down although the client kept the interval: %+v", n, polls)
	}
	if style == oauth2.AuthStyleAutoDetect {
		// Each pending tick is a Basic request and its retry in the body.
		basic, body := 0, 0
		for _, p := range polls {
			if p.code == tms.OAuthAuthorizationPending {
				if p.basic {
					basic++
				} else {
					body++
				}
			}
		}
		if basic < 2 || body < 2 {
			t.Fatalf("auto-detect did not retry each pending poll in the body style: %+v", polls)
		}
	}
	info := me(t, srv, tok.AccessToken)
	if info["username"] != tms.TestUser || info["tenant"] != tms.TestTenant || info["client_id"] != tms.CLIClientID {
		t.Fatalf("user/me: %v", info)
	}

	// The refresh token works through x/oauth2's token source and rotates.
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	fresh, err := l.cfg.TokenSource(l.ctx, &expired).Token()
	if err != nil || fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %+v %v", fresh, err)
	}
	me(t, srv, fresh.AccessToken)
}

func testDeny(t *testing.T, b backend, style oauth2.AuthStyle) {
	srv := startServer(t, b, serverOptions{})
	l := startLogin(t, srv, style)
	result := l.pollInBackground()
	waitFor(t, l.rec.pending, "authorization_pending")
	newBrowser(t, srv.URL).deny(srv, l.da.UserCode)
	wantCode(t, (<-result).err, tms.OAuthAccessDenied)
}

// testExpiry: nobody answers; the device learns that the code expired.
// (x/oauth2 would otherwise stop at the expiry it computed itself.)
func testExpiry(t *testing.T, b backend, style oauth2.AuthStyle) {
	srv := startServer(t, b, serverOptions{lifetime: 3 * time.Second})
	l := startLogin(t, srv, style)
	l.da.Expiry = time.Time{}
	_, err := l.token()
	wantCode(t, err, tms.OAuthExpiredToken)
	if l.rec.count(tms.OAuthAuthorizationPending) == 0 {
		t.Fatalf("no poll was pending before the expiry: %+v", l.rec.recorded())
	}
}

// testSlowDown: a device that polls faster than the interval is told to
// slow down (in the auto-detect style too, where the Basic request and its
// retry are both too fast), x/oauth2 adds 5 seconds, and the login still
// completes.
func testSlowDown(t *testing.T, b backend, style oauth2.AuthStyle) {
	srv := startServer(t, b, serverOptions{pollInterval: 2 * time.Second})
	l := startLogin(t, srv, style)
	l.da.Interval = 1 // poll twice as often as the server allows
	result := l.pollInBackground()
	waitFor(t, l.rec.slow, "slow_down")
	newBrowser(t, srv.URL).approve(srv, l.da.UserCode)
	r := <-result
	tok, err := r.tok, r.err
	if err != nil {
		t.Fatalf("DeviceAccessToken after slow_down: %v\npolls: %+v", err, l.rec.recorded())
	}
	me(t, srv, tok.AccessToken)
}

// testReplay: a redeemed device code gets invalid_grant.
func testReplay(t *testing.T, b backend, style oauth2.AuthStyle) {
	srv := startServer(t, b, serverOptions{})
	l := startLogin(t, srv, style)
	newBrowser(t, srv.URL).approve(srv, l.da.UserCode)
	if _, err := l.token(); err != nil {
		t.Fatal(err)
	}
	_, err := l.token()
	wantCode(t, err, tms.OAuthInvalidGrant)
}

// testConcurrentPolls: two devices poll the approved code at once; exactly
// one gets tokens.
func testConcurrentPolls(t *testing.T, b backend, style oauth2.AuthStyle) {
	srv := startServer(t, b, serverOptions{})
	l := startLogin(t, srv, style)
	newBrowser(t, srv.URL).approve(srv, l.da.UserCode)
	const n = 2
	var wg sync.WaitGroup
	results := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			da := *l.da
			_, err := l.cfg.DeviceAccessToken(l.ctx, &da)
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		if err == nil {
			won++
			continue
		}
		wantCode(t, err, tms.OAuthInvalidGrant)
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent polls got tokens, want exactly 1", won, n)
	}
}

// testWrongTOTP: a wrong one-time code does not sign in and the device
// keeps waiting; the right one then works.
func testWrongTOTP(t *testing.T, b backend, style oauth2.AuthStyle) {
	srv := startServer(t, b, serverOptions{})
	l := startLogin(t, srv, style)
	result := l.pollInBackground()
	waitFor(t, l.rec.pending, "authorization_pending")
	br := newBrowser(t, srv.URL)
	right := totp(t, srv.user.TOTPSecret, 0)
	wrong := fmt.Sprintf("%06d", (atoi(right)+1)%1_000_000)
	p := br.signIn(l.da.UserCode, srv.user.Username, srv.user.Password, wrong)
	p.want(t, http.StatusUnauthorized, "The username, password or one-time code is not right.")
	// The device keeps waiting.
	polls := len(l.rec.recorded())
	clocktest.Eventually(t, "a poll after the failed sign-in", func() bool { return len(l.rec.recorded()) > polls })
	for _, p := range l.rec.recorded()[polls:] {
		if p.code != tms.OAuthAuthorizationPending {
			t.Fatalf("a poll after a failed sign-in was answered %+v", p)
		}
	}
	p = br.submit(p, oauth.DevicePath+"/signin", url.Values{"user_code": {l.da.UserCode}, "username": {srv.user.Username},
		"password": {srv.user.Password}, "otp": {right}}).want(t, 200, "Approve access")
	br.decide(p, l.da.UserCode, "approve", "1").want(t, 200, "Device approved")
	r := <-result
	if r.err != nil {
		t.Fatal(r.err)
	}
	me(t, srv, r.tok.AccessToken)
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// testBruteForce: guessing user codes from one address is refused with
// 429 after the allowed failures, even for the right code, until the
// minute has passed; the device keeps waiting and completes afterwards.
func testBruteForce(t *testing.T, b backend, style oauth2.AuthStyle) {
	srv := startServer(t, b, serverOptions{attempts: 5, attemptsTotal: 50})
	l := startLogin(t, srv, style)
	br := newBrowser(t, srv.URL)
	entry := br.get(oauth.DevicePath).want(t, 200, "Enter the code")
	guess := func(code string) page {
		return br.submit(entry, oauth.DevicePath+"/signin", url.Values{"user_code": {code}, "username": {"mallory"},
			"password": {"guess"}, "otp": {"123456"}})
	}
	for _, g := range []string{"BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD", "FFFF-FFFF", "GGGG-GGGG"} {
		guess(g).want(t, http.StatusUnauthorized, "not right")
	}
	p := guess("HHHH-HHHH")
	p.want(t, http.StatusTooManyRequests, "Too many")
	if p.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Even the right code is refused now, and so is a sign-in.
	br.submit(entry, oauth.DevicePath, url.Values{"user_code": {l.da.UserCode}}).want(t, http.StatusTooManyRequests)
	br.submit(entry, oauth.DevicePath+"/signin", url.Values{"user_code": {l.da.UserCode}, "username": {"x"}, "password": {"y"}}).
		want(t, http.StatusTooManyRequests)

	result := l.pollInBackground()
	waitFor(t, l.rec.pending, "authorization_pending")
	srv.limiter.Add(time.Minute)
	br.approve(srv, l.da.UserCode)
	if r := <-result; r.err != nil {
		t.Fatal(r.err)
	}
}
