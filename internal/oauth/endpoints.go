package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

// Grant types of the token endpoint.
const (
	grantDeviceCode   = "urn:ietf:params:oauth:grant-type:device_code"
	grantRefreshToken = "refresh_token"
)

// writeOAuthJSON writes a bare OAuth JSON answer that no cache may keep.
func writeOAuthJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":"server_error","error_description":"cannot encode the response"}`)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Pragma", "no-cache")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// errorBody is the RFC 6749 §5.2 error format.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// oauthStatus is the HTTP status of each error code.
func oauthStatus(code string) int {
	switch code {
	case tms.OAuthInvalidClient:
		return http.StatusUnauthorized
	case tms.OAuthServerError:
		return http.StatusInternalServerError
	case tms.OAuthTemporarilyUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// fail answers an OAuth error. Server trouble is logged with its cause; the
// client sees only the code and the safe description.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error, basicAuth bool) {
	var oe *tms.OAuthError
	if !errors.As(err, &oe) {
		oe = &tms.OAuthError{Code: tms.OAuthServerError, Description: "Internal error.", Err: err}
	}
	status := oauthStatus(oe.Code)
	switch {
	case status >= 500:
		if !errors.Is(err, store.ErrFull) { // a refusal, counted in the metrics
			h.log.ErrorContext(r.Context(), "oauth request failed", "route", r.URL.Path, "error", err)
		}
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(h.retry.Seconds()))))
		}
	case status == http.StatusUnauthorized && basicAuth:
		w.Header().Set("WWW-Authenticate", `Basic realm="tms"`)
	}
	writeOAuthJSON(w, status, errorBody{Error: oe.Code, Description: oe.Description})
}

// clientAuth is how a request identified its client.
type clientAuth struct {
	clientID string
	style    store.PollStyle
}

// parseForm reads an application/x-www-form-urlencoded body and refuses
// repeated parameters (RFC 8628 §3.1, RFC 6749 §3.2).
func parseForm(r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &tms.OAuthError{Code: tms.OAuthInvalidRequest,
			Description: "Content-Type: send the parameters as application/x-www-form-urlencoded"}
	}
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &tms.OAuthError{Code: tms.OAuthInvalidRequest, Description: fmt.Sprintf("request body: larger than %d bytes", tooBig.Limit)}
		}
		return nil, &tms.OAuthError{Code: tms.OAuthInvalidRequest, Description: "request body: not a valid form"}
	}
	form := r.PostForm
	for name, values := range form {
		if len(values) > 1 {
			return nil, &tms.OAuthError{Code: tms.OAuthInvalidRequest, Description: name + ": given more than once"}
		}
	}
	return form, nil
}

// clientRequest reads the form of a request to a client endpoint and
// authenticates the client. When either fails, it answers the error and
// returns false.
func (h *Handler) clientRequest(w http.ResponseWriter, r *http.Request) (url.Values, clientAuth, bool) {
	form, err := parseForm(r)
	if err != nil {
		h.fail(w, r, err, false)
		return nil, clientAuth{}, false
	}
	client, err := authenticateClient(r, form)
	if err != nil {
		_, _, hasBasic := r.BasicAuth()
		h.fail(w, r, err, hasBasic)
		return nil, clientAuth{}, false
	}
	return form, client, true
}

// authenticateClient finds the public client of a request: HTTP Basic with
// an empty password, or client_id in the body, or both when they agree.
// A client secret is refused: these clients have none.
func authenticateClient(r *http.Request, form url.Values) (clientAuth, error) {
	bodyID := form.Get("client_id")
	if form.Get("client_secret") != "" {
		return clientAuth{}, &tms.OAuthError{Code: tms.OAuthInvalidClient, Description: "client_secret: public clients have no secret"}
	}
	user, pass, hasBasic := r.BasicAuth()
	if !hasBasic {
		if r.Header.Get("Authorization") != "" {
			return clientAuth{}, &tms.OAuthError{Code: tms.OAuthInvalidClient, Description: "Authorization: only HTTP Basic client authentication is accepted"}
		}
		if bodyID == "" {
			return clientAuth{}, &tms.OAuthError{Code: tms.OAuthInvalidRequest, Description: "client_id: required"}
		}
		return clientAuth{clientID: bodyID, style: store.PollBody}, nil
	}
	// RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	switch {
	case err1 != nil || err2 != nil || id == "":
		return clientAuth{}, &tms.OAuthError{Code: tms.OAuthInvalidClient, Description: "Authorization: malformed client credentials"}
	case secret != "":
		return clientAuth{}, &tms.OAuthError{Code: tms.OAuthInvalidClient, Description: "Authorization: public clients have no secret; send an empty password"}
	case bodyID != "" && bodyID != id:
		return clientAuth{}, &tms.OAuthError{Code: tms.OAuthInvalidRequest, Description: "client_id: differs from the client in the Authorization header"}
	}
	return clientAuth{clientID: id, style: store.PollHeader}, nil
}

// serviceDocumentationPath is the documentation page of the server (the
// /docs of package apidocs), which the metadata names.
const serviceDocumentationPath = "/docs"

// endpoints are the URLs of an issuer's client endpoints.
type endpoints struct {
	deviceCode, token, revoke string
}

// endpointsOf returns the endpoints of the issuer a request was sent to:
// the server's, or a tenant's.
func (h *Handler) endpointsOf(r *http.Request) endpoints {
	if r.PathValue("tenant") == "" {
		base := h.base(r)
		return endpoints{base + DeviceCodePath, base + TokenPath, base + RevokePath}
	}
	issuer := h.issuer(r)
	return endpoints{issuer + IssuerDeviceCodePath, issuer + IssuerTokenPath, issuer + IssuerRevokePath}
}

// metadata serves the authorization server metadata (RFC 8414) of the
// server or of a tenant's issuer.
func (h *Handler) metadata(w http.ResponseWriter, r *http.Request) {
	base := h.base(r)
	ep := h.endpointsOf(r)
	hdr := w.Header()
	body, _ := json.Marshal(map[string]any{
		"issuer":                                     h.issuer(r),
		"device_authorization_endpoint":              ep.deviceCode,
		"token_endpoint":                             ep.token,
		"revocation_endpoint":                        ep.revoke,
		"grant_types_supported":                      []string{grantDeviceCode, grantRefreshToken},
		"response_types_supported":                   []string{},
		"token_endpoint_auth_methods_supported":      []string{"none"},
		"revocation_endpoint_auth_methods_supported": []string{"none"},
		"scopes_supported":                           []string{tms.ScopeKeys},
		"service_documentation":                      base + serviceDocumentationPath,
	})
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Cache-Control", "public, max-age=3600")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// requestTenant returns the tenant a client request names: in the path of
// a tenant's endpoint, or as the parameter tenant in the query or the body;
// "" when none does. Names that disagree are refused.
func requestTenant(r *http.Request, form url.Values) (string, error) {
	query := r.URL.Query()["tenant"]
	if len(query) > 1 {
		return "", &tms.OAuthError{Code: tms.OAuthInvalidRequest, Description: "tenant: given more than once"}
	}
	var tenant, from string
	for _, c := range []struct{ where, name string }{{"path", r.PathValue("tenant")}, {"query", strings.Join(query, "")},
		{"body", form.Get("tenant")}} {
		if c.name == "" {
			continue
		}
		if tenant != "" && c.name != tenant {
			return "", &tms.OAuthError{Code: tms.OAuthInvalidRequest,
				Description: fmt.Sprintf("tenant: the %s names %q, the %s %q", from, tenant, c.where, c.name)}
		}
		tenant, from = c.name, c.where
	}
	return tenant, nil
}

// deviceCode serves the device authorization endpoint (RFC 8628 §3.1-3.2)
// of the server or of a tenant. At the server's, the extra parameter
// tenant (in the query or the body) chooses the tenant (default:
// "default").
//
// Each client address may start DeviceCodesPerMinute authorizations a
// minute; beyond that it gets 429 with slow_down and Retry-After. A tenant
// with as many unexpired authorizations as it may have gets 503
// temporarily_unavailable with Retry-After.
func (h *Handler) deviceCode(w http.ResponseWriter, r *http.Request) {
	if _, wait := h.guard.deviceCodes.Take(addrKey(r)); wait > 0 {
		h.metrics.Rejected(metrics.RejectDeviceCodeLimit)
		noteRefusal(r, metrics.RejectDeviceCodeLimit)
		w.Header().Set("Retry-After", retryAfter(wait))
		writeOAuthJSON(w, http.StatusTooManyRequests, errorBody{Error: tms.OAuthSlowDown,
			Description: "too many logins started from this address; retry after " + retryAfter(wait) + " seconds"})
		return
	}
	form, client, ok := h.clientRequest(w, r)
	if !ok {
		return
	}
	tenant, err := requestTenant(r, form)
	noteClient(r, client.clientID, tenant)
	if err != nil {
		h.fail(w, r, err, client.style == store.PollHeader)
		return
	}
	g, err := h.svc.StartDeviceAuthorization(r.Context(), tms.DeviceRequest{Tenant: tenant, ClientID: client.clientID,
		Scope: form.Get("scope")})
	if err != nil {
		if errors.Is(err, store.ErrFull) {
			h.metrics.Rejected(metrics.RejectDeviceCodeCap)
		}
		h.fail(w, r, err, client.style == store.PollHeader)
		return
	}
	noteOwner(r, tms.TokenOwner{Tenant: g.Tenant})
	h.metrics.DeviceFlow(eventStarted)
	verify := h.base(r) + DevicePath + "?tenant=" + url.QueryEscape(g.Tenant)
	writeOAuthJSON(w, http.StatusOK, struct {
		DeviceCode              string `json:"device_code"`
		UserCode                string `json:"user_code"`
		VerificationURI         string `json:"verification_uri"`
		VerificationURIComplete string `json:"verification_uri_complete"`
		ExpiresIn               int64  `json:"expires_in"`
		Interval                int64  `json:"interval"`
	}{g.DeviceCode, g.UserCode, verify, verify + "&user_code=" + url.QueryEscape(g.UserCode),
		int64(g.ExpiresIn.Seconds()), int64(g.Interval.Seconds())})
}

// tokenResponse is the RFC 6749 §5.1 success body.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// token serves the token endpoint for the device_code and refresh_token
// grants. A tenant's endpoint, or the server's with the parameter tenant,
// accepts only device codes and refresh tokens issued in that tenant.
func (h *Handler) token(w http.ResponseWriter, r *http.Request) {
	form, client, ok := h.clientRequest(w, r)
	if !ok {
		return
	}
	basic := client.style == store.PollHeader
	tenant, err := requestTenant(r, form)
	noteClient(r, client.clientID, tenant)
	var grant tms.TokenGrant
	switch gt := form.Get("grant_type"); {
	case err != nil:
	case gt == grantDeviceCode:
		grant, err = h.svc.PollDeviceToken(r.Context(), tms.DevicePoll{Tenant: tenant, ClientID: client.clientID,
			DeviceCode: form.Get("device_code"), Style: client.style})
	case gt == grantRefreshToken:
		grant, err = h.svc.RefreshToken(r.Context(), tms.RefreshGrant{Tenant: tenant, ClientID: client.clientID,
			RefreshToken: form.Get("refresh_token"), Scope: form.Get("scope")})
	case gt == "":
		err = &tms.OAuthError{Code: tms.OAuthInvalidRequest, Description: "grant_type: required"}
	default:
		err = &tms.OAuthError{Code: tms.OAuthUnsupportedGrantType,
			Description: fmt.Sprintf("grant_type: %q is not supported; use %s or %s", gt, grantDeviceCode, grantRefreshToken)}
	}
	noteTokenRequest(r, form.Get("grant_type"), err)
	noteOwner(r, grant.TokenOwner)
	h.metrics.DeviceFlow(tokenEvent(form.Get("grant_type"), err))
	if err != nil {
		h.fail(w, r, err, basic)
		return
	}
	writeOAuthJSON(w, http.StatusOK, tokenResponse{AccessToken: grant.AccessToken, TokenType: "Bearer",
		ExpiresIn: int64(grant.ExpiresIn.Seconds()), RefreshToken: grant.RefreshToken, Scope: grant.Scope})
}

// tokenEvent names the outcome of a token request for the device-flow
// metric: "redeemed" or "refreshed" on success, else the OAuth error code
// (authorization_pending, slow_down, access_denied, expired_token, ...).
func tokenEvent(grantType string, err error) string {
	if err == nil {
		if grantType == grantRefreshToken {
			return eventRefreshed
		}
		return eventRedeemed
	}
	var oe *tms.OAuthError
	if errors.As(err, &oe) && slices.Contains(tms.OAuthErrorCodes(), oe.Code) {
		return oe.Code
	}
	return tms.OAuthServerError
}

// The events of tms_device_flow_total besides the OAuth error codes.
const (
	eventStarted   = "started"
	eventApproved  = "approved"
	eventDenied    = "denied"
	eventRedeemed  = "redeemed"
	eventRefreshed = "refreshed"
)

// deviceFlowEvents lists every event of tms_device_flow_total.
func deviceFlowEvents() []string {
	return append([]string{eventStarted, eventApproved, eventDenied, eventRedeemed, eventRefreshed}, tms.OAuthErrorCodes()...)
}

// revoke serves token revocation (RFC 7009): the token and every token of
// the same login stop working. Unknown tokens, and at a tenant's endpoint
// tokens of other tenants, get 200 as well and stay as they are.
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	form, client, ok := h.clientRequest(w, r)
	if !ok {
		return
	}
	tenant, err := requestTenant(r, form)
	noteClient(r, client.clientID, tenant)
	var owner tms.TokenOwner
	if err == nil {
		owner, err = h.svc.RevokeToken(r.Context(), tenant, client.clientID, strings.TrimSpace(form.Get("token")))
	}
	noteOwner(r, owner)
	if err != nil {
		h.fail(w, r, err, client.style == store.PollHeader)
		return
	}
	if owner.Tenant == "" {
		// Nothing was revoked: the answer is 200 all the same (RFC 7009
		// §2.2), but the audit log records a refusal, which folds per
		// source like other made-up credentials.
		audit.Note(r.Context(), func(f *audit.Facts) { f.Outcome = audit.OutcomeRefused })
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
