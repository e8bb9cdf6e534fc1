package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
)

// The browser session is a random value in an HttpOnly cookie scoped to the
// pages. The server keeps only its hash, bound to a device authorization
// when the user signs in. Every form carries a CSRF token derived from the
// session, which a page of another site can neither read nor compute.
const (
	sessionCookie = "tms_device_session"
	csrfField     = "csrf"
	// cookiePath covers the device pages and the upstream providers'
	// start and callback routes.
	cookiePath = "/v1/oauth2"
)

// session is a browser session of the device pages.
type session struct {
	value string
}

// hash is what the server stores to recognise the session.
func (s session) hash() string {
	sum := sha256.Sum256([]byte("tms device session:" + s.value))
	return hex.EncodeToString(sum[:])
}

// csrf is the token every form of the session carries.
func (s session) csrf() string {
	sum := sha256.Sum256([]byte("tms device csrf:" + s.value))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// validSessionValue reports whether a cookie value looks like one this
// package issued.
func validSessionValue(v string) bool {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == 32
}

// sessionFor returns the session of the request, starting a new one (and
// setting its cookie) when the browser has none.
func (h *Handler) sessionFor(w http.ResponseWriter, r *http.Request) session {
	if c, err := r.Cookie(sessionCookie); err == nil && validSessionValue(c.Value) {
		return session{value: c.Value}
	}
	b := make([]byte, 32)
	rand.Read(b)
	s := session{value: base64.RawURLEncoding.EncodeToString(b)}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    s.value,
		Path:     cookiePath,
		HttpOnly: true,
		Secure:   h.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
	return s
}

// secure reports whether the pages are served over TLS, so the cookie is
// sent only over TLS.
func (h *Handler) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	u, err := url.Parse(h.baseURL)
	return err == nil && u.Scheme == "https"
}

// checkForm verifies that a form post comes from a page of this session:
// the session cookie is present and the CSRF field matches it, and the
// Origin header, when the browser names one, is this server. ("null", sent
// by browsers that hide the origin, proves nothing either way; the token
// decides.)
func (h *Handler) checkForm(r *http.Request) (session, bool) {
	if origin := r.Header.Get("Origin"); origin != "" && origin != "null" {
		u, err := url.Parse(origin)
		base, _ := url.Parse(h.base(r))
		if err != nil || (u.Host != r.Host && (base == nil || u.Host != base.Host)) {
			return session{}, false
		}
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || !validSessionValue(c.Value) {
		return session{}, false
	}
	s := session{value: c.Value}
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue(csrfField)), []byte(s.csrf())) != 1 {
		return session{}, false
	}
	return s, true
}
