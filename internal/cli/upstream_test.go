package cli

import (
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/server/servertest"
	"github.com/tmsproject/tms/internal/upstream/providertest"
)

var upstreamButton = regexp.MustCompile(`href="([^"]*/v1/oauth2/upstream/campus/start[^"]*)"`)

// TestLoginThroughUpstream is the walk of a user whose tenant signs in
// through the centre's OpenID Connect provider: a server configured with
// [[oauth.upstream]] as the README shows (but create_users = false, so an
// administrator admits the user with tms users create --sign-in), tms login
// finished in a browser
// through the provider's own login page (which asserts a second factor, so
// no TMS code is asked), then the login's token works, and a key it
// creates is accepted by tms authorized-keys.
func TestLoginThroughUpstream(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	provider := providertest.Start(t, providertest.Options{
		Clients: []providertest.Client{{ID: "tms", Secret: "campus-secret", RedirectURIs: []string{base + "/v1/oauth2/upstream/campus/callback"}}},
		Accounts: []providertest.Account{{ID: "u-1", Password: "bob-pw", AMR: []string{"pwd", "otp"},
			Claims: map[string]any{"preferred_username": "bob"}}},
	})
	conf := filepath.Join(t.TempDir(), "tms.toml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`[[oauth.upstream]]
id = "campus"
tenant = "test"
name = "Campus sign-in"
issuer = %q
client_id = "tms"
create_users = false
`, provider.Issuer)), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := servertest.Start(t, server.Options{Dev: true, ConfigFile: conf, Listener: ln,
		Env: []string{fastPolls, "TMS_OAUTH_UPSTREAM_CAMPUS_CLIENT_SECRET=campus-secret"}})
	admin := cliEnv(srv.DevEnv(t))
	env := admin.with("HOME="+t.TempDir(), "X_TMS_ADMIN_SECRET=", "X_TMS_CLIENT_SECRET=")

	admin.fails(t, 2, "--sign-in: a user who signs in elsewhere has no TMS password", "users", "create", "--user", "bob",
		"--sign-in", "upstream:campus", "--password-stdin")
	admin.fails(t, 1, `origin: "upstream:other" is not`, "users", "create", "--user", "bob", "--sign-in", "upstream:other")
	if got := field(t, admin.ok(t, "users", "create", "--user", "bob", "--sign-in", "upstream:campus"), "sign-in"); got != "upstream:campus" {
		t.Fatalf("users create --sign-in: sign-in %q", got)
	}
	r := loginWith(t, env, func(link string) string {
		b := newFormBrowser(t)
		code := mustParseURL(t, link).Query().Get("user_code")
		page := b.send("GET", link, "", nil)
		page = b.send("POST", base+"/v1/oauth2/device", page, url.Values{"user_code": {code}})
		// Discovery runs in the background from the server's start: until
		// it succeeds the sign-in page has no link to the provider.
		clocktest.Eventually(t, "the provider's button", func() bool {
			if !upstreamButton.MatchString(page) {
				page = b.send("GET", base+"/v1/oauth2/device/signin?user_code="+url.QueryEscape(code), "", nil)
			}
			return upstreamButton.MatchString(page)
		})
		resp, err := b.http.Get(base + html.UnescapeString(upstreamButton.FindStringSubmatch(page)[1]))
		if err != nil {
			t.Fatal(err)
		}
		login, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !providertest.IsLoginPage(login) {
			t.Fatalf("the button did not lead to the provider's login page:\n%s", login)
		}
		resp = providertest.SubmitLogin(t, b.http, resp.Request.URL, login, "u-1", "bob-pw")
		consent, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(consent), "Approve access") {
			t.Fatalf("after the provider: %d\n%s", resp.StatusCode, consent)
		}
		return b.send("POST", base+"/v1/oauth2/device/consent", string(consent), url.Values{"user_code": {code}, "days": {"2"}, "action": {"approve"}})
	})
	if r.code != 0 || !strings.Contains(r.stdout, "as bob (tenant test)") {
		t.Fatalf("tms login: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if got := field(t, env.ok(t, "whoami"), "user"); got != "bob" {
		t.Fatalf("whoami: user %q", got)
	}
	if list := admin.ok(t, "users", "list"); !regexp.MustCompile(`(?m)^bob +upstream:campus `).MatchString(list) {
		t.Fatalf("users list:\n%s", list)
	}

	admin.ok(t, "userhosts", "create", "--user", "bob", "--host", "testhost1", "--account", "bob")
	keyFile := filepath.Join(t.TempDir(), "key")
	fingerprint := field(t, env.ok(t, "keys", "create", "--host", "testhost1", "--account", "bob", "--out", keyFile), "public_key_fingerprint")
	keycmd := filepath.Join(t.TempDir(), "tms_keycmd.toml")
	if err := os.WriteFile(keycmd, []byte(fmt.Sprintf("tms_url = %q\nhost_name = \"testhost1\"\ntimeout = \"5s\"\n",
		srv.URL+"/v1/tms/pubkeys/creds/retrieve")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runTMS(t, "authorized-keys", "--config", keycmd, "bob", "1000", fingerprint, "ssh-ed25519")
	if code != 0 || !strings.HasPrefix(stdout, "ssh-ed25519 ") {
		t.Fatalf("tms authorized-keys: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func mustParseURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
