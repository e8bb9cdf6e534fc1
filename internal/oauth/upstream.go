package oauth

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/tms"
	"github.com/tmsproject/tms/internal/upstream"
)

// The routes of sign-in through an upstream OpenID Connect provider. The
// start route sends the browser to the provider; the provider sends it
// back to the callback, the redirect URI registered there.
const (
	upstreamPrefix = "/v1/oauth2/upstream/"
	otpPath        = DevicePath + "/otp"
)

// upstreamStartPath is the route that sends the browser to the provider
// id; its callback is config.UpstreamCallbackPath(id).
func upstreamStartPath(id string) string { return upstreamPrefix + id + "/start" }

// Upstream is an upstream provider with its sign-in button.
type Upstream struct {
	ID     string
	Tenant string
	// Name is the text of the button.
	Name     string
	Provider *upstream.Provider
}

// upstreamButton is a button of the sign-in page.
type upstreamButton struct {
	ID, Name  string
	URL       string
	Available bool
}

// buttons returns the buttons of the upstream providers for the sign-in
// page of a code: those of the tenant the page names, or every provider
// when it names none. The page does not look the code up (so that it
// tells nothing about codes); the callback checks that the provider is one
// of the request's tenant.
func (h *Handler) buttons(tenant, userCode string, s session) []upstreamButton {
	var out []upstreamButton
	tenants := map[string]bool{}
	for _, up := range h.upstreamList {
		tenants[up.Tenant] = true
	}
	for _, up := range h.upstreamList {
		if tenant != "" && up.Tenant != tenant {
			continue
		}
		name := up.Name
		if tenant == "" && len(tenants) > 1 {
			name += " (tenant " + up.Tenant + ")"
		}
		q := url.Values{"user_code": {userCode}, csrfField: {s.csrf()}}
		out = append(out, upstreamButton{ID: up.ID, Name: name, URL: upstreamStartPath(up.ID) + "?" + q.Encode(),
			Available: up.Provider.Available()})
	}
	return out
}

// signInData is what the sign-in page of a code shows: a button per
// upstream provider, and the password form unless the tenant the page
// names turned it off.
func (h *Handler) signInData(s session, userCode, msg, username, tenant string) pageData {
	return pageData{Title: "Sign in", Error: msg, CSRF: s.csrf(), UserCode: userCode, Username: username, Tenant: tenant,
		Directory: tenant != "" && h.svc.HasDirectory(tenant), Upstreams: h.buttons(tenant, userCode, s),
		PasswordForm: tenant == "" || h.svc.PasswordSignIn(tenant)}
}

// upstreamFor returns the provider named in the path, or answers 404.
func (h *Handler) upstreamFor(w http.ResponseWriter, r *http.Request) (Upstream, bool) {
	up, ok := h.upstreams[r.PathValue("id")]
	if !ok {
		h.sessionFor(w, r)
		h.result(w, r, http.StatusNotFound, "Unknown sign-in provider", "error", "This server has no such sign-in provider.", true)
	}
	return up, ok
}

// upstreamResult counts a sign-in through up and records it in the audit
// event of the request.
func (h *Handler) upstreamResult(r *http.Request, up Upstream, result string) {
	h.metrics.UpstreamSignIn(up.ID, result)
	audit.Note(r.Context(), func(f *audit.Facts) {
		f.Type = audit.TypeUpstreamLogin
		if f.Tenant == "" {
			f.Tenant = up.Tenant
		}
		f.AddDetail("upstream=%s", up.ID)
		f.AddDetail("result=%s", result)
	})
}

// upstreamStart sends the browser to the provider to sign in for the user
// code in the query. The link carries the session's CSRF token, so that
// another site cannot start a sign-in in the user's browser. Like the
// sign-in page it does not look the code up: the callback does, once the
// provider has told who the user is.
func (h *Handler) upstreamStart(w http.ResponseWriter, r *http.Request) {
	up, ok := h.upstreamFor(w, r)
	if !ok {
		return
	}
	s, ok := h.checkLink(w, r)
	if !ok {
		return
	}
	// A start keeps a flow in a table shared by every client until its
	// callback: it counts as an attempt of the address until a callback
	// with its state gives the attempt back, so that one address can
	// neither fill the table nor try codes through the provider beyond
	// its limit.
	if _, ok := h.admit(w, r, ""); !ok {
		return
	}
	typed := r.URL.Query().Get("user_code")
	code, ok := tms.NormalizeUserCode(typed)
	if !ok {
		h.render(w, r, h.pages.code, http.StatusBadRequest, pageData{Title: "Enter your code", Error: badCodeFormat, CSRF: s.csrf(), UserCode: typed})
		return
	}
	if !up.Provider.Available() {
		h.upstreamUnavailable(w, r, up, s, tms.FormatUserCode(code))
		return
	}
	flow, err := h.pending.Begin(up.ID, s.hash(), code)
	if err != nil {
		h.log.WarnContext(r.Context(), "upstream sign-in refused", "upstream", up.ID, "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(h.retry.Seconds()))))
		h.result(w, r, http.StatusServiceUnavailable, "Server busy", "error",
			"Too many sign-ins are in progress. Reload this page in a moment.", false)
		return
	}
	target, err := up.Provider.AuthURL(flow.Secrets)
	if err != nil {
		h.upstreamUnavailable(w, r, up, s, tms.FormatUserCode(code))
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// checkLink verifies that a link comes from a page of this session: the
// session cookie is present and the CSRF parameter matches it. Otherwise
// it answers the request and returns false.
func (h *Handler) checkLink(w http.ResponseWriter, r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || !validSessionValue(c.Value) {
		h.badForm(w, r)
		return session{}, false
	}
	s := session{value: c.Value}
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get(csrfField)), []byte(s.csrf())) != 1 {
		h.badForm(w, r)
		return session{}, false
	}
	return s, true
}

// upstreamUnavailable answers that the provider cannot be reached; the
// device request stays as it was.
func (h *Handler) upstreamUnavailable(w http.ResponseWriter, r *http.Request, up Upstream, s session, userCode string) {
	h.upstreamResult(r, up, metrics.UpstreamUnavailable)
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(h.retry.Seconds()))))
	h.retryPage(w, r, s, userCode, http.StatusServiceUnavailable, "Sign-in provider unavailable",
		up.Name+" cannot be reached right now. Try again in a moment.")
}

// retryPage answers a failed upstream sign-in with the message and the
// sign-in page of the code again: the request stays pending and usable.
func (h *Handler) retryPage(w http.ResponseWriter, r *http.Request, s session, userCode string, status int, title, msg string) {
	d := h.signInData(s, userCode, msg, "", "")
	d.Title = title
	h.render(w, r, h.pages.signIn, status, d)
}

// providerError is the shape of an error code a provider may send.
var providerError = regexp.MustCompile(`^[a-z_]{1,40}$`)

// upstreamCallback finishes a sign-in the provider sends back: the state
// must be one this server issued to this browser session for this
// provider, unused and unexpired; the code is exchanged and the ID token
// verified; then the rules decide whether the user goes on to the consent,
// the TOTP code, or is refused. Every failure leaves the device request
// pending.
func (h *Handler) upstreamCallback(w http.ResponseWriter, r *http.Request) {
	up, ok := h.upstreamFor(w, r)
	if !ok {
		return
	}
	s := h.sessionFor(w, r)
	flow, a, ok := h.takeFlow(w, r, up, s)
	if !ok {
		return
	}
	userCode := tms.FormatUserCode(flow.UserCode)
	if h.providerRefused(w, r, up, s, userCode) {
		a.refund()
		return
	}
	id, err := up.Provider.Exchange(r.Context(), r.URL.Query().Get("code"), flow.Secrets)
	if err != nil {
		a.refund()
		h.upstreamExchangeFailed(w, r, up, s, userCode, err)
		return
	}
	res, err := h.svc.SignInUpstream(r.Context(), tms.UpstreamSignIn{Upstream: up.ID, UserCode: userCode, SessionHash: s.hash(),
		Username: id.Username, AMR: id.AMR, ACR: id.ACR})
	settle(a, err)
	noteUser(r, id.Username, res.View)
	if err != nil {
		h.upstreamResult(r, up, signInResult(err))
		h.flowFailure(w, r, s, userCode, err, nil)
		return
	}
	switch res.Next {
	case tms.UpstreamDone:
		h.upstreamResult(r, up, metrics.UpstreamMFA)
		redirect(w, r, consentPath, res.View.UserCode)
	case tms.UpstreamEnroll:
		h.upstreamResult(r, up, metrics.UpstreamTOTP)
		redirect(w, r, enrollPath, res.View.UserCode)
	default:
		h.upstreamResult(r, up, metrics.UpstreamTOTP)
		redirect(w, r, otpPath, res.View.UserCode)
	}
}

// takeFlow takes the flow of the callback's state, which must be this
// browser session's and this provider's, or answers the callback. It
// returns the callback's attempt, for the caller to settle: the code of
// the flow is yet to be looked up.
func (h *Handler) takeFlow(w http.ResponseWriter, r *http.Request, up Upstream, s session) (upstream.Flow, attempt, bool) {
	a, ok := h.admit(w, r, "")
	if !ok {
		return upstream.Flow{}, attempt{}, false
	}
	flow, ok := h.pending.Take(r.URL.Query().Get("state"))
	if !ok || flow.Upstream != up.ID || subtle.ConstantTimeCompare([]byte(flow.SessionHash), []byte(s.hash())) != 1 {
		h.upstreamResult(r, up, metrics.UpstreamBadState)
		a.failed()
		h.result(w, r, http.StatusBadRequest, "Please sign in again", "error",
			"This sign-in did not start in this browser, took too long, or was already used. "+
				"Enter your code again and sign in once more; your device keeps waiting.", true)
		return upstream.Flow{}, attempt{}, false
	}
	// The state was this browser's own and its flow is gone: the start
	// gets its attempt back.
	a.refund()
	return flow, a, true
}

// providerRefused answers a callback that carries the provider's error
// instead of a code, or that names another issuer, and reports whether it
// did.
func (h *Handler) providerRefused(w http.ResponseWriter, r *http.Request, up Upstream, s session, userCode string) bool {
	q := r.URL.Query()
	if iss := q.Get("iss"); iss != "" && iss != up.Provider.Issuer() {
		// RFC 9207: the answer comes from another provider than the one
		// the browser was sent to.
		h.upstreamExchangeFailed(w, r, up, s, userCode, fmt.Errorf("%w: the answer names the issuer %q", upstream.ErrInvalidToken, iss))
		return true
	}
	e := q.Get("error")
	switch {
	case e == "":
		return false
	case e == "access_denied":
		h.upstreamResult(r, up, metrics.UpstreamAccessDenied)
		h.retryPage(w, r, s, userCode, http.StatusForbidden, "Sign-in cancelled",
			"The sign-in at "+up.Name+" was cancelled or refused. You can try again.")
		return true
	case !providerError.MatchString(e):
		e = "unknown"
	}
	h.upstreamResult(r, up, metrics.UpstreamProviderError)
	h.retryPage(w, r, s, userCode, http.StatusBadGateway, "Sign-in failed",
		up.Name+" answered with the error "+e+". Try again, or ask your administrator.")
	return true
}

// signInResult is the metric result of a sign-in the rules refused.
func signInResult(err error) string {
	var fe *tms.FlowError
	if !errors.As(err, &fe) {
		return metrics.UpstreamError
	}
	switch fe.Reason {
	case tms.FlowNoSecondFactor:
		return metrics.UpstreamNoMFA
	case tms.FlowRefused:
		return metrics.UpstreamRefused
	case tms.FlowExpired, tms.FlowDecided, tms.FlowBadCode:
		return metrics.UpstreamExpired
	}
	return metrics.UpstreamError
}

// upstreamExchangeFailed answers a code exchange or ID token that failed.
func (h *Handler) upstreamExchangeFailed(w http.ResponseWriter, r *http.Request, up Upstream, s session, userCode string, err error) {
	h.log.WarnContext(r.Context(), "upstream sign-in failed", "upstream", up.ID, "err", err)
	switch {
	case errors.Is(err, upstream.ErrUnavailable):
		h.upstreamUnavailable(w, r, up, s, userCode)
	case errors.Is(err, upstream.ErrNoUsername):
		h.upstreamResult(r, up, metrics.UpstreamInvalidToken)
		h.retryPage(w, r, s, userCode, http.StatusBadGateway, "Sign-in failed",
			up.Name+" did not tell this server your username. Ask your administrator.")
	case errors.Is(err, upstream.ErrRejected):
		h.upstreamResult(r, up, metrics.UpstreamProviderError)
		h.retryPage(w, r, s, userCode, http.StatusBadGateway, "Sign-in failed",
			up.Name+" did not accept this sign-in's answer (it may have been used or expired). Try again.")
	default:
		h.upstreamResult(r, up, metrics.UpstreamInvalidToken)
		h.retryPage(w, r, s, userCode, http.StatusBadGateway, "Sign-in not verified",
			"The answer from "+up.Name+" could not be verified (its identity token is not valid for this server), "+
				"so it was not accepted. Try again; if this keeps happening, tell your administrator.")
	}
}

// showOTP asks the user who signed in through a provider for the TMS TOTP
// code.
func (h *Handler) showOTP(w http.ResponseWriter, r *http.Request, s session, typed string, status int, msg string) {
	a, ok := h.admit(w, r, "")
	if !ok {
		return
	}
	view, err := h.svc.SecondFactorView(r.Context(), typed, s.hash())
	settle(a, err)
	if err != nil {
		h.flowFailure(w, r, s, typed, err, nil)
		return
	}
	h.render(w, r, h.pages.otp, status, pageData{Title: "Enter your one-time code", Error: msg, CSRF: s.csrf(), View: view})
}

// otpPage shows the one-time code form for the code in the query.
func (h *Handler) otpPage(w http.ResponseWriter, r *http.Request) {
	s := h.sessionFor(w, r)
	h.showOTP(w, r, s, r.URL.Query().Get("user_code"), http.StatusOK, "")
}

// submitOTP checks the TOTP code after an upstream sign-in.
func (h *Handler) submitOTP(w http.ResponseWriter, r *http.Request) {
	s, ok := h.acceptForm(w, r)
	if !ok || h.held(w, r) {
		return
	}
	typed := r.PostFormValue("user_code")
	// A wrong code is a failed sign-in of the account this session signed
	// in as at the provider, and counts against it as a wrong password
	// does. (A session that signed in for no such code names no account.)
	var account string
	if view, err := h.svc.SecondFactorView(r.Context(), typed, s.hash()); err == nil {
		account = view.Username
	}
	a, ok := h.admit(w, r, account)
	if !ok {
		return
	}
	view, err := h.svc.ConfirmEnrollment(r.Context(), typed, s.hash(), r.PostFormValue("otp"))
	settle(a, err)
	noteUser(r, "", view)
	if err != nil {
		h.flowFailure(w, r, s, typed, err, func(status int, msg string) { h.showOTP(w, r, s, typed, status, msg) })
		return
	}
	redirect(w, r, consentPath, view.UserCode)
}
