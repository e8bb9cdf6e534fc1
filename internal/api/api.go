// Package api serves the TMS HTTP API: the /v1/tms routes, wire-compatible
// with tms_server 0.3.0, with thin handlers that decode a request, call one
// Service method and encode the answer, behind middleware that assigns
// request ids, logs, receives request bodies (bounded, under their own
// deadline) before admission, caps requests in flight, sets a deadline on
// every request, and counts refusals instead of logging each one.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/logsummary"
	"github.com/tmsproject/tms/internal/metrics"
)

// Options configure the API handler.
type Options struct {
	// Service applies the rules; the server passes a *tms.Service.
	Service Service
	Logger  *slog.Logger
	// MaxInFlight caps concurrent requests; more get 503 at once.
	MaxInFlight int
	// RequestTimeout is the deadline of every request.
	RequestTimeout time.Duration
	// MaxBodyBytes caps request bodies.
	MaxBodyBytes int64
	// BodyTimeout bounds the time to receive a request's body, which is
	// read before the request takes an in-flight slot.
	BodyTimeout time.Duration
	// RetryAfter is sent with 503 answers.
	RetryAfter time.Duration
	// Version describes the running server for /v1/tms/version.
	Version VersionInfo
	// Extra registers more routes on the mux before middleware is applied.
	Extra []func(mux *http.ServeMux)
	// Metrics records request and key metrics; nil records nothing.
	Metrics *metrics.Metrics
	// Audit records security events in the audit log; nil records nothing.
	Audit *audit.Recorder
}

// VersionInfo is what GET /v1/tms/version reports.
type VersionInfo struct {
	Version   string
	Branch    string
	Commit    string
	Dirty     bool
	SourceTS  string
	GoVersion string
}

// API is the TMS HTTP API.
type API struct {
	svc  Service
	log  *slog.Logger
	opts Options
	mux  *http.ServeMux
	// refusals summarizes the requests refused or abandoned under load.
	refusals *logsummary.Summary
}

// New returns the API with every route registered.
func New(opts Options) *API {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 1024
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 15 * time.Second
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	if opts.BodyTimeout <= 0 {
		opts.BodyTimeout = 5 * time.Second
	}
	opts.Metrics.DeclareKeyRetrievalResults(retrievalResults()...)
	a := &API{svc: opts.Service, log: opts.Logger, opts: opts, mux: http.NewServeMux(),
		refusals: logsummary.New(logsummary.Options{Logger: opts.Logger, Level: slog.LevelWarn,
			Message: "requests refused or abandoned (counts by reason since the previous line)"})}
	a.routes()
	for _, extra := range opts.Extra {
		extra(a.mux)
	}
	return a
}

// Handler returns the API wrapped in its middleware.
func (a *API) Handler() http.Handler {
	return a.chain(http.HandlerFunc(a.dispatch))
}

func (a *API) routes() {
	m := a.mux
	m.HandleFunc("GET /v1/tms/hello", a.hello)
	m.HandleFunc("GET /v1/tms/version", a.version)

	m.HandleFunc("POST /v1/tms/client", a.createClient)
	m.HandleFunc("GET /v1/tms/client/list", a.listClients)
	m.HandleFunc("GET /v1/tms/client/{client_id}", a.getClient)
	m.HandleFunc("PATCH /v1/tms/client/upd/{client_id}", a.updateClient)
	m.HandleFunc("PATCH /v1/tms/client/secret/{client_id}", a.rotateClientSecret)
	m.HandleFunc("DELETE /v1/tms/client/del/{client_id}", a.deleteClient)

	m.HandleFunc("GET /v1/tms/tenants/list", a.listTenants)
	m.HandleFunc("GET /v1/tms/tenants/{tenant}", a.getTenant)
	m.HandleFunc("POST /v1/tms/tenants/{tenant}", a.createTenant)
	m.HandleFunc("PATCH /v1/tms/tenants/upd", a.updateTenant)
	m.HandleFunc("DELETE /v1/tms/tenants/del/{tenant}", a.deleteTenant)
	m.HandleFunc("DELETE /v1/tms/tenants/wipe/{tenant}", a.wipeTenant)
	m.HandleFunc("GET /v1/tms/audit/list", a.listAudit)

	m.HandleFunc("POST /v1/tms/usermfa", a.createUserMFA)
	m.HandleFunc("GET /v1/tms/usermfa/list", a.listUserMFA)
	m.HandleFunc("GET /v1/tms/usermfa/{tms_user_id}", a.getUserMFA)
	m.HandleFunc("PATCH /v1/tms/usermfa/upd", a.updateUserMFA)
	m.HandleFunc("DELETE /v1/tms/usermfa/del/{tms_user_id}", a.deleteUserMFA)

	m.HandleFunc("POST /v1/tms/userhosts", a.createUserHost)
	m.HandleFunc("GET /v1/tms/userhosts/list", a.listUserHosts)
	m.HandleFunc("GET /v1/tms/userhosts/{id}", a.getUserHost)
	m.HandleFunc("PATCH /v1/tms/userhosts/upd", a.updateUserHost)
	m.HandleFunc("DELETE /v1/tms/userhosts/del", a.deleteUserHost)

	m.HandleFunc("POST /v1/tms/delegations", a.createDelegation)
	m.HandleFunc("GET /v1/tms/delegations/list", a.listDelegations)
	m.HandleFunc("GET /v1/tms/delegations/{id}", a.getDelegation)
	m.HandleFunc("PATCH /v1/tms/delegations/upd", a.updateDelegation)
	m.HandleFunc("DELETE /v1/tms/delegations/del", a.deleteDelegation)

	m.HandleFunc("POST /v1/tms/hosts", a.createHost)
	m.HandleFunc("GET /v1/tms/hosts/list", a.listHosts)
	m.HandleFunc("GET /v1/tms/hosts/{id}", a.getHost)
	m.HandleFunc("DELETE /v1/tms/hosts/del", a.deleteHost)
	m.HandleFunc("POST /v1/tms/hosts/credentials", a.createHostCredential)
	m.HandleFunc("GET /v1/tms/hosts/credentials/list", a.listHostCredentials)
	m.HandleFunc("DELETE /v1/tms/hosts/credentials/del", a.deleteHostCredential)

	m.HandleFunc("POST /v1/tms/pubkeys/creds", a.createKey)
	m.HandleFunc("POST /v1/tms/pubkeys/creds/retrieve", a.retrieveKey)
	m.HandleFunc("GET /v1/tms/pubkeys/id/{seqno}", a.getPubkey)
	m.HandleFunc("GET /v1/tms/pubkeys/list", a.listPubkeys)
	m.HandleFunc("PATCH /v1/tms/pubkeys", a.updatePubkey)
	m.HandleFunc("DELETE /v1/tms/pubkeys/del", a.deletePubkey)

	m.HandleFunc("POST /v1/tms/reservations", a.createReservation)
	m.HandleFunc("POST /v1/tms/reservations/extend", a.extendReservation)
	m.HandleFunc("GET /v1/tms/reservations/{client_id}/{resid}", a.getReservation)
	m.HandleFunc("DELETE /v1/tms/reservations/del/{client_id}/{resid}", a.deleteReservation)
	m.HandleFunc("DELETE /v1/tms/reservations/del/related/{client_id}/{resid}", a.deleteRelatedReservations)

	a.userRoutes()
}

// dispatch routes a request, answering unknown routes and wrong methods
// with the JSON envelope instead of the mux's plain text.
func (a *API) dispatch(w http.ResponseWriter, r *http.Request) {
	h, pattern := a.mux.Handler(r)
	if pattern != "" {
		if info := requestInfoFrom(r.Context()); info != nil {
			info.route = pattern
		}
		a.mux.ServeHTTP(w, r)
		return
	}
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	switch probe.status {
	case http.StatusMethodNotAllowed:
		if allow := probe.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		writeError(w, http.StatusMethodNotAllowed, "Method "+r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+probe.header.Get("Allow"))
	case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		h.ServeHTTP(w, r)
	default:
		NotFound(w, r)
	}
}

// NotFound answers a request as the API answers a path it does not serve.
func NotFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "No route "+r.Method+" "+r.URL.Path)
}

// statusProbe records what the mux's own error handler would answer.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }
