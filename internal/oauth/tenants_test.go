package oauth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tmsproject/tms/internal/oauth"
	"github.com/tmsproject/tms/internal/tms"
)

// metadataURL is where the RFC 8414 metadata of a tenant's issuer is.
func metadataURL(srv *testServer, tenant string) string {
	return srv.URL + oauth.MetadataPath + oauth.TenantsPath + "/" + tenant
}

// discovered is the part of RFC 8414 metadata a device-flow client reads.
type discovered struct {
	Issuer                      string   `json:"issuer"`
	DeviceAuthorizationEndpoint string   `json:"device_authorization_endpoint"`
	TokenEndpoint               string   `json:"token_endpoint"`
	RevocationEndpoint          string   `json:"revocation_endpoint"`
	GrantTypesSupported         []string `json:"grant_types_supported"`
}

// discover reads the metadata at a URL, as a generic client would.
func discover(t *testing.T, metadata string) discovered {
	t.Helper()
	resp, err := http.Get(metadata)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d discovered
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d, %v", metadata, resp.StatusCode, err)
	}
	return d
}

// genericClient is x/oauth2 configured only from a tenant's metadata: it
// sends client_id and scope, nothing else, in x/oauth2's default client
// authentication style.
func genericClient(d discovered) *oauth2.Config {
	return &oauth2.Config{
		ClientID: tms.CLIClientID,
		Endpoint: oauth2.Endpoint{DeviceAuthURL: d.DeviceAuthorizationEndpoint, TokenURL: d.TokenEndpoint},
		Scopes:   []string{tms.ScopeKeys},
	}
}

// approveLink walks the pages from the verification_uri_complete of a
// device authorization, as a browser without JavaScript would, and
// approves the request as the development user. The pages before the
// sign-in tell nothing about the code; the consent page and the result
// name the tenant.
func (b *browser) approveLink(s *testServer, complete, userCode, tenant string) {
	b.t.Helper()
	u, err := url.Parse(complete)
	if err != nil {
		b.t.Fatal(err)
	}
	p := b.get(u.RequestURI()).want(b.t, 200, "Check that this code", userCode)
	p = b.submit(p, oauth.DevicePath, url.Values{"user_code": {userCode}}).want(b.t, 200, "Sign in", userCode)
	p = b.submit(p, oauth.DevicePath+"/signin", url.Values{"user_code": {userCode}, "username": {s.user.Username},
		"password": {s.user.Password}, "otp": {totp(b.t, s.user.TOTPSecret, 0)}}).want(b.t, 200, "Approve access", ">"+tenant+"<")
	b.decide(p, userCode, "approve", "2").want(b.t, 200, "Device approved", "in tenant "+tenant)
}

// TestGenericClientLogsInToTenant: golang.org/x/oauth2 pointed only at the
// metadata of tenant test, sending only client_id and scope, logs in to
// tenant test. The device code and tokens it gets are refused or ignored
// at the endpoints of another tenant and keep working at their own.
func TestGenericClientLogsInToTenant(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			srv := startServer(t, b, serverOptions{})
			issuer := srv.URL + oauth.TenantsPath + "/" + tms.TestTenant
			d := discover(t, metadataURL(srv, tms.TestTenant))
			if d.Issuer != issuer || d.DeviceAuthorizationEndpoint != issuer+"/device/code" || d.TokenEndpoint != issuer+"/token" ||
				d.RevocationEndpoint != issuer+"/revoke" {
				t.Fatalf("metadata of tenant test: %+v", d)
			}
			other := discover(t, metadataURL(srv, tms.DefaultTenant))
			if other.Issuer != srv.URL+oauth.TenantsPath+"/"+tms.DefaultTenant {
				t.Fatalf("metadata of tenant default: %+v", other)
			}

			rec := newRecorder()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: rec, Timeout: 30 * time.Second})
			cfg := genericClient(d)
			da, err := cfg.DeviceAuth(ctx)
			if err != nil {
				t.Fatalf("DeviceAuth: %v", err)
			}
			if da.VerificationURI != srv.URL+oauth.DevicePath+"?tenant="+tms.TestTenant {
				t.Fatalf("verification_uri: %q", da.VerificationURI)
			}
			// The page of the verification_uri names the tenant, and so
			// does the sign-in after it. On the pages of another tenant
			// the code is not known: the right password does not sign in.
			u, err := url.Parse(da.VerificationURI)
			if err != nil {
				t.Fatal(err)
			}
			br := newBrowser(t, srv.URL)
			entry := br.get(u.RequestURI()).want(t, 200, "Enter the code", `<dd id="tenant">test</dd>`)
			br.submit(entry, oauth.DevicePath, url.Values{"user_code": {da.UserCode}, "tenant": {tms.TestTenant}}).
				want(t, 200, "Sign in", `<dd id="tenant">test</dd>`, `name="tenant" value="test"`)
			br.get(oauth.DevicePath+"?tenant=nosuch").want(t, 200, "Enter the code").wantNot(t, `id="tenant"`)
			elsewhere := br.get(oauth.DevicePath+"?tenant="+tms.DefaultTenant).want(t, 200, `<dd id="tenant">default</dd>`)
			p := br.submit(elsewhere, oauth.DevicePath, url.Values{"user_code": {da.UserCode}, "tenant": {tms.DefaultTenant}}).
				want(t, 200, "Sign in", `<dd id="tenant">default</dd>`)
			br.submit(p, oauth.DevicePath+"/signin", url.Values{"user_code": {da.UserCode}, "tenant": {tms.DefaultTenant},
				"username": {srv.user.Username}, "password": {srv.user.Password}, "otp": {totp(t, srv.user.TOTPSecret, 0)}}).
				want(t, http.StatusUnauthorized, "is not right", `<dd id="tenant">default</dd>`)
			srv.limiter.Add(time.Hour) // past the backoff of the failed sign-in

			// Before and after approval, tenant default's token endpoint
			// does not know the code.
			wrong := genericClient(other)
			_, err = wrong.DeviceAccessToken(ctx, da)
			wantCode(t, err, tms.OAuthInvalidGrant)
			newBrowser(t, srv.URL).approveLink(srv, da.VerificationURIComplete, da.UserCode, tms.TestTenant)
			_, err = wrong.DeviceAccessToken(ctx, da)
			wantCode(t, err, tms.OAuthInvalidGrant)

			tok, err := cfg.DeviceAccessToken(ctx, da)
			if err != nil {
				t.Fatalf("DeviceAccessToken: %v\npolls: %+v", err, rec.recorded())
			}
			if n := rec.count(tms.OAuthSlowDown); n != 0 {
				t.Fatalf("%d polls answered slow_down: %+v", n, rec.recorded())
			}
			info := me(t, srv, tok.AccessToken)
			if info["username"] != tms.TestUser || info["tenant"] != tms.TestTenant || info["client_id"] != tms.CLIClientID {
				t.Fatalf("user/me: %v", info)
			}

			// The refresh token is refused at tenant default and, not
			// spent there, rotates at tenant test.
			expired := *tok
			expired.Expiry = time.Now().Add(-time.Minute)
			_, err = wrong.TokenSource(ctx, &expired).Token()
			wantCode(t, err, tms.OAuthInvalidGrant)
			fresh, err := cfg.TokenSource(ctx, &expired).Token()
			if err != nil || fresh.RefreshToken == tok.RefreshToken {
				t.Fatalf("refresh at tenant test: %+v %v", fresh, err)
			}

			// Revocation at tenant default answers 200 and changes
			// nothing; at tenant test it ends the login.
			revoke(t, other.RevocationEndpoint, fresh.RefreshToken)
			me(t, srv, fresh.AccessToken)
			revoke(t, d.RevocationEndpoint, fresh.RefreshToken)
			if status := meStatus(t, srv, fresh.AccessToken); status != http.StatusUnauthorized {
				t.Fatalf("access token after revocation at its tenant: status %d", status)
			}
		})
	}
}

// revoke posts an RFC 7009 revocation and wants 200.
func revoke(t *testing.T, endpoint, token string) {
	t.Helper()
	resp, err := http.PostForm(endpoint, url.Values{"client_id": {tms.CLIClientID}, "token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: status %d", endpoint, resp.StatusCode)
	}
}

// meStatus returns the status of /v1/tms/user/me with an access token.
func meStatus(t *testing.T, srv *testServer, token string) int {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+"/v1/tms/user/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// answer is a response reduced to what a client can compare.
type answer struct {
	status  int
	body    string
	headers string
}

func ask(t *testing.T, method, u string, form url.Values) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range resp.Header {
		if name != "Date" && name != "X-Request-Id" && name != "Content-Length" {
			names = append(names, name+"="+resp.Header.Get(name))
		}
	}
	slices.Sort(names)
	return answer{resp.StatusCode, string(body), strings.Join(names, "\n")}
}

// TestUnknownTenantIsUnknownPath: the issuer routes of a tenant that does
// not exist or is disabled answer exactly as a path the server does not
// serve.
func TestUnknownTenantIsUnknownPath(t *testing.T) {
	srv := startServer(t, sqliteBackend, serverOptions{})
	if _, err := srv.st.SetTenantEnabled(context.Background(), tms.DefaultTenant, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	unknown := ask(t, "GET", srv.URL+"/v1/oauth2/nosuch", nil)
	if unknown.status != http.StatusNotFound {
		t.Fatalf("unknown path: %+v", unknown)
	}
	form := url.Values{"client_id": {tms.CLIClientID}, "grant_type": {"refresh_token"}, "refresh_token": {"x"}, "token": {"x"}}
	for _, tenant := range []string{"nosuch", tms.DefaultTenant, "no%20such", "a%2Fb"} {
		for _, c := range []struct{ method, path string }{
			{"GET", oauth.MetadataPath + oauth.TenantsPath + "/" + tenant},
			{"POST", oauth.TenantsPath + "/" + tenant + "/device/code"},
			{"POST", oauth.TenantsPath + "/" + tenant + "/token"},
			{"POST", oauth.TenantsPath + "/" + tenant + "/revoke"},
		} {
			var f url.Values
			if c.method == "POST" {
				f = form
			}
			got := ask(t, c.method, srv.URL+c.path, f)
			path, _ := url.PathUnescape(c.path)
			want := `{"result_code":"404","result_msg":"No route ` + c.method + " " + path + `"}`
			if got.status != http.StatusNotFound || got.body != want || got.headers != unknown.headers {
				t.Errorf("%s %s: %d %s\n%s\nwant 404 %s\n%s", c.method, c.path, got.status, got.body, got.headers, want, unknown.headers)
			}
		}
	}
	// An enabled tenant is served.
	if got := ask(t, "GET", metadataURL(srv, tms.TestTenant), nil); got.status != 200 {
		t.Fatalf("metadata of tenant test: %+v", got)
	}
}

// TestTenantParameter: the server's own endpoints take the tenant from the
// query string as well as from the body; names that disagree, or a tenant
// named twice, are refused.
func TestTenantParameter(t *testing.T) {
	srv := startServer(t, sqliteBackend, serverOptions{})
	ctx := context.Background()
	cfg := srv.oauthConfig(oauth2.AuthStyleInParams)
	cfg.Endpoint.DeviceAuthURL += "?tenant=" + tms.TestTenant
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("DeviceAuth with the tenant in the query: %v", err)
	}
	newBrowser(t, srv.URL).approveLink(srv, da.VerificationURIComplete, da.UserCode, tms.TestTenant)
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatal(err)
	}
	if info := me(t, srv, tok.AccessToken); info["tenant"] != tms.TestTenant {
		t.Fatalf("user/me: %v", info)
	}
	// The token endpoint with a tenant checks it.
	_, err = (&oauth2.Config{ClientID: tms.CLIClientID, Endpoint: oauth2.Endpoint{TokenURL: srv.URL + oauth.TokenPath + "?tenant=" + tms.DefaultTenant,
		AuthStyle: oauth2.AuthStyleInParams}}).TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	wantCode(t, err, tms.OAuthInvalidGrant)

	for _, c := range []struct {
		path string
		form url.Values
		want string
	}{
		{oauth.DeviceCodePath + "?tenant=test", url.Values{"tenant": {"default"}}, `the query names \"test\", the body \"default\"`},
		{oauth.DeviceCodePath + "?tenant=test&tenant=test", url.Values{}, "tenant: given more than once"},
		{oauth.TenantsPath + "/test/device/code", url.Values{"tenant": {"default"}}, `the path names \"test\", the body \"default\"`},
		{oauth.TenantsPath + "/test/device/code?tenant=default", url.Values{}, `the path names \"test\", the query \"default\"`},
		{oauth.TokenPath + "?tenant=test", url.Values{"tenant": {"default"}, "grant_type": {"refresh_token"}, "refresh_token": {"x"}}, "tenant: the query"},
		{oauth.RevokePath + "?tenant=test", url.Values{"tenant": {"default"}, "token": {"x"}}, "tenant: the query"},
	} {
		c.form.Set("client_id", tms.CLIClientID)
		got := ask(t, "POST", srv.URL+c.path, c.form)
		if got.status != http.StatusBadRequest || !strings.Contains(got.body, `"error":"invalid_request"`) || !strings.Contains(got.body, c.want) {
			t.Errorf("POST %s %v: %d %s; want invalid_request with %s", c.path, c.form, got.status, got.body, c.want)
		}
	}
}
