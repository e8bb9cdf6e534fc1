package oauth

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

//go:embed templates/*.html
var templateFiles embed.FS

// pages are the parsed page templates, each with the layout.
type pages struct {
	code, signIn, enroll, otp, consent, result *template.Template
}

func mustParsePages() *pages {
	parse := func(name string) *template.Template {
		return template.Must(template.ParseFS(templateFiles, "templates/layout.html", "templates/"+name))
	}
	return &pages{code: parse("code.html"), signIn: parse("signin.html"), enroll: parse("enroll.html"), otp: parse("otp.html"),
		consent: parse("consent.html"), result: parse("result.html")}
}

// pagePaths are the form targets the templates use.
type pagePaths struct {
	Device, SignIn, Enroll, OTP, Consent string
}

// pageData is what every template gets.
type pageData struct {
	Title     string
	Error     string
	CSRF      string
	Paths     pagePaths
	UserCode  string
	Prefilled bool
	// Tenant is the tenant the verification page names, if any.
	Tenant string
	// Directory tells that the tenant's directory checks passwords.
	Directory bool
	View      tms.DeviceView
	Username  string
	// Upstreams are the buttons of the upstream providers on the sign-in
	// page, and PasswordForm whether it shows the password form.
	Upstreams    []upstreamButton
	PasswordForm bool
	Days         int
	Enroll       enrollData
	// Class and Message make a result page.
	Class     string
	Message   string
	StartOver bool
}

type enrollData struct {
	QR     template.HTML
	Groups string
	URI    template.URL
}

// render writes a page with the headers every page gets: no caching, no
// framing, no scripts.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, t *template.Template, status int, d pageData) {
	d.Paths = pagePaths{Device: DevicePath, SignIn: signInPath, Enroll: enrollPath, OTP: otpPath, Consent: consentPath}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		h.log.ErrorContext(r.Context(), "render device page", "err", err)
		http.Error(w, "Internal error rendering the page.", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "same-origin")
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// result writes a page with one message.
func (h *Handler) result(w http.ResponseWriter, r *http.Request, status int, title, class, msg string, startOver bool) {
	h.render(w, r, h.pages.result, status, pageData{Title: title, Class: class, Message: msg, StartOver: startOver})
}

// redirect sends the browser to a page of the flow for a user code.
func redirect(w http.ResponseWriter, r *http.Request, path, userCode string) {
	http.Redirect(w, r, path+"?user_code="+url.QueryEscape(userCode), http.StatusSeeOther)
}

// pageTenant returns the tenant a page of the flow names: the parameter
// tenant of the verification_uri, which the pages pass on in their links
// and forms. It is "" unless the tenant exists and is enabled (which
// tenants exist is public), so a page never shows a made-up name.
func (h *Handler) pageTenant(r *http.Request) string {
	tenant := r.FormValue("tenant")
	if tenant == "" {
		return ""
	}
	if ok, err := h.svc.TenantIssuer(r.Context(), tenant); err != nil || !ok {
		return ""
	}
	return tenant
}

// acceptForm admits a post that must come from this session's page;
// otherwise it answers the post and returns false.
func (h *Handler) acceptForm(w http.ResponseWriter, r *http.Request) (session, bool) {
	s, ok := h.checkForm(r)
	if !ok {
		h.badForm(w, r)
		return session{}, false
	}
	return s, true
}

// settle decides whether an attempt stays counted after the step it was
// taken for. A step that succeeded, or failed for a reason told only to
// the user who signed in (a malformed field, an expired or answered
// request), gives the attempt back; any other failure stays counted, and a
// wrong code, wrong credentials or a code this session has not signed in
// for count towards the alarm.
func settle(a attempt, err error) {
	var fe *tms.FlowError
	if err != nil && !errors.As(err, &fe) {
		return
	}
	switch {
	case err == nil:
		a.refund()
	case fe.Reason == tms.FlowBadInput, fe.Reason == tms.FlowExpired, fe.Reason == tms.FlowDecided,
		fe.Reason == tms.FlowRefused, fe.Reason == tms.FlowNoSecondFactor, fe.Reason == tms.FlowPasswordOff:
		a.refund()
	case fe.Reason == tms.FlowBadCode, fe.Reason == tms.FlowBadCredentials, fe.Reason == tms.FlowSignInNeeded:
		a.failed()
	}
}

// badForm answers a post that did not come from this session's page.
func (h *Handler) badForm(w http.ResponseWriter, r *http.Request) {
	h.sessionFor(w, r)
	h.result(w, r, http.StatusForbidden, "Please start again", "error",
		"This form has expired, came from another site, or your browser did not send its cookie. "+
			"Allow cookies for this site and start again.", true)
}

// flowFailure answers a failed step of the flow. retry re-shows the form
// of the step with a message, for mistakes the user can correct there.
func (h *Handler) flowFailure(w http.ResponseWriter, r *http.Request, s session, typedCode string, err error,
	retry func(status int, msg string)) {
	var fe *tms.FlowError
	if !errors.As(err, &fe) {
		fe = &tms.FlowError{Reason: tms.FlowInternal, Message: "Something went wrong on the server.", Err: err}
	}
	if retry == nil {
		retry = func(status int, msg string) { h.result(w, r, status, "Please start again", "error", msg, true) }
	}
	switch fe.Reason {
	case tms.FlowBadCode:
		h.render(w, r, h.pages.code, http.StatusBadRequest, pageData{Title: "Enter your code", Error: fe.Message, CSRF: s.csrf(), UserCode: typedCode,
			Tenant: h.pageTenant(r)})
	case tms.FlowExpired:
		h.result(w, r, http.StatusGone, "Code expired", "error", fe.Message, true)
	case tms.FlowDecided:
		h.result(w, r, http.StatusConflict, "Already answered", "error", fe.Message, true)
	case tms.FlowBadCredentials:
		retry(http.StatusUnauthorized, fe.Message)
	case tms.FlowBadInput:
		retry(http.StatusBadRequest, fe.Message)
	case tms.FlowRefused, tms.FlowPasswordOff:
		h.result(w, r, http.StatusForbidden, "Sign-in refused", "error", fe.Message, false)
	case tms.FlowNoSecondFactor:
		h.result(w, r, http.StatusForbidden, "Second factor required", "error", fe.Message, false)
	case tms.FlowSignInNeeded:
		h.showSignIn(w, r, s, typedCode, http.StatusForbidden, fe.Message, "")
	case tms.FlowDirectoryUnavailable:
		h.log.WarnContext(r.Context(), "device page: directory unavailable", "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(h.retry.Seconds()))))
		retry(http.StatusServiceUnavailable, fe.Message)
	case tms.FlowUnavailable:
		h.log.WarnContext(r.Context(), "device page: service unavailable", "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(h.retry.Seconds()))))
		h.result(w, r, http.StatusServiceUnavailable, "Server busy", "error", fe.Message+" Reload this page in a moment.", false)
	default:
		h.log.ErrorContext(r.Context(), "device page failed", "err", err)
		msg := fe.Message
		if id := w.Header().Get("X-Request-Id"); id != "" {
			msg += " (request id " + id + ")"
		}
		h.result(w, r, http.StatusInternalServerError, "Error", "error", msg, true)
	}
}

// codePage shows the form to enter a code, or, with ?user_code= (the
// verification_uri_complete of RFC 8628), asks to confirm the code, with
// the tenant the verification_uri names. It does not look the code up:
// the consent page, after the sign-in, shows the application and tenant a
// code is for.
func (h *Handler) codePage(w http.ResponseWriter, r *http.Request) {
	s := h.sessionFor(w, r)
	if h.held(w, r) {
		return
	}
	d := pageData{Title: "Sign in to TMS", CSRF: s.csrf(), Tenant: h.pageTenant(r)}
	if typed := r.URL.Query().Get("user_code"); typed != "" {
		if code, ok := tms.NormalizeUserCode(typed); ok {
			d.UserCode, d.Prefilled, d.Title = tms.FormatUserCode(code), true, "Confirm your code"
		} else {
			d.UserCode = typed
			d.Error = badCodeFormat
		}
	}
	h.render(w, r, h.pages.code, http.StatusOK, d)
}

// badCodeFormat is the message for a typed code that cannot be a code.
const badCodeFormat = "That is not a valid code. Codes have 8 letters, like WDJB-MJHT; check the code your device shows."

// submitCode takes an entered code to the sign-in. It does not look the
// code up: whether a code exists is told only to the user who signs in
// for it, so that the pages cannot be used to find codes.
func (h *Handler) submitCode(w http.ResponseWriter, r *http.Request) {
	s, ok := h.acceptForm(w, r)
	if !ok || h.held(w, r) {
		return
	}
	typed := r.PostFormValue("user_code")
	code, ok := tms.NormalizeUserCode(typed)
	if !ok {
		h.render(w, r, h.pages.code, http.StatusBadRequest, pageData{Title: "Enter your code", Error: badCodeFormat, CSRF: s.csrf(), UserCode: typed,
			Tenant: h.pageTenant(r)})
		return
	}
	target := signInPath + "?user_code=" + url.QueryEscape(tms.FormatUserCode(code))
	if tenant := h.pageTenant(r); tenant != "" {
		target += "&tenant=" + url.QueryEscape(tenant)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// showSignIn shows the sign-in form for a typed code, with the tenant the
// verification_uri named. It shows nothing about the request of the code,
// which may not exist: the consent page shows that after the sign-in.
func (h *Handler) showSignIn(w http.ResponseWriter, r *http.Request, s session, typed string, status int, msg, username string) {
	code, ok := tms.NormalizeUserCode(typed)
	if !ok {
		h.render(w, r, h.pages.code, http.StatusBadRequest, pageData{Title: "Enter your code", Error: badCodeFormat, CSRF: s.csrf(), UserCode: typed,
			Tenant: h.pageTenant(r)})
		return
	}
	h.render(w, r, h.pages.signIn, status, h.signInData(s, tms.FormatUserCode(code), msg, username, h.pageTenant(r)))
}

// signInPage shows the sign-in form for the code in the query.
func (h *Handler) signInPage(w http.ResponseWriter, r *http.Request) {
	s := h.sessionFor(w, r)
	if h.held(w, r) {
		return
	}
	h.showSignIn(w, r, s, r.URL.Query().Get("user_code"), http.StatusOK, "", "")
}

// submitSignIn checks username, password and one-time code, then goes on
// to the TOTP enrolment or the consent.
func (h *Handler) submitSignIn(w http.ResponseWriter, r *http.Request) {
	s, ok := h.acceptForm(w, r)
	if !ok {
		return
	}
	typed := r.PostFormValue("user_code")
	username := strings.TrimSpace(r.PostFormValue("username"))
	a, ok := h.admit(w, r, username)
	if !ok {
		return
	}
	res, err := h.svc.SignInForDevice(r.Context(), tms.SignIn{UserCode: typed, Tenant: r.PostFormValue("tenant"), Username: username,
		Password: r.PostFormValue("password"), OTP: r.PostFormValue("otp"), SessionHash: s.hash()})
	settle(a, err)
	noteUser(r, username, res.View)
	if !res.Origin.IsLocal() {
		h.metrics.DirectorySignIn(res.View.Tenant, directoryResult(res, err))
		noteDirectorySignIn(r, res)
	}
	if err != nil {
		h.flowFailure(w, r, s, typed, err, func(status int, msg string) {
			h.showSignIn(w, r, s, typed, status, msg, username)
		})
		return
	}
	if res.Enroll != nil {
		redirect(w, r, enrollPath, res.View.UserCode)
		return
	}
	redirect(w, r, consentPath, res.View.UserCode)
}

// showEnroll shows the TOTP secret the session's user is enrolling.
func (h *Handler) showEnroll(w http.ResponseWriter, r *http.Request, s session, typed string, status int, msg string) {
	a, ok := h.admit(w, r, "")
	if !ok {
		return
	}
	view, enr, err := h.svc.PendingEnrollment(r.Context(), typed, s.hash())
	settle(a, err)
	if err != nil {
		h.flowFailure(w, r, s, typed, err, nil)
		return
	}
	qr, err := qrSVG(enr.URI)
	if err != nil {
		h.flowFailure(w, r, s, typed, err, nil)
		return
	}
	h.render(w, r, h.pages.enroll, status, pageData{Title: "Set up your authenticator app", Error: msg, CSRF: s.csrf(), View: view,
		Enroll: enrollData{QR: qr, Groups: groupsOf4(enr.Secret), URI: template.URL(enr.URI)}})
}

// groupsOf4 writes a secret in groups of four characters for typing.
func groupsOf4(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// enrollPage shows the QR code and the secret of a new TOTP enrolment.
func (h *Handler) enrollPage(w http.ResponseWriter, r *http.Request) {
	s := h.sessionFor(w, r)
	h.showEnroll(w, r, s, r.URL.Query().Get("user_code"), http.StatusOK, "")
}

// submitEnroll checks the first code of the new authenticator entry.
func (h *Handler) submitEnroll(w http.ResponseWriter, r *http.Request) {
	s, ok := h.acceptForm(w, r)
	if !ok {
		return
	}
	a, ok := h.admit(w, r, "")
	if !ok {
		return
	}
	typed := r.PostFormValue("user_code")
	view, err := h.svc.ConfirmEnrollment(r.Context(), typed, s.hash(), r.PostFormValue("otp"))
	settle(a, err)
	noteUser(r, "", view)
	if err != nil {
		h.flowFailure(w, r, s, typed, err, func(status int, msg string) { h.showEnroll(w, r, s, typed, status, msg) })
		return
	}
	redirect(w, r, consentPath, view.UserCode)
}

// defaultDays is the lifetime the consent form suggests.
const defaultDays = 7

// showConsent shows what the request asks for, with Approve and Deny.
func (h *Handler) showConsent(w http.ResponseWriter, r *http.Request, s session, typed string, status int, msg string, days int) {
	a, ok := h.admit(w, r, "")
	if !ok {
		return
	}
	view, err := h.svc.ConsentView(r.Context(), typed, s.hash())
	settle(a, err)
	if err != nil {
		h.flowFailure(w, r, s, typed, err, nil)
		return
	}
	if days <= 0 {
		days = min(defaultDays, view.MaxDays)
	}
	h.render(w, r, h.pages.consent, status, pageData{Title: "Approve access", Error: msg, CSRF: s.csrf(), View: view, Days: days})
}

// consentPage shows the consent form for the code in the query.
func (h *Handler) consentPage(w http.ResponseWriter, r *http.Request) {
	s := h.sessionFor(w, r)
	h.showConsent(w, r, s, r.URL.Query().Get("user_code"), http.StatusOK, "", 0)
}

// submitConsent records the user's approval or denial.
func (h *Handler) submitConsent(w http.ResponseWriter, r *http.Request) {
	s, ok := h.checkForm(r)
	if !ok {
		h.badForm(w, r)
		return
	}
	typed := r.PostFormValue("user_code")
	var approve bool
	switch r.PostFormValue("action") {
	case "approve":
		approve = true
	case "deny":
	default:
		h.showConsent(w, r, s, typed, http.StatusBadRequest, "action: choose Approve or Deny.", 0)
		return
	}
	a, ok := h.admit(w, r, "")
	if !ok {
		return
	}
	view, err := h.svc.DecideDevice(r.Context(), tms.Decision{UserCode: typed, SessionHash: s.hash(), Approve: approve,
		Days: r.PostFormValue("days")})
	settle(a, err)
	noteDecision(r, approve, view)
	if err == nil {
		if view.State == store.DeviceDenied {
			h.metrics.DeviceFlow(eventDenied)
		} else {
			h.metrics.DeviceFlow(eventApproved)
		}
	}
	if err != nil {
		h.flowFailure(w, r, s, typed, err, func(status int, msg string) { h.showConsent(w, r, s, typed, status, msg, 0) })
		return
	}
	if view.State == store.DeviceDenied {
		h.result(w, r, http.StatusOK, "Request denied", "ok",
			"You denied the request of "+view.AppName+" in tenant "+view.Tenant+". The device gets no access. You can close this window.", false)
		return
	}
	until := h.now().UTC().AddDate(0, 0, view.Days).Format("2006-01-02")
	h.result(w, r, http.StatusOK, "Device approved", "ok",
		view.AppName+" may now act for "+view.Username+" in tenant "+view.Tenant+" for "+strconv.Itoa(view.Days)+
			" days (until "+until+"). You can close this window and return to your device.", false)
}
