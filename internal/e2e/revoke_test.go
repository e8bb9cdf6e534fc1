package e2e

import (
	"bufio"
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/tms"
)

// TestSSHDRefusesRevokedKeys logs in with the built tms command line as the
// development user, finishing the device flow with a form client, and
// checks that sshd's lookup refuses the user's key right after each way a
// user revokes: tms keys delete, tms access revoke CLIENT and tms logout
// --revoke.
func TestSSHDRefusesRevokedKeys(t *testing.T) {
	requireSSHD(t)
	binary := buildTMS(t, installDir(t))
	h := newHelper(t, binary, hostName)
	alice := newAccount(t)

	srv := startTMS(t, "TMS_KEYS_REPEAT_WINDOW="+repeatWindow.String(), "TMS_OAUTH_POLL_INTERVAL=1s")
	dev := srv.DevEnv(t)
	akcLines, _ := h.setupOutput(t, srv.URL, "5s", false)
	h.configure(t, srv.URL, "5s", false)
	sshd := startSSHD(t, akcLines, alice)

	// The administrator maps the development user to alice on the login
	// host; the user's own keys need the mapping.
	admin := []string{"TMS_URL=" + srv.URL, "X_TMS_TENANT=" + tms.TestTenant, "X_TMS_ADMIN_SECRET=" + srv.adminSecret}
	runProgram(t, admin, binary, "userhosts", "create", "--user", dev["TMS_DEV_USER"], "--host", hostName, "--account", alice.name)

	u := &cliUser{t: t, binary: binary, dev: dev, env: []string{"HOME=" + t.TempDir(), "TMS_URL=" + srv.URL,
		"X_TMS_TENANT=" + tms.TestTenant, "PATH=" + os.Getenv("PATH")}}
	u.login(0)

	t.Run("tms keys delete", func(t *testing.T) {
		k := u.createKey(t, alice)
		sshd.wantLogin(t, h, alice, k)
		u.run(t, "keys", "delete", "--host", hostName, k.fingerprint)
		sshd.wantRefused(t, h, alice, k)
	})

	t.Run("tms access revoke CLIENT", func(t *testing.T) {
		// An application obtains a key for the user; the user takes the
		// application's access away. The user's own key keeps working.
		theirs := srv.createKey(t, dev["TMS_DEV_USER"], hostName, alice.name, 0, 0)
		mine := u.createKey(t, alice)
		sshd.wantLogin(t, h, alice, theirs)
		out := u.run(t, "access", "revoke", tms.TestClientID)
		if !strings.Contains(out, "deleted the 1 keys") {
			t.Fatalf("tms access revoke: %s", out)
		}
		sshd.wantRefused(t, h, alice, theirs)
		sshd.wantLogin(t, h, alice, mine)
	})

	t.Run("tms logout --revoke", func(t *testing.T) {
		k := u.createKey(t, alice)
		sshd.wantLogin(t, h, alice, k)
		out := u.run(t, "logout", "--revoke")
		if !strings.Contains(out, "deleted the 2 keys made through it") { // this one and the one of the subtest before
			t.Fatalf("tms logout --revoke: %s", out)
		}
		sshd.wantRefused(t, h, alice, k)
	})

	t.Run("tms logout keeps the keys", func(t *testing.T) {
		u.login(1)
		k := u.createKey(t, alice)
		u.run(t, "logout")
		sshd.wantLogin(t, h, alice, k)
	})
}

// cliUser runs the built tms command line as an end user with a home
// directory of its own.
type cliUser struct {
	t      *testing.T
	binary string
	dev    map[string]string
	env    []string
}

// run runs a tms command that must succeed and returns its output.
func (u *cliUser) run(t *testing.T, args ...string) string {
	t.Helper()
	return runProgram(t, u.env, u.binary, args...)
}

// createKey makes a key with tms keys create for the account on the login
// host.
func (u *cliUser) createKey(t *testing.T, a account) key {
	t.Helper()
	file := filepath.Join(t.TempDir(), "id_tms")
	out := u.run(t, "keys", "create", "--host", hostName, "--account", a.name, "--out", file)
	m := regexp.MustCompile(`(?m)^public_key_fingerprint\s+(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("tms keys create printed no fingerprint:\n%s", out)
	}
	return key{user: u.dev["TMS_DEV_USER"], host: hostName, account: a.name, fingerprint: m[1], file: file}
}

var completeLink = regexp.MustCompile(`Or open (http\S+user_code=\S+)`)

// login runs tms login as the n-th sign-in of the test (n from 0: a
// one-time code is accepted once, and the next time step's code early)
// and completes the browser part with a form client.
func (u *cliUser) login(n int) {
	t := u.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, u.binary, "login", "--no-qr")
	cmd.Env = u.env
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var said strings.Builder
	link := ""
	lines := bufio.NewScanner(stderr)
	for link == "" && lines.Scan() {
		said.WriteString(lines.Text() + "\n")
		if m := completeLink.FindStringSubmatch(lines.Text()); m != nil {
			link = m[1]
		}
	}
	if link == "" {
		cmd.Wait()
		t.Fatalf("tms login printed no link:\n%s", said.String())
	}
	go io.Copy(io.Discard, stderr)
	otp, err := tms.TOTPCode(u.dev["TMS_DEV_TOTP_SECRET"], time.Now().Add(time.Duration(n)*30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	approveInBrowser(t, link, u.dev["TMS_DEV_USER"], u.dev["TMS_DEV_PASSWORD"], otp)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tms login: %v\nstdout: %s\nstderr: %s", err, stdout.String(), said.String())
	}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// approveInBrowser confirms the code of a verification_uri_complete link,
// signs in and approves, as a browser without JavaScript would.
func approveInBrowser(t *testing.T, complete, username, password, otp string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	send := func(method, target, prev string, form url.Values) string {
		t.Helper()
		var body io.Reader
		if form != nil {
			m := csrfInput.FindStringSubmatch(prev)
			if m == nil {
				t.Fatalf("no CSRF token on the page before %s:\n%s", target, prev)
			}
			form.Set("csrf", html.UnescapeString(m[1]))
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, target, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: status %d\n%s", method, target, resp.StatusCode, data)
		}
		return string(data)
	}
	u, err := url.Parse(complete)
	if err != nil {
		t.Fatal(err)
	}
	base := u.Scheme + "://" + u.Host
	code := u.Query().Get("user_code")
	page := send("GET", complete, "", nil)
	page = send("POST", base+"/v1/oauth2/device", page, url.Values{"user_code": {code}})
	page = send("POST", base+"/v1/oauth2/device/signin", page, url.Values{"user_code": {code}, "username": {username},
		"password": {password}, "otp": {otp}})
	page = send("POST", base+"/v1/oauth2/device/consent", page, url.Values{"user_code": {code}, "days": {"1"}, "action": {"approve"}})
	if !strings.Contains(page, "Device approved") {
		t.Fatalf("the approval ended with:\n%s", page)
	}
}
