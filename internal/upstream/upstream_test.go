package upstream_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/upstream"
	"github.com/tmsproject/tms/internal/upstream/providertest"
)

const redirectURL = "http://127.0.0.1:9/callback"

var accounts = []providertest.Account{
	{ID: "alice", Password: "alice-pw", AMR: []string{"pwd"}, Claims: map[string]any{"preferred_username": "alice", "email": "alice@example.org"}},
	{ID: "bob", Password: "bob-pw", AMR: []string{"pwd", "mfa"}, Claims: map[string]any{"preferred_username": "bob"}},
}

// world is a trusted provider behind a proxy, an impostor with the same
// keys that names itself differently, and one with the trusted issuer's
// name but keys of its own.
type world struct {
	proxy             *providertest.Proxy
	trusted           *providertest.Provider
	otherIssuer       *providertest.Provider
	otherKeys         *providertest.Provider
	clientID, secret  string
	otherID, otherSec string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{clientID: "tms", secret: "tms-secret", otherID: "other-app", otherSec: "other-secret"}
	w.proxy = providertest.NewProxy(t)
	clients := []providertest.Client{
		{ID: w.clientID, Secret: w.secret, RedirectURIs: []string{redirectURL}},
		{ID: w.otherID, Secret: w.otherSec, RedirectURIs: []string{redirectURL}},
	}
	w.trusted = providertest.Start(t, providertest.Options{Issuer: w.proxy.URL, Clients: clients, Accounts: accounts})
	w.otherIssuer = providertest.Start(t, providertest.Options{Issuer: w.proxy.URL + "/elsewhere", JWKS: w.trusted.JWKS,
		Clients: clients, Accounts: accounts})
	w.otherKeys = providertest.Start(t, providertest.Options{Issuer: w.proxy.URL, Clients: clients, Accounts: accounts})
	w.proxy.SetTrusted(w.trusted.URL)
	w.proxy.OtherClientID, w.proxy.OtherClientSecret = w.otherID, w.otherSec
	return w
}

func (w *world) provider(t *testing.T, claim string) *upstream.Provider {
	t.Helper()
	p := upstream.New(upstream.Config{Issuer: w.proxy.URL, ClientID: w.clientID, ClientSecret: w.secret, RedirectURL: redirectURL,
		Scopes: []string{"openid", "profile", "email"}, UsernameClaim: claim, Timeout: 30 * time.Second})
	if err := p.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p
}

// browser signs in at the provider like a browser and returns the query
// of the redirect to the callback.
func browser(t *testing.T, authURL, user, password string, cancel bool) url.Values {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirectURL) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !providertest.IsLoginPage(page) {
		t.Fatalf("not the provider's login page (%d):\n%s", resp.StatusCode, page)
	}
	if cancel {
		resp = providertest.Cancel(t, c, resp.Request.URL, page)
	} else {
		resp = providertest.SubmitLogin(t, c, resp.Request.URL, page, user, password)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), redirectURL) {
		t.Fatalf("no redirect to the callback: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

// signIn runs one sign-in and returns the callback's query and the
// secrets it was started with.
func signIn(t *testing.T, p *upstream.Provider, user, password string) (url.Values, upstream.Secrets) {
	t.Helper()
	s := upstream.NewSecrets()
	authURL, err := p.AuthURL(s)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") != s.State ||
		q.Get("nonce") != s.Nonce || q.Get("response_type") != "code" || q.Get("redirect_uri") != redirectURL {
		t.Fatalf("authorization request: %s", authURL)
	}
	return browser(t, authURL, user, password, false), s
}

func TestSignInWithRealProvider(t *testing.T) {
	w := newWorld(t)
	p := w.provider(t, "preferred_username")
	ctx := context.Background()

	// The username is only in UserInfo (the provider keeps profile claims
	// out of the ID token when it issues an access token); amr is in the
	// ID token.
	for _, tc := range []struct {
		user, password string
		amr            []string
	}{{"alice", "alice-pw", []string{"pwd"}}, {"bob", "bob-pw", []string{"pwd", "mfa"}}} {
		q, s := signIn(t, p, tc.user, tc.password)
		if q.Get("state") != s.State {
			t.Fatalf("state came back as %q", q.Get("state"))
		}
		id, err := p.Exchange(ctx, q.Get("code"), s)
		if err != nil {
			t.Fatalf("%s: exchange: %v", tc.user, err)
		}
		if id.Username != tc.user || id.Subject != tc.user || !slices.Equal(id.AMR, tc.amr) {
			t.Fatalf("%s: identity %+v", tc.user, id)
		}
		// A code is good once.
		if _, err := p.Exchange(ctx, q.Get("code"), s); !errors.Is(err, upstream.ErrRejected) {
			t.Fatalf("%s: code replayed: %v", tc.user, err)
		}
	}

	// A wrong PKCE verifier is refused by the provider.
	q, s := signIn(t, p, "alice", "alice-pw")
	s.Verifier = upstream.NewSecrets().Verifier
	if _, err := p.Exchange(ctx, q.Get("code"), s); !errors.Is(err, upstream.ErrRejected) {
		t.Fatalf("wrong verifier: %v", err)
	}

	// A claim nobody has.
	none := w.provider(t, "nickname")
	q, s = signIn(t, none, "alice", "alice-pw")
	if _, err := none.Exchange(ctx, q.Get("code"), s); !errors.Is(err, upstream.ErrNoUsername) {
		t.Fatalf("missing username claim: %v", err)
	}

	// Cancel at the provider.
	s = upstream.NewSecrets()
	authURL, _ := p.AuthURL(s)
	if q := browser(t, authURL, "", "", true); q.Get("error") != "access_denied" || q.Get("state") != s.State {
		t.Fatalf("cancel: %v", q)
	}
}

// Tokens that a real provider issued but that are not for this client,
// this sign-in or from this issuer are refused.
func TestForeignTokensRefused(t *testing.T) {
	w := newWorld(t)
	p := w.provider(t, "preferred_username")
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		mode     providertest.Mode
		impostor *providertest.Provider
		want     error
		detail   string
	}{
		{"issuer", providertest.Impostor, w.otherIssuer, upstream.ErrInvalidToken, "issued by a different provider"},
		{"signature", providertest.Impostor, w.otherKeys, upstream.ErrInvalidToken, "signature"},
		{"audience", providertest.OtherClient, nil, upstream.ErrInvalidToken, "audience"},
		{"nonce", providertest.OtherNonce, nil, upstream.ErrNonce, "nonce"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.impostor != nil {
				w.proxy.SetImpostor(tc.impostor.URL)
			}
			w.proxy.SetMode(tc.mode)
			defer w.proxy.SetMode(providertest.Honest)
			q, s := signIn(t, p, "bob", "bob-pw")
			_, err := p.Exchange(ctx, q.Get("code"), s)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.detail) {
				t.Fatalf("got %v, want %v (%s)", err, tc.want, tc.detail)
			}
		})
	}
}

// A provider that is down at start is unavailable, and becomes available
// when discovery, retried in the background, succeeds.
func TestDiscoveryRetried(t *testing.T) {
	w := newWorld(t)
	w.proxy.SetTrusted("http://127.0.0.1:1") // nothing listens there
	p := upstream.New(upstream.Config{Issuer: w.proxy.URL, ClientID: w.clientID, ClientSecret: w.secret, RedirectURL: redirectURL,
		Scopes: []string{"openid"}, UsernameClaim: "sub", RetryMin: time.Millisecond, RetryMax: 20 * time.Millisecond})
	if err := p.Discover(context.Background()); err == nil || p.Available() {
		t.Fatal("discovery of a provider that is down succeeded")
	}
	if _, err := p.AuthURL(upstream.NewSecrets()); !errors.Is(err, upstream.ErrUnavailable) {
		t.Fatalf("AuthURL before discovery: %v", err)
	}
	if _, err := p.Exchange(context.Background(), "code", upstream.NewSecrets()); !errors.Is(err, upstream.ErrUnavailable) {
		t.Fatalf("Exchange before discovery: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	clocktest.Eventually(t, "a failed discovery", func() bool { return p.LastError() != nil })
	w.proxy.SetTrusted(w.trusted.URL)
	clocktest.Eventually(t, "discovery", p.Available)
	<-done // Run returns once discovery succeeded
	if _, err := p.AuthURL(upstream.NewSecrets()); err != nil {
		t.Fatal(err)
	}
}
