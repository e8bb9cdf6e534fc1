// Package metrics holds the Prometheus metrics of a TMS server in one
// registry owned by the server (no global registry). A nil *Metrics is
// valid and records nothing, so packages work without metrics.
package metrics

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The bounded label values the metrics take. Any other value a caller
// passes is recorded as the "other" (methods) or "invalid" (key types)
// value, so no input can create a new series.
var (
	// methods are the request methods of the method label; any other is
	// "other".
	methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", MethodOther}
	// keyPaths are the ways a key is issued: "client" (a client
	// application, POST /v1/tms/pubkeys/creds) and "user" (a signed-in
	// user, POST /v1/tms/user/keys).
	keyPaths = []string{KeyPathClient, KeyPathUser}
	// keyTypes are the key types of tms_keys_issued_total; a request for
	// an unknown type counts as "invalid".
	keyTypes = []string{"ed25519", "ecdsa", "rsa", KeyTypeInvalid}
	// keyResults are the results of key creation requests.
	keyResults = []string{KeyIssued, KeyRefused, KeyError}
	// rejectReasons are the reasons requests are refused or abandoned.
	rejectReasons = []string{RejectOverload, RejectAttemptLimit, RejectAccountBackoff, RejectDeviceCodeLimit, RejectDeviceCodeCap,
		RejectBusy, RejectSlowBody, RejectClientGone}
	// refusalReasons are those of rejectReasons the API's middleware
	// counts and times: expected answers under load or attack, which are
	// summarized rather than logged one by one.
	refusalReasons = []string{RejectOverload, RejectBusy, RejectSlowBody, RejectClientGone}
	// upstreamResults are the results of sign-ins through an upstream
	// OpenID Connect provider.
	upstreamResults = []string{UpstreamMFA, UpstreamTOTP, UpstreamNoMFA, UpstreamRefused, UpstreamAccessDenied,
		UpstreamProviderError, UpstreamBadState, UpstreamExpired, UpstreamInvalidToken, UpstreamUnavailable, UpstreamError}
)

// The results of an upstream sign-in.
const (
	// UpstreamMFA: the provider asserted a second factor; signed in.
	UpstreamMFA = "mfa"
	// UpstreamTOTP: signed in at the provider; the TMS TOTP code is asked.
	UpstreamTOTP = "totp"
	// UpstreamNoMFA: refused, the provider asserted no second factor.
	UpstreamNoMFA = "no_mfa"
	// UpstreamRefused: the user has no account here or may not use it.
	UpstreamRefused = "refused"
	// UpstreamAccessDenied: the user cancelled or the provider refused.
	UpstreamAccessDenied = "access_denied"
	// UpstreamProviderError: another error from the provider.
	UpstreamProviderError = "provider_error"
	// UpstreamBadState: a wrong, replayed or expired state.
	UpstreamBadState = "bad_state"
	// UpstreamExpired: the device request expired or was answered.
	UpstreamExpired = "expired"
	// UpstreamInvalidToken: the ID token failed verification.
	UpstreamInvalidToken = "invalid_token"
	// UpstreamUnavailable: the provider could not be reached.
	UpstreamUnavailable = "unavailable"
	// UpstreamError: anything else.
	UpstreamError = "error"
)

// Label values named in code.
const (
	MethodOther    = "other"
	KeyPathClient  = "client"
	KeyPathUser    = "user"
	KeyTypeInvalid = "invalid"
	KeyIssued      = "issued"
	KeyRefused     = "refused"
	KeyError       = "error"
	RejectOverload = "overload"
	// RejectAttemptLimit: a client address tried too many codes or
	// sign-ins.
	RejectAttemptLimit = "attempt_limit"
	// RejectAccountBackoff: too many failed sign-ins of one account from
	// one address.
	RejectAccountBackoff = "account_backoff"
	// RejectDeviceCodeLimit: a client address started too many logins.
	RejectDeviceCodeLimit = "device_code_limit"
	// RejectDeviceCodeCap: a tenant has as many unexpired logins as it may.
	RejectDeviceCodeCap = "device_code_cap"
	// AlarmSignInFailures: failed sign-ins and code entries from all
	// addresses passed their threshold in a minute.
	AlarmSignInFailures = "signin_failures"
	// RejectBusy is a 503 because the database or a worker pool is busy.
	RejectBusy = "busy"
	// RejectSlowBody is a request whose body did not arrive in time.
	RejectSlowBody = "slow_body"
	// RejectClientGone is a request whose client hung up before the
	// answer.
	RejectClientGone = "client_gone"
	// RouteUnmatched is the route of requests that match no registered
	// route pattern.
	RouteUnmatched = "unmatched"
)

// Metrics are the server's Prometheus metrics.
type Metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	readingBodies prometheus.Gauge
	rejected      *prometheus.CounterVec
	refusalTime   *prometheus.HistogramVec
	keysIssued    *prometheus.CounterVec
	keysRetrieved *prometheus.CounterVec
	deviceFlow    *prometheus.CounterVec
	alarms        *prometheus.CounterVec
	directory     *prometheus.CounterVec
	upstream      *prometheus.CounterVec
}

// New returns the metrics with Go runtime and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tms_http_requests_total", Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tms_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tms_http_requests_in_flight", Help: "HTTP requests holding one of the limits.max_in_flight slots now.",
		}),
		readingBodies: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tms_http_request_bodies_reading", Help: "HTTP requests whose body is being received, before they take a slot.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tms_http_rejected_total",
			Help: "Requests refused or abandoned, by reason (overload, attempt_limit, account_backoff, device_code_limit, device_code_cap, busy, slow_body, client_gone).",
		}, []string{"reason"}),
		refusalTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tms_http_refusal_duration_seconds",
			Help:    "Time from a request's arrival to its refusal inside the server, by reason (overload, busy, slow_body, client_gone).",
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .1, 1, 10},
		}, []string{"reason"}),
		keysIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tms_keys_issued_total",
			Help: "Key creation requests, by path (client, user), key type (ed25519, ecdsa, rsa, invalid) and result (issued, refused, error).",
		}, []string{"path", "type", "result"}),
		keysRetrieved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tms_keys_retrieved_total",
			Help: "Key lookups for sshd, by result: accepted, error, or the reason of a refusal (no_such_key, key_expired, no_uses_left, mfa_expired, ...).",
		}, []string{"result"}),
		deviceFlow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tms_device_flow_total",
			Help: "Device authorization events, by event: started, approved, denied, redeemed, refreshed, or the OAuth error code of a failed token request (authorization_pending, slow_down, expired_token, ...).",
		}, []string{"event"}),
		alarms: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tms_alarms_total", Help: "Alarms raised, by alarm (signin_failures: failed sign-ins and code entries from all addresses passed their threshold in a minute).",
		}, []string{"alarm"}),
		directory: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tms_directory_sign_ins_total", Help: "Sign-ins checked by a tenant's directory (LDAP), by tenant and result (success, enroll, refused, bad_input, unavailable, busy, stale_request, error).",
		}, []string{"tenant", "result"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tms_upstream_sign_ins_total",
			Help: "Sign-ins through an upstream OpenID Connect provider, by provider id (from the configuration) and result (mfa, totp, no_mfa, refused, access_denied, provider_error, bad_state, expired, invalid_token, unavailable, error).",
		}, []string{"upstream", "result"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.inFlight, m.readingBodies, m.rejected, m.refusalTime, m.keysIssued, m.keysRetrieved, m.deviceFlow, m.alarms, m.directory, m.upstream,
	)
	m.alarms.WithLabelValues(AlarmSignInFailures)
	for _, reason := range rejectReasons {
		m.rejected.WithLabelValues(reason)
	}
	for _, reason := range refusalReasons {
		m.refusalTime.WithLabelValues(reason)
	}
	for _, path := range keyPaths {
		for _, kt := range keyTypes {
			for _, result := range keyResults {
				m.keysIssued.WithLabelValues(path, kt, result)
			}
		}
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry returns the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Admitted counts a request that took an in-flight slot; call Released
// when it gives the slot back.
func (m *Metrics) Admitted() {
	if m != nil {
		m.inFlight.Inc()
	}
}

// Released counts a request that gave its in-flight slot back.
func (m *Metrics) Released() {
	if m != nil {
		m.inFlight.Dec()
	}
}

// ReadingBody counts a request whose body is being received (delta 1)
// or no longer is (delta -1).
func (m *Metrics) ReadingBody(delta float64) {
	if m != nil {
		m.readingBodies.Add(delta)
	}
}

// RequestDone records an answered request.
func (m *Metrics) RequestDone(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	method = MethodLabel(method)
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// MethodLabel returns the label value of a request method: the method
// itself if it is a standard one, else "other".
func MethodLabel(method string) string {
	for _, m := range methods[:len(methods)-1] {
		if method == m {
			return m
		}
	}
	return MethodOther
}

// Rejected counts a request refused for reason.
func (m *Metrics) Rejected(reason string) {
	if m != nil {
		m.rejected.WithLabelValues(reason).Inc()
	}
}

// Refused counts a request refused or abandoned for reason (one of
// refusalReasons) d after it arrived.
func (m *Metrics) Refused(reason string, d time.Duration) {
	if m != nil {
		m.rejected.WithLabelValues(reason).Inc()
		m.refusalTime.WithLabelValues(reason).Observe(d.Seconds())
	}
}

// KeyIssued counts a key creation request made through path (keyPaths)
// for keyType with its result (keyResults). A key type that is not one of
// keyTypes counts as "invalid".
func (m *Metrics) KeyIssued(path, keyType, result string) {
	if m == nil {
		return
	}
	keyType = strings.ToLower(keyType)
	if keyType == "" {
		keyType = "ed25519"
	}
	if !slices.Contains(keyTypes, keyType) {
		keyType = KeyTypeInvalid
	}
	m.keysIssued.WithLabelValues(path, keyType, result).Inc()
}

// KeyRetrieved counts a key lookup with its result.
func (m *Metrics) KeyRetrieved(result string) {
	if m != nil {
		m.keysRetrieved.WithLabelValues(result).Inc()
	}
}

// DeclareKeyRetrievalResults creates the series of every result a key
// lookup can have, so that they exist, at zero, from the start.
func (m *Metrics) DeclareKeyRetrievalResults(results ...string) {
	if m != nil {
		for _, r := range results {
			m.keysRetrieved.WithLabelValues(r)
		}
	}
}

// DeclareDeviceFlowEvents creates the series of every device-flow event,
// so that they exist, at zero, from the start.
func (m *Metrics) DeclareDeviceFlowEvents(events ...string) {
	if m != nil {
		for _, e := range events {
			m.deviceFlow.WithLabelValues(e)
		}
	}
}

// DeviceFlow counts a device authorization event.
func (m *Metrics) DeviceFlow(event string) {
	if m != nil {
		m.deviceFlow.WithLabelValues(event).Inc()
	}
}

// Alarm counts a raised alarm.
func (m *Metrics) Alarm(alarm string) {
	if m != nil {
		m.alarms.WithLabelValues(alarm).Inc()
	}
}

// directoryResults are the results of a directory sign-in.
func directoryResults() []string {
	return []string{"success", "enroll", "refused", "bad_input", "unavailable", "busy", "stale_request", "error"}
}

// DirectoryConfigured creates the series of a tenant whose directory
// checks passwords, at 0.
func (m *Metrics) DirectoryConfigured(tenant string) {
	if m != nil {
		for _, r := range directoryResults() {
			m.directory.WithLabelValues(tenant, r)
		}
	}
}

// DeclareUpstream creates the series of every result of the upstream
// provider id, so that they exist, at zero, from the start. Only
// configured ids are declared, which bounds the label's values.
func (m *Metrics) DeclareUpstream(id string) {
	if m != nil {
		for _, r := range upstreamResults {
			m.upstream.WithLabelValues(id, r)
		}
	}
}

// DirectorySignIn counts a sign-in of a tenant whose directory checks
// passwords, with its result (one of those in the help text).
func (m *Metrics) DirectorySignIn(tenant, result string) {
	if m != nil {
		m.directory.WithLabelValues(tenant, result).Inc()
	}
}

// UpstreamSignIn counts a sign-in through the upstream provider id (a
// declared one) with its result (one of the Upstream* values; any other
// counts as UpstreamError).
func (m *Metrics) UpstreamSignIn(id, result string) {
	if m == nil {
		return
	}
	if !slices.Contains(upstreamResults, result) {
		result = UpstreamError
	}
	m.upstream.WithLabelValues(id, result).Inc()
}

// GaugeFunc registers a gauge whose value f reports at scrape time.
func (m *Metrics) GaugeFunc(name, help string, labels prometheus.Labels, f func() float64) {
	if m != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, f))
	}
}

// CounterFunc registers a counter whose value f reports at scrape time.
func (m *Metrics) CounterFunc(name, help string, labels prometheus.Labels, f func() float64) {
	if m != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, f))
	}
}
