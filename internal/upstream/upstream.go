// Package upstream signs users in through an upstream OpenID Connect
// provider (Keycloak, CILogon, Okta, ...) with the authorization code flow,
// PKCE (S256), state and nonce. Discovery, the code exchange, ID token
// verification (signature from the provider's JWKS, iss, aud, exp) and the
// UserInfo request are left to github.com/coreos/go-oidc/v3 and
// golang.org/x/oauth2; this package adds the nonce check, reads the
// username and the second-factor claims, retries discovery in the
// background while the provider is down, and bounds every outbound request
// with a timeout. It knows nothing of tenants, users or pages.
package upstream

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// The ways a sign-in can fail. Errors of Exchange wrap one of them, with
// the cause for logs.
var (
	// ErrUnavailable: discovery has not succeeded yet, or the provider
	// cannot be reached or answers with a server error.
	ErrUnavailable = errors.New("identity provider unavailable")
	// ErrRejected: the provider refused to exchange the code (used,
	// expired, or issued for another client or verifier).
	ErrRejected = errors.New("the identity provider refused the authorization code")
	// ErrInvalidToken: the ID token is missing or fails verification
	// (signature, issuer, audience, expiry).
	ErrInvalidToken = errors.New("invalid ID token")
	// ErrNonce: the ID token's nonce is not the one of this sign-in.
	ErrNonce = errors.New("the ID token's nonce does not match this sign-in")
	// ErrNoUsername: neither the ID token nor UserInfo has the username
	// claim as a string.
	ErrNoUsername = errors.New("no username claim")
)

// Config configures a Provider.
type Config struct {
	// Issuer is the provider's issuer URL.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the callback registered at the provider.
	RedirectURL string
	// Scopes are requested; they must include "openid".
	Scopes []string
	// ACRValues are requested as acr_values when not empty.
	ACRValues []string
	// UsernameClaim names the claim that holds the username.
	UsernameClaim string
	// Timeout bounds each request to the provider (default 10s).
	Timeout time.Duration
	// Transport carries the requests; nil means a copy of
	// http.DefaultTransport.
	Transport http.RoundTripper
	// RetryMin and RetryMax bound the wait between discovery attempts
	// (defaults 1s and 5m); the wait doubles after each failure.
	RetryMin, RetryMax time.Duration
	// Now returns the current time, for the ID token's expiry; nil means
	// time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// maxResponseBytes bounds what is read from the provider in one answer,
// and maxConnsPerHost the connections open to it.
const (
	maxResponseBytes = 1 << 20
	maxConnsPerHost  = 16
)

// Provider is one upstream OpenID Connect provider. It is safe for
// concurrent use.
type Provider struct {
	cfg    Config
	client *http.Client
	// disc is nil until discovery succeeds.
	disc atomic.Pointer[discovered]
	// lastErr is the latest discovery failure, for logs and tests.
	lastErr atomic.Pointer[error]
}

type discovered struct {
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	userInfo bool
}

// New returns a provider that is unavailable until Discover succeeds; Run
// retries it in the background.
func New(cfg Config) *Provider {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = time.Second
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(cfg.RetryMin, 5*time.Minute)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	transport := cfg.Transport
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// Sign-ins wait at most the timeout for one of these connections.
		t.MaxConnsPerHost = maxConnsPerHost
		transport = t
	}
	return &Provider{cfg: cfg, client: &http.Client{
		Timeout:   cfg.Timeout,
		Transport: limitedTransport{transport},
		// The provider's endpoints answer directly; a redirect is refused.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// limitedTransport cuts every response body at maxResponseBytes.
type limitedTransport struct{ next http.RoundTripper }

func (t limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err == nil {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, maxResponseBytes), resp.Body}
	}
	return resp, err
}

// Available reports whether discovery has succeeded.
func (p *Provider) Available() bool { return p.disc.Load() != nil }

// LastError returns the latest discovery failure, or nil.
func (p *Provider) LastError() error {
	if e := p.lastErr.Load(); e != nil {
		return *e
	}
	return nil
}

// Discover reads the provider's discovery document once. After it
// succeeds the provider is available for good; the signing keys are
// fetched (and refetched when a token names an unknown key) on demand.
func (p *Provider) Discover(ctx context.Context) error {
	if p.Available() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, p.client), p.cfg.Issuer)
	if err != nil {
		err = fmt.Errorf("discovery at %s: %w", p.cfg.Issuer, err)
		p.lastErr.Store(&err)
		return err
	}
	var meta struct {
		UserInfo string `json:"userinfo_endpoint"`
	}
	_ = op.Claims(&meta)
	endpoint := op.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	p.disc.Store(&discovered{
		provider: op,
		oauth: oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, RedirectURL: p.cfg.RedirectURL,
			Endpoint: endpoint, Scopes: p.cfg.Scopes},
		// The key set fetches with the client of this context, so it keeps
		// the timeout and the response limit.
		verifier: op.VerifierContext(oidc.ClientContext(context.Background(), p.client),
			&oidc.Config{ClientID: p.cfg.ClientID, Now: p.cfg.Now}),
		userInfo: meta.UserInfo != "",
	})
	p.lastErr.Store(nil)
	return nil
}

// Run tries discovery until it succeeds or ctx ends, waiting from RetryMin
// to RetryMax between attempts. Each failure is logged.
func (p *Provider) Run(ctx context.Context) {
	wait := p.cfg.RetryMin
	for {
		err := p.Discover(ctx)
		if err == nil {
			p.cfg.Logger.Info("identity provider discovered", "issuer", p.cfg.Issuer)
			return
		}
		p.cfg.Logger.Warn("identity provider unavailable; retrying", "issuer", p.cfg.Issuer, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(wait*2, p.cfg.RetryMax)
	}
}

// Secrets are the per-sign-in values of one authorization request: the
// state, the nonce and the PKCE verifier.
type Secrets struct {
	State    string
	Nonce    string
	Verifier string
}

// NewSecrets draws new random secrets.
func NewSecrets() Secrets {
	return Secrets{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier()}
}

func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AuthURL returns the provider's authorization URL for a sign-in with
// these secrets: code flow, PKCE S256, state and nonce (and acr_values
// when configured). It returns ErrUnavailable before discovery succeeded.
func (p *Provider) AuthURL(s Secrets) (string, error) {
	d := p.disc.Load()
	if d == nil {
		return "", ErrUnavailable
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(s.Nonce), oauth2.S256ChallengeOption(s.Verifier)}
	if len(p.cfg.ACRValues) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(p.cfg.ACRValues, " ")))
	}
	return d.oauth.AuthCodeURL(s.State, opts...), nil
}

// Issuer returns the configured issuer URL.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// Identity is what a verified sign-in tells about the user.
type Identity struct {
	// Subject is the ID token's sub.
	Subject string
	// Username is the value of the username claim.
	Username string
	// AMR and ACR are the ID token's authentication methods and context
	// class; empty when it has none.
	AMR []string
	ACR string
}

// Exchange trades the authorization code for tokens, verifies the ID
// token and its nonce, and reads the username from the ID token or, when
// the ID token lacks it, from UserInfo.
func (p *Provider) Exchange(ctx context.Context, code string, s Secrets) (Identity, error) {
	d := p.disc.Load()
	if d == nil {
		return Identity{}, ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, p.client), p.cfg.Timeout)
	defer cancel()
	tok, err := d.oauth.Exchange(ctx, code, oauth2.VerifierOption(s.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return Identity{}, fmt.Errorf("%w: %w", ErrRejected, err)
		}
		return Identity{}, fmt.Errorf("%w: token request: %w", ErrUnavailable, err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, fmt.Errorf("%w: the token response has no id_token", ErrInvalidToken)
	}
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(s.Nonce)) != 1 {
		return Identity{}, ErrNonce
	}
	var claims map[string]json.RawMessage
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	}
	id := Identity{Subject: idt.Subject}
	// amr and acr count only from the ID token, which the provider signed
	// for this sign-in.
	_ = json.Unmarshal(claims["amr"], &id.AMR)
	_ = json.Unmarshal(claims["acr"], &id.ACR)
	if json.Unmarshal(claims[p.cfg.UsernameClaim], &id.Username) == nil && id.Username != "" {
		return id, nil
	}
	if !d.userInfo {
		return Identity{}, fmt.Errorf("%w %q in the ID token, and the provider has no UserInfo endpoint", ErrNoUsername, p.cfg.UsernameClaim)
	}
	ui, err := d.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: userinfo: %w", ErrUnavailable, err)
	}
	if ui.Subject != idt.Subject {
		return Identity{}, fmt.Errorf("%w: userinfo is about subject %q, the ID token about %q", ErrInvalidToken, ui.Subject, idt.Subject)
	}
	var info map[string]json.RawMessage
	if err := ui.Claims(&info); err != nil {
		return Identity{}, fmt.Errorf("%w: userinfo claims: %w", ErrUnavailable, err)
	}
	if json.Unmarshal(info[p.cfg.UsernameClaim], &id.Username) != nil || id.Username == "" {
		return Identity{}, fmt.Errorf("%w %q in the ID token or UserInfo", ErrNoUsername, p.cfg.UsernameClaim)
	}
	return id, nil
}
