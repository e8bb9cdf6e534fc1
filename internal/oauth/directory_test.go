package oauth_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/directory"
	"github.com/tmsproject/tms/internal/directory/slapdtest"
	"github.com/tmsproject/tms/internal/keycmd"
	"github.com/tmsproject/tms/internal/oauth"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

const alicePassword = "alice's directory password"

// startDirectory runs a slapd with alice and returns the test tenant's
// directory, over StartTLS.
func startDirectory(t *testing.T) (*slapdtest.Server, []tms.TenantDirectory) {
	t.Helper()
	s := slapdtest.Start(t, slapdtest.User{UID: "alice", Password: alicePassword})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CAPEM)
	d, err := directory.New(directory.Config{URL: s.LDAPURL, RootCAs: pool, BindDN: slapdtest.BindDN, BindPassword: s.BindPassword,
		UserBase: slapdtest.PeopleDN, UserFilter: "(uid={username})", UsernameAttribute: "uid", Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s, []tms.TenantDirectory{{ID: "campus", Tenant: tms.TestTenant, Directory: d}}
}

// TestDirectoryFormWalk walks the pages like a browser without JavaScript
// for a tenant whose users sign in with their directory password: refused
// attempts, then the first sign-in, which creates the user and enrols
// TOTP, approval, and the token and a key it creates at work.
func TestDirectoryFormWalk(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			_, dirs := startDirectory(t)
			srv := startServer(t, b, serverOptions{directories: dirs, audit: true})
			ctx := context.Background()
			code, userCode, complete := deviceCode(t, srv)
			br := newBrowser(t, srv.URL)
			p := br.get(strings.TrimPrefix(complete, srv.URL)).want(t, 200, userCode)
			// The page names the tenant, and how its passwords are checked.
			p = br.submit(p, oauth.DevicePath, url.Values{"user_code": {p.field(t, "user_code")}, "tenant": {p.field(t, "tenant")}}).
				want(t, 200, "Sign in", userCode, "Directory password", `id="tenant">test<`)

			signIn := func(p page, username, password string) page {
				return br.submit(p, oauth.DevicePath+"/signin", url.Values{"user_code": {userCode}, "tenant": {tms.TestTenant},
					"username": {username}, "password": {password}})
			}
			for _, c := range []struct{ username, password string }{
				{"alice", "not alice's password"},
				{"mallory", alicePassword},
				{"*)(uid=*", alicePassword},
				{tms.TestUser, srv.user.Password}, // a local user's TMS password
			} {
				p = signIn(p, c.username, c.password).want(t, http.StatusUnauthorized, "The username, password or one-time code is not right.")
			}
			p = signIn(p, "alice", "").want(t, http.StatusBadRequest, "Enter your username and password.")
			if _, err := srv.st.GetUser(ctx, tms.TestTenant, "alice"); err == nil {
				t.Fatal("a refused sign-in created alice")
			}

			p = signIn(p, "alice", alicePassword).want(t, 200, "Set up your authenticator app")
			m := secretPattern.FindStringSubmatch(p.body)
			if m == nil {
				t.Fatalf("no secret on the enrolment page:\n%s", p.body)
			}
			secret := strings.ReplaceAll(m[1], " ", "")
			p = br.submit(p, oauth.DevicePath+"/enroll", url.Values{"user_code": {userCode}, "otp": {totp(t, secret, 0)}}).
				want(t, 200, "Approve access", "alice")
			u, err := srv.st.GetUser(ctx, tms.TestTenant, "alice")
			if err != nil || u.Origin != store.LDAPOrigin("campus") || u.PasswordHash != "" || !u.TOTPConfirmed {
				t.Fatalf("alice after her first sign-in: %+v %v", u, err)
			}
			br.decide(p, userCode, "approve", "3").want(t, 200, "Device approved", "alice", "for 3 days")
			status, tok := pollOnce(t, srv, code)
			access, _ := tok["access_token"].(string)
			if status != 200 || access == "" {
				t.Fatalf("token: %d %v", status, tok)
			}
			if info := me(t, srv, access); info["username"] != "alice" || info["tenant"] != tms.TestTenant {
				t.Fatalf("user/me: %v", info)
			}

			// The administrator registers the login host and maps alice to an
			// account there; the token creates a key that the
			// authorized-keys lookup of sshd accepts.
			admin := tms.Credentials{Tenant: tms.TestTenant, TenantSet: true, AdminID: srv.admin.AdminID, AdminSecret: srv.admin.Secret}
			hostSecret, err := srv.svc.CreateHostCredential(ctx, admin, tms.TestTenant, tms.TestHost)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := srv.svc.CreateUserHost(ctx, admin, store.UserHostKey{Tenant: tms.TestTenant, TMSUserID: "alice",
				Host: tms.TestHost, HostAccount: "alice"}, 60); err != nil {
				t.Fatal(err)
			}
			fp := createUserKey(t, srv, access, "alice")
			retrieve, _ := url.Parse(srv.URL + "/v1/tms/pubkeys/creds/retrieve")
			line, err := keycmd.Lookup(ctx, keycmd.Config{URL: retrieve, HostName: tms.TestHost, HostSecret: hostSecret.Secret, Timeout: 30 * time.Second},
				keycmd.Request{User: "alice", UID: 1000, Fingerprint: fp, KeyType: "ssh-ed25519"})
			if err != nil || !strings.HasPrefix(line, "ssh-") {
				t.Fatalf("authorized-keys lookup: %q %v", line, err)
			}

			wantMetrics(t, srv, `tms_directory_sign_ins_total{result="refused",tenant="test"} 4`,
				`tms_directory_sign_ins_total{result="enroll",tenant="test"} 1`)
			if err := srv.audit.Close(ctx); err != nil {
				t.Fatal(err)
			}
			events, err := srv.st.ListAudit(ctx, store.AuditQuery{Tenant: tms.TestTenant, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			var logins []string
			slices.Reverse(events) // oldest first
			for _, e := range events {
				if e.Type == "user.login" || e.Type == "auth.failure" {
					logins = append(logins, strings.TrimSpace(e.Type+" "+e.Outcome+" "+e.User+" "+e.Detail))
				}
			}
			// Refused sign-ins are authentication failures (401).
			const route = "; route=POST /v1/oauth2/device/signin"
			want := []string{"auth.failure denied alice via=ldap:campus" + route, "auth.failure denied mallory via=ldap:campus" + route,
				"auth.failure denied *)(uid=* via=ldap:campus" + route, "auth.failure denied " + tms.TestUser + " via=ldap:campus" + route,
				"user.login success alice via=ldap:campus; user created"}
			if strings.Join(logins, "\n") != strings.Join(want, "\n") {
				t.Fatalf("sign-in events:\n%s\nwant:\n%s", strings.Join(logins, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// createUserKey creates a key for the user's account on the test host
// with an access token and returns its fingerprint.
func createUserKey(t *testing.T, srv *testServer, access, account string) string {
	t.Helper()
	body := `{"host":"` + tms.TestHost + `","host_account":"` + account + `","num_uses":2,"ttl_minutes":60}`
	req, err := http.NewRequest("POST", srv.URL+"/v1/tms/user/keys", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create user key: %d %v %v", resp.StatusCode, out, err)
	}
	fp, _ := out["public_key_fingerprint"].(string)
	return fp
}

// TestDirectoryDownPage: with slapd stopped the sign-in page says the
// directory cannot be reached (503, not a server error), and the same
// request signs in once it is back.
func TestDirectoryDownPage(t *testing.T) {
	s, dirs := startDirectory(t)
	srv := startServer(t, sqliteBackend, serverOptions{directories: dirs})
	code, userCode, _ := deviceCode(t, srv)
	br := newBrowser(t, srv.URL)
	p := br.get(oauth.DevicePath).want(t, 200)
	p = br.submit(p, oauth.DevicePath, url.Values{"user_code": {userCode}}).want(t, 200, "Sign in")
	s.Stop(t)
	form := url.Values{"user_code": {userCode}, "username": {"alice"}, "password": {alicePassword}}
	down := br.submit(p, oauth.DevicePath+"/signin", form).
		want(t, http.StatusServiceUnavailable, "The directory that checks passwords for tenant test cannot be reached right now")
	if down.header.Get("Retry-After") == "" || down.field(t, "user_code") != userCode || down.field(t, "username") != "alice" {
		t.Fatalf("the page of a directory that is down lacks Retry-After or the form:\n%s", down.body)
	}
	if status, out := pollOnce(t, srv, code); status != 400 || out["error"] != "authorization_pending" {
		t.Fatalf("poll while the directory is down: %d %v", status, out)
	}
	s.Restart(t)
	p = br.submit(down, oauth.DevicePath+"/signin", form).want(t, 200, "Set up your authenticator app")
	secret := strings.ReplaceAll(secretPattern.FindStringSubmatch(p.body)[1], " ", "")
	p = br.submit(p, oauth.DevicePath+"/enroll", url.Values{"user_code": {userCode}, "otp": {totp(t, secret, 0)}}).want(t, 200, "Approve access")
	br.decide(p, userCode, "approve", "1").want(t, 200, "Device approved")
	if status, tok := pollOnce(t, srv, code); status != 200 || tok["access_token"] == nil {
		t.Fatalf("token: %d %v", status, tok)
	}
	wantMetrics(t, srv, `tms_directory_sign_ins_total{result="unavailable",tenant="test"} 1`)
}

// TestDirectoryRateLimit: wrong directory passwords count against the
// sign-in rate limit like wrong TMS passwords, and the refused attempts
// reach no directory.
func TestDirectoryRateLimit(t *testing.T) {
	_, dirs := startDirectory(t)
	srv := startServer(t, sqliteBackend, serverOptions{directories: dirs, attempts: 3, attemptsTotal: 100})
	_, userCode, _ := deviceCode(t, srv)
	br := newBrowser(t, srv.URL)
	p := br.get(oauth.DevicePath).want(t, 200)
	p = br.submit(p, oauth.DevicePath, url.Values{"user_code": {userCode}}).want(t, 200)
	wrong := url.Values{"user_code": {userCode}, "username": {"alice"}, "password": {"guess"}}
	for range 3 {
		p = br.submit(p, oauth.DevicePath+"/signin", wrong).want(t, http.StatusUnauthorized)
	}
	br.submit(p, oauth.DevicePath+"/signin", url.Values{"user_code": {userCode}, "username": {"alice"}, "password": {alicePassword}}).
		want(t, http.StatusTooManyRequests, "Too many attempts")
	wantMetrics(t, srv, `tms_directory_sign_ins_total{result="refused",tenant="test"} 3`)
}
