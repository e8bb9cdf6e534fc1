package oauth_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/oauth"
	"github.com/tmsproject/tms/internal/tms"
)

// deviceCode starts a device authorization with a plain form post and
// returns its answer.
func deviceCode(t *testing.T, srv *testServer) (deviceCode, userCode, complete string) {
	t.Helper()
	resp, err := http.PostForm(srv.URL+oauth.DeviceCodePath, url.Values{"client_id": {tms.CLIClientID}, "tenant": {tms.TestTenant}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		DeviceCode              string `json:"device_code"`
		UserCode                string `json:"user_code"`
		VerificationURIComplete string `json:"verification_uri_complete"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("device code: status %d, %v", resp.StatusCode, err)
	}
	return out.DeviceCode, out.UserCode, out.VerificationURIComplete
}

// pollOnce makes one token request with the device code.
func pollOnce(t *testing.T, srv *testServer, code string) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(srv.URL+oauth.TokenPath, url.Values{"client_id": {tms.CLIClientID},
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {code}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

var secretPattern = regexp.MustCompile(`id="secret">([A-Z2-7 ]+)<`)

// TestFormWalk walks the pages with a plain form client: a new user without
// TOTP enters the code by hand (lower case, no dash), signs in, enrols an
// authenticator from the secret on the page, confirms it with a wrong and
// then a right code, and approves for longer than allowed.
func TestFormWalk(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			srv := startServer(t, b, serverOptions{})
			ctx := context.Background()
			admin := tms.Credentials{Tenant: tms.TestTenant, TenantSet: true, AdminID: srv.admin.AdminID, AdminSecret: srv.admin.Secret}
			if _, err := srv.svc.CreateUser(ctx, admin, tms.NewUser{Username: "alice", Password: "alice password"}); err != nil {
				t.Fatal(err)
			}
			// The user has a host mapping, so the new login can get keys.
			code, userCode, _ := deviceCode(t, srv)
			br := newBrowser(t, srv.URL)

			p := br.get(oauth.DevicePath).want(t, 200, "Enter the code")
			if p.header.Get("Cache-Control") != "no-store" || !strings.Contains(p.header.Get("Content-Security-Policy"), "default-src 'none'") ||
				p.header.Get("X-Frame-Options") != "DENY" || strings.Contains(p.body, "<script") {
				t.Fatalf("page headers %v", p.header)
			}
			typed := strings.ToLower(strings.ReplaceAll(userCode, "-", ""))
			p = br.submit(p, oauth.DevicePath, url.Values{"user_code": {typed}}).want(t, 200, "Sign in", userCode)
			if strings.Contains(p.body, "TMS command line") {
				t.Fatal("the sign-in page tells about the request before the user signed in")
			}
			p = br.submit(p, oauth.DevicePath+"/signin", url.Values{"user_code": {userCode}, "username": {"alice"}, "password": {"wrong password"}}).
				want(t, http.StatusUnauthorized, "The username, password or one-time code is not right.")
			p = br.submit(p, oauth.DevicePath+"/signin", url.Values{"user_code": {userCode}, "username": {"alice"}, "password": {"alice password"}}).
				want(t, 200, "Set up your authenticator app", "<svg", "otpauth://totp/")
			m := secretPattern.FindStringSubmatch(p.body)
			if m == nil {
				t.Fatalf("no secret on the enrolment page:\n%s", p.body)
			}
			secret := strings.ReplaceAll(m[1], " ", "")
			// Reloading shows the same secret.
			again := br.get(p.path+"?user_code="+url.QueryEscape(userCode)).want(t, 200, m[1])
			// Another browser sees nothing of it.
			newBrowser(t, srv.URL).get(p.path+"?user_code="+url.QueryEscape(userCode)).want(t, http.StatusForbidden, "sign in")

			right := totp(t, secret, 0)
			wrong := right[:5] + string('0'+(right[5]-'0'+1)%10)
			p = br.submit(again, oauth.DevicePath+"/enroll", url.Values{"user_code": {userCode}, "otp": {wrong}}).
				want(t, http.StatusUnauthorized, "not right", m[1])
			p = br.submit(p, oauth.DevicePath+"/enroll", url.Values{"user_code": {userCode}, "otp": {right}}).
				want(t, 200, "Approve access", "alice", "TMS command line", "tms-cli", "test", `max="30"`, `name="action" value="approve"`, `name="action" value="deny"`,
					"tms access revoke tms-cli", "tms logout --revoke", "tms logout</code> alone ends only the login and keeps the approval and the keys")
			if status, out := pollOnce(t, srv, code); status != 400 || out["error"] != "authorization_pending" {
				t.Fatalf("poll before approval: %d %v", status, out)
			}
			br.decide(p, userCode, "approve", "abc").want(t, http.StatusBadRequest, "days: enter a whole number of days from 1 to 30")
			br.decide(p, userCode, "maybe", "3").want(t, http.StatusBadRequest, "action: choose Approve or Deny")
			br.decide(p, userCode, "approve", "45").want(t, 200, "Device approved", "for 30 days")
			// The answer is final.
			br.decide(p, userCode, "deny", "").want(t, http.StatusConflict, "already answered")
			status, out := pollOnce(t, srv, code)
			if status != 200 || out["access_token"] == nil {
				t.Fatalf("poll after approval: %d %v", status, out)
			}
			u, err := srv.st.GetUser(ctx, tms.TestTenant, "alice")
			if err != nil || !u.TOTPConfirmed || u.TOTPSecret != secret {
				t.Fatalf("alice after enrolment: %+v %v", u, err)
			}
			wantMetrics(t, srv, `tms_device_flow_total{event="started"} 1`, `tms_device_flow_total{event="approved"} 1`,
				`tms_device_flow_total{event="authorization_pending"} 1`, `tms_device_flow_total{event="redeemed"} 1`)
		})
	}
}

// wantMetrics checks that the server's metrics exposition has every line.
func wantMetrics(t *testing.T, srv *testServer, lines ...string) {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, l := range lines {
		if !strings.Contains(rec.Body.String(), l) {
			t.Errorf("metrics lack %q", l)
		}
	}
}

func TestPageRefusals(t *testing.T) {
	srv := startServer(t, sqliteBackend, serverOptions{})
	_, userCode, complete := deviceCode(t, srv)
	if !strings.HasPrefix(complete, srv.URL+oauth.DevicePath+"?tenant="+tms.TestTenant+"&user_code=") {
		t.Fatalf("verification_uri_complete %q", complete)
	}
	br := newBrowser(t, srv.URL)
	entry := br.get(oauth.DevicePath).want(t, 200)

	t.Run("malformed code in the link", func(t *testing.T) {
		newBrowser(t, srv.URL).get(oauth.DevicePath+"?user_code=hello").want(t, 200, "not a valid code")
	})
	t.Run("unknown code", func(t *testing.T) {
		// The code entry does not tell; the sign-in answers as for a wrong
		// password, even with the right one.
		p := br.submit(entry, oauth.DevicePath, url.Values{"user_code": {"BBBB-BBBB"}}).want(t, http.StatusOK, "Sign in", "BBBB-BBBB")
		br.submit(p, oauth.DevicePath+"/signin", url.Values{"user_code": {"BBBB-BBBB"}, "username": {srv.user.Username},
			"password": {srv.user.Password}, "otp": {totp(t, srv.user.TOTPSecret, 0)}}).
			want(t, http.StatusUnauthorized, "The username, password or one-time code is not right.")
	})
	t.Run("malformed code", func(t *testing.T) {
		br.submit(entry, oauth.DevicePath, url.Values{"user_code": {"AEIO"}}).want(t, http.StatusBadRequest, "not a valid code")
	})
	t.Run("no cookie", func(t *testing.T) {
		resp, err := http.PostForm(srv.URL+oauth.DevicePath, url.Values{"user_code": {userCode}, "csrf": {entry.field(t, "csrf")}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("post without the session cookie: %d", resp.StatusCode)
		}
	})
	t.Run("wrong csrf token", func(t *testing.T) {
		br.submit(entry, oauth.DevicePath, url.Values{"user_code": {userCode}, "csrf": {"forged"}}).want(t, http.StatusForbidden, "start again")
	})
	t.Run("another browser's token", func(t *testing.T) {
		other := newBrowser(t, srv.URL).get(oauth.DevicePath)
		br.submit(entry, oauth.DevicePath, url.Values{"user_code": {userCode}, "csrf": {other.field(t, "csrf")}}).want(t, http.StatusForbidden)
	})
	t.Run("another site", func(t *testing.T) {
		req, _ := http.NewRequest("POST", srv.URL+oauth.DevicePath, strings.NewReader(url.Values{"user_code": {userCode},
			"csrf": {entry.field(t, "csrf")}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		br.do(req).want(t, http.StatusForbidden)
	})
	t.Run("hidden origin", func(t *testing.T) {
		// Browsers that hide the origin send "null"; the token decides.
		req, _ := http.NewRequest("POST", srv.URL+oauth.DevicePath, strings.NewReader(url.Values{"user_code": {userCode},
			"csrf": {entry.field(t, "csrf")}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "null")
		br.do(req).want(t, http.StatusOK, "Sign in")
	})
	t.Run("consent without sign-in", func(t *testing.T) {
		br.get(oauth.DevicePath+"/consent?user_code="+url.QueryEscape(userCode)).want(t, http.StatusForbidden, "Please sign in", "Sign in")
		br.decide(entry, userCode, "approve", "1").want(t, http.StatusForbidden, "Please sign in")
	})
	t.Run("expired code", func(t *testing.T) {
		// Told only to the user who signs in with the right password.
		clock := clocktest.New(time.Now())
		short := startServer(t, sqliteBackend, serverOptions{lifetime: time.Minute, clock: clock})
		_, code, _ := deviceCode(t, short)
		clock.Add(time.Minute)
		newBrowser(t, short.URL).signIn(code, short.user.Username, short.user.Password, totp(t, short.user.TOTPSecret, 0)).
			want(t, http.StatusGone, "has expired", "Enter a code")
	})
	t.Run("denied code", func(t *testing.T) {
		b2 := newBrowser(t, srv.URL)
		b2.deny(srv, userCode)
		// Another browser learns nothing without signing in.
		newBrowser(t, srv.URL).get(oauth.DevicePath+"/signin?user_code="+url.QueryEscape(userCode)).want(t, http.StatusOK, "Sign in")
		newBrowser(t, srv.URL).signIn(userCode, srv.user.Username, srv.user.Password, totp(t, srv.user.TOTPSecret, 1)).
			want(t, http.StatusConflict, "already answered")
	})
}

func TestEndpointRefusals(t *testing.T) {
	srv := startServer(t, sqliteBackend, serverOptions{})
	post := func(path string, form url.Values, basic []string, header map[string]string) (int, http.Header, map[string]any) {
		t.Helper()
		req, err := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		if basic != nil {
			req.SetBasicAuth(basic[0], basic[1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, resp.Header, out
	}
	deviceGrant := "urn:ietf:params:oauth:grant-type:device_code"
	tests := []struct {
		name   string
		path   string
		form   url.Values
		basic  []string
		header map[string]string
		status int
		code   string
		desc   string
	}{
		{"no client", oauth.DeviceCodePath, url.Values{"tenant": {"test"}}, nil, nil, 400, "invalid_request", "client_id"},
		{"unknown client", oauth.DeviceCodePath, url.Values{"client_id": {"nope"}, "tenant": {"test"}}, nil, nil, 401, "invalid_client", "nope"},
		{"confidential client", oauth.DeviceCodePath, url.Values{"client_id": {tms.TestClientID}, "tenant": {"test"}}, nil, nil, 401, "invalid_client", ""},
		{"client secret", oauth.DeviceCodePath, url.Values{"client_id": {"tms-cli"}, "client_secret": {"x"}}, nil, nil, 401, "invalid_client", "client_secret"},
		{"Basic with a password", oauth.DeviceCodePath, url.Values{}, []string{"tms-cli", "secret"}, nil, 401, "invalid_client", "empty password"},
		{"unknown tenant", oauth.DeviceCodePath, url.Values{"client_id": {"tms-cli"}, "tenant": {"nope"}}, nil, nil, 400, "invalid_request", "tenant"},
		{"unknown scope", oauth.DeviceCodePath, url.Values{"client_id": {"tms-cli"}, "scope": {"admin"}}, nil, nil, 400, "invalid_scope", "admin"},
		{"repeated parameter", oauth.DeviceCodePath, url.Values{"client_id": {"tms-cli", "tms-cli"}}, nil, nil, 400, "invalid_request", "more than once"},
		{"JSON body", oauth.DeviceCodePath, url.Values{"client_id": {"tms-cli"}}, nil, map[string]string{"Content-Type": "application/json"}, 400, "invalid_request", "Content-Type"},
		{"no grant type", oauth.TokenPath, url.Values{"client_id": {"tms-cli"}}, nil, nil, 400, "invalid_request", "grant_type"},
		{"unknown grant type", oauth.TokenPath, url.Values{"client_id": {"tms-cli"}, "grant_type": {"password"}}, nil, nil, 400, "unsupported_grant_type", "password"},
		{"no device code", oauth.TokenPath, url.Values{"client_id": {"tms-cli"}, "grant_type": {deviceGrant}}, nil, nil, 400, "invalid_request", "device_code"},
		{"unknown device code", oauth.TokenPath, url.Values{"client_id": {"tms-cli"}, "grant_type": {deviceGrant}, "device_code": {"x"}}, nil, nil, 400, "invalid_grant", ""},
		{"two clients", oauth.TokenPath, url.Values{"client_id": {"other"}, "grant_type": {deviceGrant}, "device_code": {"x"}}, []string{"tms-cli", ""}, nil, 400, "invalid_request", "differs"},
		{"Bearer client auth", oauth.TokenPath, url.Values{"grant_type": {deviceGrant}}, nil, map[string]string{"Authorization": "Bearer x"}, 401, "invalid_client", "Basic"},
		{"unknown refresh token", oauth.TokenPath, url.Values{"client_id": {"tms-cli"}, "grant_type": {"refresh_token"}, "refresh_token": {"x"}}, nil, nil, 400, "invalid_grant", ""},
		{"revoke without token", oauth.RevokePath, url.Values{"client_id": {"tms-cli"}}, nil, nil, 400, "invalid_request", "token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, out := post(tc.path, tc.form, tc.basic, tc.header)
			desc, _ := out["error_description"].(string)
			if status != tc.status || out["error"] != tc.code || !strings.Contains(desc, tc.desc) {
				t.Fatalf("got %d %v, want %d %s mentioning %q", status, out, tc.status, tc.code, tc.desc)
			}
			if hdr.Get("Cache-Control") != "no-store" || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Fatalf("headers %v", hdr)
			}
			if status == 401 && tc.basic != nil && hdr.Get("WWW-Authenticate") == "" {
				t.Fatal("401 to Basic authentication without WWW-Authenticate")
			}
		})
	}

	t.Run("metadata", func(t *testing.T) {
		resp, err := http.Get(srv.URL + oauth.MetadataPath)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
			t.Fatalf("metadata: %d %v", resp.StatusCode, err)
		}
		if m["issuer"] != srv.URL || m["device_authorization_endpoint"] != srv.URL+oauth.DeviceCodePath ||
			m["token_endpoint"] != srv.URL+oauth.TokenPath || m["revocation_endpoint"] != srv.URL+oauth.RevokePath ||
			m["service_documentation"] != srv.URL+"/docs" {
			t.Fatalf("metadata: %v", m)
		}
	})

	t.Run("revocation", func(t *testing.T) {
		code, userCode, _ := deviceCode(t, srv)
		newBrowser(t, srv.URL).approve(srv, userCode)
		_, tok := pollOnce(t, srv, code)
		access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
		if tok["token_type"] != "Bearer" || tok["scope"] != "keys" {
			t.Fatalf("token answer %v", tok)
		}
		me(t, srv, access)
		// Unknown tokens and other clients' tokens are ignored with 200.
		for _, form := range []url.Values{{"client_id": {"tms-cli"}, "token": {"nope"}}, {"client_id": {"other"}, "token": {refresh}}} {
			if status, _, _ := post(oauth.RevokePath, form, nil, nil); status != 200 {
				t.Fatalf("revoke %v: %d", form, status)
			}
		}
		me(t, srv, access)
		if status, _, _ := post(oauth.RevokePath, url.Values{"token": {refresh}, "token_type_hint": {"refresh_token"}}, []string{"tms-cli", ""}, nil); status != 200 {
			t.Fatalf("revoke: %d", status)
		}
		req, _ := http.NewRequest("GET", srv.URL+"/v1/tms/user/me", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("access token after revoking its refresh token: %d", resp.StatusCode)
		}
		status, _, out := post(oauth.TokenPath, url.Values{"client_id": {"tms-cli"}, "grant_type": {"refresh_token"}, "refresh_token": {refresh}}, nil, nil)
		if status != 400 || out["error"] != "invalid_grant" || !strings.Contains(html.UnescapeString(out["error_description"].(string)), "revoked") {
			t.Fatalf("refresh after revocation: %d %v", status, out)
		}
	})
}
