// Package oauth serves the OAuth 2.0 Device Authorization Grant (RFC 8628)
// that "tms login" uses: the device authorization, token and revocation
// endpoints with bare OAuth JSON (RFC 6749 §5, RFC 7009), the authorization
// server metadata (RFC 8414), and the browser pages where a user enters the
// code, signs in with password and TOTP, and approves or denies the
// request. The pages are plain HTML forms from embedded templates and work
// without JavaScript. The rules live in tms.Service; this package decodes,
// calls one method and encodes.
package oauth

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/tms"
	"github.com/tmsproject/tms/internal/upstream"
)

// The routes this package serves.
const (
	MetadataPath   = "/.well-known/oauth-authorization-server"
	DeviceCodePath = "/v1/oauth2/device/code"
	TokenPath      = "/v1/oauth2/token"
	RevokePath     = "/v1/oauth2/revoke"
	// DevicePath is the verification URI: the page where the user enters
	// the code.
	DevicePath = "/v1/oauth2/device"
	// TenantsPath is where the issuers of the tenants are:
	// TenantsPath + "/" + tenant is the issuer of a tenant, with its own
	// device-code, token and revocation endpoints under it, and its
	// metadata is at MetadataPath + TenantsPath + "/" + tenant
	// (RFC 8414 §3.1).
	TenantsPath = "/v1/oauth2/tenants"
	// The endpoints of a tenant's issuer, relative to it.
	IssuerDeviceCodePath = "/device/code"
	IssuerTokenPath      = "/token"
	IssuerRevokePath     = "/revoke"

	issuerPattern = TenantsPath + "/{tenant}"
	signInPath    = DevicePath + "/signin"
	enrollPath    = DevicePath + "/enroll"
	consentPath   = DevicePath + "/consent"
)

// Options configure a Handler.
type Options struct {
	Service *tms.Service
	Logger  *slog.Logger
	// BaseURL is the server's public URL (e.g. "https://tms.example.org:3000"),
	// used in the verification URI and the metadata. Empty: taken from each
	// request.
	BaseURL string
	// AttemptsPerMinute is how many code lookups and sign-ins one client
	// address (an IPv4 address or an IPv6 /64) may make per minute
	// (default 10); a successful step gives its attempt back.
	AttemptsPerMinute int
	// AttemptBackoffMax is the longest an address or account is refused
	// when it keeps trying while refused: each refusal after a refusal
	// doubles the wait, up to this (default 15m).
	AttemptBackoffMax time.Duration
	// AttemptsPerMinuteTotal is how many failed attempts from all
	// addresses together in a minute raise an alarm (a warning and the
	// tms_alarms_total metric); it refuses nothing (default 100).
	AttemptsPerMinuteTotal int
	// AccountFailures is how many failed sign-ins one account may have
	// from one address per AccountWindow before that address is refused
	// for it (default 5 per 15m). Other addresses are not held back.
	AccountFailures int
	AccountWindow   time.Duration
	// DeviceCodesPerMinute is how many device authorizations one client
	// address may start per minute (default 30).
	DeviceCodesPerMinute int
	// RetryAfter is sent with 503 answers (default 1s).
	RetryAfter time.Duration
	// Now returns the current time for the rate limits and the dates the
	// pages show; nil means time.Now.
	Now func() time.Time
	// Metrics counts device-flow events and rate-limit refusals; nil
	// counts nothing.
	Metrics *metrics.Metrics
	// NotFound answers a request for a tenant that does not exist or is
	// disabled, as the server answers a path it does not serve; nil means
	// http.NotFound.
	NotFound http.HandlerFunc
	// Upstreams are the upstream OpenID Connect providers users sign in
	// through; each tenant's sign-in page shows a button per provider of
	// the tenant.
	Upstreams []Upstream
}

// Handler serves the OAuth endpoints and the browser pages.
type Handler struct {
	svc      *tms.Service
	log      *slog.Logger
	baseURL  string
	guard    *guard
	pages    *pages
	retry    time.Duration
	now      func() time.Time
	metrics  *metrics.Metrics
	notFound http.HandlerFunc
	// upstreams are the providers by id, and upstreamList in the order
	// configured; pending holds their sign-ins in progress.
	upstreams    map[string]Upstream
	upstreamList []Upstream
	pending      *upstream.Pending
}

// New returns a Handler.
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AttemptsPerMinute <= 0 {
		opts.AttemptsPerMinute = 10
	}
	if opts.AttemptsPerMinuteTotal <= 0 {
		opts.AttemptsPerMinuteTotal = 100
	}
	if opts.AttemptBackoffMax <= 0 {
		opts.AttemptBackoffMax = 15 * time.Minute
	}
	if opts.AccountFailures <= 0 {
		opts.AccountFailures = 5
	}
	if opts.AccountWindow <= 0 {
		opts.AccountWindow = 15 * time.Minute
	}
	if opts.DeviceCodesPerMinute <= 0 {
		opts.DeviceCodesPerMinute = 30
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Metrics.DeclareDeviceFlowEvents(deviceFlowEvents()...)
	if opts.NotFound == nil {
		opts.NotFound = http.NotFound
	}
	ups := make(map[string]Upstream, len(opts.Upstreams))
	for _, up := range opts.Upstreams {
		ups[up.ID] = up
		opts.Metrics.DeclareUpstream(up.ID)
	}
	return &Handler{
		upstreams:    ups,
		upstreamList: opts.Upstreams,
		pending:      upstream.NewPending(upstream.PendingOptions{TTL: upstreamFlowTTL, Now: opts.Now}),
		svc:          opts.Service,
		log:          opts.Logger,
		baseURL:      strings.TrimRight(opts.BaseURL, "/"),
		guard:        newGuard(opts),
		pages:        mustParsePages(),
		retry:        opts.RetryAfter,
		now:          opts.Now,
		metrics:      opts.Metrics,
		notFound:     opts.NotFound,
	}
}

// Register adds the handler's routes to mux; api.Options.Extra takes it.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+MetadataPath, h.metadata)
	mux.HandleFunc("POST "+DeviceCodePath, h.deviceCode)
	mux.HandleFunc("POST "+TokenPath, h.token)
	mux.HandleFunc("POST "+RevokePath, h.revoke)

	mux.HandleFunc("GET "+MetadataPath+issuerPattern, h.ofTenant(h.metadata))
	mux.HandleFunc("POST "+issuerPattern+IssuerDeviceCodePath, h.ofTenant(h.deviceCode))
	mux.HandleFunc("POST "+issuerPattern+IssuerTokenPath, h.ofTenant(h.token))
	mux.HandleFunc("POST "+issuerPattern+IssuerRevokePath, h.ofTenant(h.revoke))

	mux.HandleFunc("GET "+DevicePath, h.codePage)
	mux.HandleFunc("POST "+DevicePath, h.submitCode)
	mux.HandleFunc("GET "+signInPath, h.signInPage)
	mux.HandleFunc("POST "+signInPath, h.submitSignIn)
	mux.HandleFunc("GET "+enrollPath, h.enrollPage)
	mux.HandleFunc("POST "+enrollPath, h.submitEnroll)
	mux.HandleFunc("GET "+consentPath, h.consentPage)
	mux.HandleFunc("POST "+consentPath, h.submitConsent)

	mux.HandleFunc("GET "+upstreamPrefix+"{id}/start", h.upstreamStart)
	mux.HandleFunc("GET "+upstreamPrefix+"{id}/callback", h.upstreamCallback)
	mux.HandleFunc("GET "+otpPath, h.otpPage)
	mux.HandleFunc("POST "+otpPath, h.submitOTP)
}

// ofTenant serves a route of a tenant's issuer when the tenant in the path
// exists and is enabled, and otherwise answers as for a path the server
// does not serve.
func (h *Handler) ofTenant(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ok, err := h.svc.TenantIssuer(r.Context(), r.PathValue("tenant"))
		switch {
		case err != nil:
			h.fail(w, r, err, false)
		case !ok:
			h.notFound(w, r)
		default:
			next(w, r)
		}
	}
}

// issuer returns the issuer identifier of a request: the server's URL, or
// for a tenant's endpoints the URL of the tenant's issuer.
func (h *Handler) issuer(r *http.Request) string {
	if tenant := r.PathValue("tenant"); tenant != "" {
		return h.base(r) + TenantsPath + "/" + url.PathEscape(tenant)
	}
	return h.base(r)
}

// upstreamFlowTTL is how long a user may take at an upstream provider.
const upstreamFlowTTL = 10 * time.Minute

// base returns the public URL of the server for a request.
func (h *Handler) base(r *http.Request) string {
	if h.baseURL != "" {
		return h.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
