package tms

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

// OAuthOptions configure users' sign-in and the device authorization grant.
// Zero fields take the defaults of the [oauth] configuration section.
type OAuthOptions struct {
	// DeviceCodeLifetime is how long a device code and its user code live.
	DeviceCodeLifetime time.Duration
	// PollInterval is the least time between two polls of a device code.
	PollInterval time.Duration
	// AccessTokenLifetime and RefreshTokenLifetime are token lifetimes.
	AccessTokenLifetime  time.Duration
	RefreshTokenLifetime time.Duration
	// MFAValidity is how long a sign-in with a TOTP code keeps the user's
	// MFA record valid.
	MFAValidity time.Duration
	// MaxDelegationDays caps the lifetime a user can approve.
	MaxDelegationDays int
	// PasswordWorkers bounds concurrent password hashing (0: half the CPUs).
	PasswordWorkers int
	// PasswordMaxWait is how long a sign-in waits for a hashing slot
	// before it is refused as busy (default 2s).
	PasswordMaxWait time.Duration
	// MaxLiveDeviceCodes bounds the unexpired device authorizations of one
	// tenant (default 1000); beyond it a new login is refused as busy.
	MaxLiveDeviceCodes int
	// SignInFailuresPerRequest is how many failed sign-ins a device
	// authorization takes before it is denied (default 5).
	SignInFailuresPerRequest int
	// Upstreams are the upstream OpenID Connect providers users sign in
	// through.
	Upstreams []UpstreamRule
	// NoPasswordTenants lists the tenants whose sign-in page offers no
	// password form.
	NoPasswordTenants []string
}

func (o OAuthOptions) withDefaults() OAuthOptions {
	if o.DeviceCodeLifetime <= 0 {
		o.DeviceCodeLifetime = 10 * time.Minute
	}
	if o.PollInterval < time.Second {
		o.PollInterval = 5 * time.Second
	}
	if o.AccessTokenLifetime <= 0 {
		o.AccessTokenLifetime = time.Hour
	}
	if o.RefreshTokenLifetime <= 0 {
		o.RefreshTokenLifetime = 30 * 24 * time.Hour
	}
	if o.MFAValidity <= 0 {
		o.MFAValidity = 24 * time.Hour
	}
	if o.MaxDelegationDays <= 0 {
		o.MaxDelegationDays = 30
	}
	if o.MaxLiveDeviceCodes <= 0 {
		o.MaxLiveDeviceCodes = 1000
	}
	if o.SignInFailuresPerRequest <= 0 {
		o.SignInFailuresPerRequest = 5
	}
	return o
}

// accounts is the state of the sign-in and device-flow rules: the password
// pool and when expired device codes and tokens were last purged.
type accounts struct {
	opts      OAuthOptions
	passwords *passwordPool

	purgeMu   sync.Mutex
	lastPurge time.Time
}

func newAccounts(opts OAuthOptions) *accounts {
	opts = opts.withDefaults()
	return &accounts{opts: opts, passwords: newPasswordPool(opts.PasswordWorkers, opts.PasswordMaxWait)}
}

// The standard public client every tenant has: the tms command line.
const (
	CLIClientID   = "tms-cli"
	cliAppName    = "TMS command line"
	cliAppVersion = "*"
)

// ScopeKeys is the one scope TMS grants: managing the user's own keys.
const ScopeKeys = "keys"

// cliClient returns the record of the tms command line in a tenant.
func cliClient(tenant string, now time.Time) store.OAuthClient {
	return store.OAuthClient{Tenant: tenant, ClientID: CLIClientID, AppName: cliAppName, AppVersion: cliAppVersion,
		Builtin: true, Created: now, Updated: now}
}

// OAuth error codes of RFC 6749 §5.2 and RFC 8628 §3.5, and the two of
// RFC 6749 §4.1.2.1 that a server uses for its own trouble.
const (
	OAuthInvalidRequest         = "invalid_request"
	OAuthInvalidClient          = "invalid_client"
	OAuthInvalidGrant           = "invalid_grant"
	OAuthUnsupportedGrantType   = "unsupported_grant_type"
	OAuthInvalidScope           = "invalid_scope"
	OAuthAuthorizationPending   = "authorization_pending"
	OAuthSlowDown               = "slow_down"
	OAuthAccessDenied           = "access_denied"
	OAuthExpiredToken           = "expired_token"
	OAuthServerError            = "server_error"
	OAuthTemporarilyUnavailable = "temporarily_unavailable"
)

// OAuthErrorCodes returns every OAuth error code the service uses.
func OAuthErrorCodes() []string {
	return []string{OAuthInvalidRequest, OAuthInvalidClient, OAuthInvalidGrant, OAuthUnsupportedGrantType, OAuthInvalidScope,
		OAuthAuthorizationPending, OAuthSlowDown, OAuthAccessDenied, OAuthExpiredToken, OAuthServerError, OAuthTemporarilyUnavailable}
}

// OAuthError is an error of the OAuth endpoints: an RFC 6749 error code and
// a description that is safe to show the client. The wrapped cause is for
// logs only.
type OAuthError struct {
	Code        string
	Description string
	Err         error
}

func (e *OAuthError) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Description + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Description
}

func (e *OAuthError) Unwrap() error { return e.Err }

func oauthError(code, description string) *OAuthError {
	return &OAuthError{Code: code, Description: description}
}

// oauthStoreError converts a store or pool failure into an *OAuthError.
func oauthStoreError(err error) error {
	var oe *OAuthError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &oe):
		return err
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, errPasswordsBusy):
		return &OAuthError{Code: OAuthTemporarilyUnavailable, Description: "The server is busy; retry shortly.", Err: err}
	}
	return &OAuthError{Code: OAuthServerError, Description: "Internal error.", Err: err}
}

// randomToken returns prefix followed by 32 random bytes in base64url.
func randomToken(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// hashToken returns the stored form of a device code or token: the hex
// SHA-256 of the value.
func hashToken(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// Prefixes that make the kind of a token visible to people and scanners.
const (
	accessTokenPrefix  = "tmsat_"
	refreshTokenPrefix = "tmsrt_"
	deviceCodePrefix   = "tmsdc_"
)

// newTokens returns fresh access and refresh tokens with their stored form.
func (a *accounts) newTokens(now time.Time, family string) (access, refresh string, stored store.NewTokens) {
	access, refresh = randomToken(accessTokenPrefix), randomToken(refreshTokenPrefix)
	stored = store.NewTokens{
		AccessHash: hashToken(access), AccessExpiresAt: now.Add(a.opts.AccessTokenLifetime),
		RefreshHash: hashToken(refresh), RefreshExpiresAt: now.Add(a.opts.RefreshTokenLifetime),
		Family: family,
	}
	return access, refresh, stored
}

// purgeEvery is how often expired device codes and tokens are deleted, and
// purgeAfter how long after their expiry; until then a late poll or an old
// token is still answered "expired" rather than "unknown".
const (
	purgeEvery = 10 * time.Minute
	purgeAfter = 24 * time.Hour
)

// deviceCodeKeep is how long after its expiry a device authorization is
// kept at most: a new login of its tenant deletes the tenant's older ones,
// so that what an attacker can store is bounded by the live cap.
const deviceCodeKeep = time.Hour

// purgeExpired deletes long-expired device authorizations and tokens, at
// most once per purgeEvery.
func (s *Service) purgeExpired(ctx context.Context, now time.Time) {
	a := s.accounts
	a.purgeMu.Lock()
	due := now.Sub(a.lastPurge) >= purgeEvery
	if due {
		a.lastPurge = now
	}
	a.purgeMu.Unlock()
	if !due {
		return
	}
	n, err := s.store.DeleteExpiredOAuth(ctx, now.Add(-purgeAfter))
	if err != nil {
		s.logger.WarnContext(ctx, "delete expired device codes and tokens", "err", err)
		return
	}
	if n > 0 {
		s.logger.InfoContext(ctx, "deleted expired device codes and tokens", "rows", n)
	}
}
