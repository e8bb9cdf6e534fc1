package cli

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/client"
	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/server/servertest"
	"github.com/tmsproject/tms/internal/tms"
)

// fastPolls lets a development server's device codes be polled every
// second.
const fastPolls = "TMS_OAUTH_POLL_INTERVAL=1s"

// formBrowser is a plain HTTP form client with cookies and no JavaScript,
// standing in for the user's browser.
type formBrowser struct {
	t    *testing.T
	http *http.Client
}

func newFormBrowser(t *testing.T) *formBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &formBrowser{t: t, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// send loads a page, or posts a form to it with the CSRF token of the page
// before, and returns its body, failing unless the status is 200.
func (b *formBrowser) send(method, target, prevBody string, form url.Values) string {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		m := csrfInput.FindStringSubmatch(prevBody)
		if m == nil {
			b.t.Fatalf("no CSRF token on the page before %s:\n%s", target, prevBody)
		}
		form.Set("csrf", html.UnescapeString(m[1]))
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("%s %s: status %d\n%s", method, target, resp.StatusCode, data)
	}
	return string(data)
}

// approveNth confirms the code of a verification_uri_complete link, signs
// in and approves, as the n-th sign-in of a test (n from 0): a one-time
// code is accepted once, and the next time step's code is accepted early,
// so a test can sign in twice in one step.
func (b *formBrowser) approveNth(complete, username, password, totpSecret string, n int) string {
	b.t.Helper()
	u, err := url.Parse(complete)
	if err != nil {
		b.t.Fatal(err)
	}
	base := u.Scheme + "://" + u.Host
	code := u.Query().Get("user_code")
	page := b.send("GET", complete, "", nil)
	page = b.send("POST", base+"/v1/oauth2/device", page, url.Values{"user_code": {code}})
	otp, err := tms.TOTPCode(totpSecret, time.Now().Add(time.Duration(n)*30*time.Second))
	if err != nil {
		b.t.Fatal(err)
	}
	page = b.send("POST", base+"/v1/oauth2/device/signin", page, url.Values{"user_code": {code}, "username": {username},
		"password": {password}, "otp": {otp}})
	return b.send("POST", base+"/v1/oauth2/device/consent", page, url.Values{"user_code": {code}, "days": {"2"}, "action": {"approve"}})
}

var completeLink = regexp.MustCompile(`Or open (http\S+user_code=\S+)`)

// login runs tms login like a user at a terminal: it reads the link the
// command prints and completes the browser part with a form client.
func login(t *testing.T, env cliEnv) result {
	t.Helper()
	return loginNth(t, env, 0)
}

// loginNth is login for the n-th sign-in of a test (see approveNth).
func loginNth(t *testing.T, env cliEnv, n int) result {
	t.Helper()
	return loginWith(t, env, func(link string) string {
		return newFormBrowser(t).approveNth(link, env["TMS_DEV_USER"], env["TMS_DEV_PASSWORD"], env["TMS_DEV_TOTP_SECRET"], n)
	})
}

// loginWith runs tms login like a user at a terminal: it reads the link the
// command prints and has browse complete the browser part, which returns
// the last page.
func loginWith(t *testing.T, env cliEnv, browse func(link string) string) result {
	t.Helper()
	var out, errOut servertest.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"login"}, IO{In: strings.NewReader(""), Out: &out, Err: &errOut, Env: env.list()})
	}()
	var link string
	deadline := time.Now().Add(30 * time.Second)
	for link == "" {
		if m := completeLink.FindStringSubmatch(errOut.String()); m != nil && strings.Contains(errOut.String(), "Waiting for you") {
			link = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("tms login exited %d before printing a link\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tms login printed no link within 30s:\n%s", errOut.String())
		}
	}
	if !strings.Contains(errOut.String(), "and enter the code:") || !strings.Contains(errOut.String(), "▄") {
		t.Errorf("tms login did not print the code and a QR code:\n%s", errOut.String())
	}
	page := browse(link)
	if !strings.Contains(page, "Device approved") {
		t.Fatalf("the browser part ended with:\n%s", page)
	}
	code := <-done
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// TestLoginAndKeys is the README's walk for a new user: a development
// server, tms login (finished in a browser), then tms keys create writes a
// key that the retrieve endpoint accepts.
func TestLoginAndKeys(t *testing.T) {
	t.Parallel()
	srv, dev := startDevServer(t, fastPolls)
	for _, k := range []string{"TMS_DEV_USER", "TMS_DEV_PASSWORD", "TMS_DEV_TOTP_SECRET"} {
		if dev[k] == "" {
			t.Fatalf("dev.env lacks %s: %v", k, dev)
		}
	}
	home := t.TempDir()
	env := dev.with("HOME="+home, "X_TMS_ADMIN_SECRET=", "X_TMS_CLIENT_SECRET=")
	r := login(t, env)
	if r.code != 0 || !strings.Contains(r.stdout, "Logged in to "+srv.URL+" as testuser1 (tenant test)") {
		t.Fatalf("tms login: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	// tms login read the tenant's metadata and used the tenant's endpoints.
	logs := srv.Output.String()
	for _, route := range []string{"GET /.well-known/oauth-authorization-server/v1/oauth2/tenants/{tenant}",
		"POST /v1/oauth2/tenants/{tenant}/device/code", "POST /v1/oauth2/tenants/{tenant}/token"} {
		if !strings.Contains(logs, route) {
			t.Errorf("the server logged no request to %s:\n%s", route, logs)
		}
	}
	if strings.Contains(logs, "POST /v1/oauth2/device/code") {
		t.Errorf("tms login used the server-wide device-code endpoint:\n%s", logs)
	}
	files, err := filepath.Glob(filepath.Join(home, ".config", "tms", "login-*.json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("stored logins: %v %v", files, err)
	}
	if info, err := os.Stat(files[0]); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("login file %s: mode %v %v, want 0600", files[0], info.Mode().Perm(), err)
	}

	who := env.ok(t, "whoami")
	if got := field(t, who, "user"); got != "testuser1" {
		t.Fatalf("whoami: user %q", got)
	}
	// testuser1's MFA record of the test data never expires, and whoami
	// says why the sign-in left it so.
	if got := field(t, who, "mfa_expires_at"); !strings.HasPrefix(got, "never (an administrator made") {
		t.Fatalf("whoami: mfa_expires_at %q", got)
	}

	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	out := env.ok(t, "keys", "create", "--host", "testhost1", "--account", "testhostaccount1", "--out", keyFile)
	fingerprint := field(t, out, "public_key_fingerprint")
	checkKeyFile(t, keyFile, fingerprint)
	api, err := client.New(client.Options{BaseURL: srv.URL}, client.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := api.RetrieveKey(t.Context(), client.RetrieveRequest{Account: "testhostaccount1", Host: "testhost1", Fingerprint: fingerprint})
	if err != nil || !strings.HasPrefix(got.PublicKey, "ssh-ed25519 ") {
		t.Fatalf("retrieve the new key: %+v %v", got, err)
	}
	env.fails(t, 2, "exists", "keys", "create", "--host", "testhost1", "--account", "testhostaccount1", "--out", keyFile)
	env.fails(t, 1, "user host record not found", "keys", "create", "--host", "testhost1", "--account", "root", "--out", filepath.Join(dir, "root"))
	if _, err := os.Stat(filepath.Join(dir, "root")); err == nil {
		t.Fatal("a refused key left a file behind")
	}
	if list := env.ok(t, "keys", "list"); !strings.Contains(list, fingerprint) || !strings.Contains(list, "tms-cli") {
		t.Fatalf("keys list:\n%s", list)
	}

	// An expired access token is renewed with the refresh token and saved.
	var stored storedLogin
	data, _ := os.ReadFile(files[0])
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatal(err)
	}
	stored.Expiry = time.Now().Add(-time.Hour)
	data, _ = json.Marshal(stored)
	if err := os.WriteFile(files[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	env.ok(t, "whoami")
	var renewed storedLogin
	data, _ = os.ReadFile(files[0])
	if err := json.Unmarshal(data, &renewed); err != nil || renewed.AccessToken == stored.AccessToken ||
		renewed.RefreshToken == stored.RefreshToken || !renewed.Expiry.After(time.Now()) {
		t.Fatalf("after renewal: %+v %v", renewed, err)
	}

	if out := env.ok(t, "keys", "delete", "--host", "testhost1", fingerprint); !strings.Contains(out, "Deleted key") {
		t.Fatalf("keys delete: %s", out)
	}
	if _, err := api.RetrieveKey(t.Context(), client.RetrieveRequest{Account: "testhostaccount1", Host: "testhost1", Fingerprint: fingerprint}); err == nil {
		t.Fatal("a deleted key is still accepted")
	}

	if out := env.ok(t, "logout"); !strings.Contains(out, "Logged out of "+srv.URL) {
		t.Fatalf("logout: %s", out)
	}
	env.fails(t, 1, "not logged in", "whoami")
	// The revoked tokens are refused by the server too.
	meAPI, _ := client.New(client.Options{BaseURL: srv.URL}, client.Credentials{BearerToken: renewed.AccessToken})
	if _, err := meAPI.Me(t.Context()); err == nil {
		t.Fatal("the access token works after logout")
	}
}

func TestUserCommandInputs(t *testing.T) {
	t.Parallel()
	_, dev := startDevServer(t, fastPolls)
	env := dev.with("HOME=" + t.TempDir())
	for _, tc := range []struct {
		code int
		want string
		args []string
	}{
		{2, "--host: required", []string{"keys", "create", "--account", "a"}},
		{2, "--type", []string{"keys", "create", "--host", "h", "--account", "a", "--type", "dsa"}},
		{2, "--uses: 9999999999 is out of range", []string{"keys", "create", "--host", "h", "--account", "a", "--uses", "9999999999"}},
		{2, "expected FINGERPRINT", []string{"keys", "delete", "--host", "h"}},
		{1, "not logged in", []string{"keys", "list"}},
		{1, "not logged in", []string{"logout"}},
		{2, "not a server URL", []string{"login", "--url", "ftp://x"}},
		{2, "--tenant: only visible ASCII", []string{"login", "--tenant", "a b"}},
		{2, "--timeout", []string{"whoami", "--timeout", "0s"}},
		{2, "--secret-env: required", []string{"totp", "code"}},
		{2, "NOPE is not set", []string{"totp", "code", "--secret-env", "NOPE"}},
		{2, "TMS_URL: TOTP secret is not base32", []string{"totp", "code", "--secret-env", "TMS_URL"}},
	} {
		r := env.fails(t, tc.code, tc.want, tc.args...)
		if r.stdout != "" {
			t.Errorf("tms %s printed %q", strings.Join(tc.args, " "), r.stdout)
		}
	}
	env.with("TMS_URL=").fails(t, 2, "no server URL", "whoami")
	code := strings.TrimSpace(env.ok(t, "totp", "code", "--secret-env", "TMS_DEV_TOTP_SECRET"))
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		t.Fatalf("totp code printed %q", code)
	}
	// A login to an unknown tenant fails at once with the server's reason.
	env.fails(t, 1, "tenant nope does not exist or is disabled", "login", "--tenant", "nope", "--no-qr")
}

func TestUsersCommands(t *testing.T) {
	t.Parallel()
	_, env := startDevServer(t, fastPolls)
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("alice password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := env.ok(t, "users", "create", "--user", "alice", "--password-file", pwFile)
	if field(t, out, "username") != "alice" || field(t, out, "totp") != "none" {
		t.Fatalf("users create:\n%s", out)
	}
	env.fails(t, 2, "no password", "users", "create", "--user", "bob")
	env.fails(t, 2, "give only one", "users", "create", "--user", "bob", "--password-file", pwFile, "--password-stdin")
	env.fails(t, 2, "--password-stdin: no password in it", "users", "create", "--user", "bob", "--password-stdin")
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env.fails(t, 1, "password: must be at least 8", "users", "create", "--user", "bob", "--password-file", short)
	env.fails(t, 1, "already exists", "users", "create", "--user", "alice", "--password-file", pwFile)
	env.fails(t, 2, "nothing to change", "users", "update", "--user", "alice")

	if list := env.ok(t, "users", "list"); !strings.Contains(list, "alice") || !strings.Contains(list, "testuser1") ||
		!regexp.MustCompile(`(?m)^USERNAME +SIGN-IN .*\n(\S+ +local .*\n){2}$`).MatchString(list) {
		t.Fatalf("users list:\n%s", list)
	}
	if list := env.ok(t, "users", "list", "--json"); !strings.Contains(list, `"origin": "local"`) {
		t.Fatalf("users list --json:\n%s", list)
	}
	if got := field(t, env.ok(t, "users", "get", "--user", "alice"), "sign-in"); got != "local" {
		t.Fatalf("alice sign-in: %q", got)
	}
	if out := env.ok(t, "users", "update", "--user", "alice", "--enabled=false"); !strings.Contains(out, "enabled = false") {
		t.Fatalf("users update:\n%s", out)
	}
	if got := field(t, env.ok(t, "users", "get", "--user", "alice"), "enabled"); got != "false" {
		t.Fatalf("alice enabled: %q", got)
	}
	out = env.ok(t, "users", "totp", "--user", "alice")
	secret := field(t, out, "secret")
	if _, err := tms.TOTPCode(secret, time.Now()); err != nil || !strings.Contains(out, "otpauth://totp/") || !strings.Contains(out, "▄") {
		t.Fatalf("users totp:\n%s", out)
	}
	if got := field(t, env.ok(t, "users", "get", "--user", "alice"), "totp"); got != "enrolled" {
		t.Fatalf("alice totp: %q", got)
	}
	if out := env.ok(t, "users", "delete", "--user", "alice"); !strings.Contains(out, "1 deleted") {
		t.Fatalf("users delete:\n%s", out)
	}
	env.fails(t, 1, "NOT_FOUND", "users", "get", "--user", "alice")

	env.ok(t, "oauthclients", "create", "--client-id", "desktop", "--app-name", "Desktop", "--app-version", "1.0")
	if list := env.ok(t, "oauthclients", "list"); !strings.Contains(list, "desktop") || !strings.Contains(list, "tms-cli") {
		t.Fatalf("oauthclients list:\n%s", list)
	}
}

// TestDevUserKeptAcrossRestarts restarts a development server on the same
// root: dev.env keeps the test user's password and TOTP secret, and they
// still sign in.
func TestDevUserKeptAcrossRestarts(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	opts := server.Options{RootDir: root, Dev: true, Env: []string{fastPolls}}
	first := servertest.Start(t, opts)
	before := cliEnv(first.DevEnv(t))
	first.Stop(t)
	after := cliEnv(servertest.Start(t, opts).DevEnv(t))
	for _, k := range []string{"TMS_DEV_USER", "TMS_DEV_PASSWORD", "TMS_DEV_TOTP_SECRET", "X_TMS_ADMIN_SECRET"} {
		if before[k] == "" || before[k] != after[k] {
			t.Fatalf("%s changed across a restart: %q, then %q", k, before[k], after[k])
		}
	}
	env := after.with("HOME="+t.TempDir(), "X_TMS_ADMIN_SECRET=")
	if r := login(t, env); r.code != 0 {
		t.Fatalf("tms login after a restart: exit %d\n%s", r.code, r.stderr)
	}
}
