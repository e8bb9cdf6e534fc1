package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tmsproject/tms/internal/directory/slapdtest"
	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/server/servertest"
)

// ldapConfig returns an [[oauth.ldap]] section for the test tenant and the
// slapd, with extra lines.
func ldapConfig(s *slapdtest.Server, caFile, extra string) string {
	return `http_addr = "http://127.0.0.1"
enable_test_tenant = true
[[oauth.ldap]]
id = "campus"
tenant = "test"
url = "` + s.LDAPSURL + `"
ca_file = "` + caFile + `"
bind_dn = "` + slapdtest.BindDN + `"
user_base = "` + slapdtest.PeopleDN + `"
` + extra
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tms.toml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDirectoryConfig: a server with an [[oauth.ldap]] section signs the
// test tenant's users in with the directory, the search password coming
// from a file or the environment and never shown; sections it cannot use
// stop it at start with the key named.
func TestDirectoryConfig(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.User{UID: "alice", Password: "alice's directory password"})
	passwordFile := filepath.Join(t.TempDir(), "bind.password")
	if err := os.WriteFile(passwordFile, []byte(s.BindPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("password file", func(t *testing.T) {
		cfg := writeConfig(t, ldapConfig(s, s.CAFile, `bind_password_file = "`+passwordFile+`"`+"\n"))
		srv := servertest.Start(t, server.Options{ConfigFile: cfg, Env: baseEnv(t, "TMS_LOG_LEVEL=info", metricsTokenEnv(t))})
		signInPage(t, srv.URL, "alice", "alice's directory password", "Set up your authenticator app")
		signInPage(t, srv.URL, "alice", "wrong", "not right")
		if !strings.Contains(srv.Output.String(), `msg="directory sign-in" tenant=test directory=campus url=`+s.LDAPSURL) {
			t.Errorf("no log line about the directory:\n%s", srv.Output)
		}
		if strings.Contains(srv.Output.String(), s.BindPassword) || strings.Contains(srv.Output.String(), "does not exist or is disabled") {
			t.Errorf("the log shows the search password or warns about an enabled tenant:\n%s", srv.Output)
		}
		// Every result the README lists exists for the tenant.
		row := readmeMetrics(t)["tms_directory_sign_ins_total"]
		got := scrapeFamilies(t, srv.URL)["tms_directory_sign_ins_total"]
		if len(row.labels["result"]) < 8 || !slices.Equal(got["tenant"], []string{"test"}) {
			t.Fatalf("README row %+v, exported %v", row, got)
		}
		for _, r := range row.labels["result"] {
			if !slices.Contains(got["result"], r) {
				t.Errorf("the server does not export tms_directory_sign_ins_total{result=%q}", r)
			}
		}
		for _, r := range got["result"] {
			if !slices.Contains(row.labels["result"], r) {
				t.Errorf("the README lists no result %q", r)
			}
		}
	})
	t.Run("unknown tenant", func(t *testing.T) {
		body := strings.Replace(ldapConfig(s, s.CAFile, `bind_password_file = "`+passwordFile+`"`+"\n"), `tenant = "test"`, `tenant = "lab"`, 1)
		srv := servertest.Start(t, server.Options{ConfigFile: writeConfig(t, body), Env: baseEnv(t)})
		if !strings.Contains(srv.Output.String(), `msg="directory sign-in for a tenant that does not exist or is disabled; `) ||
			!strings.Contains(srv.Output.String(), "tenant=lab directory=campus") {
			t.Fatalf("no warning about the tenant:\n%s", srv.Output)
		}
	})
	t.Run("password from the environment", func(t *testing.T) {
		cfg := writeConfig(t, ldapConfig(s, s.CAFile, ""))
		env := baseEnv(t, "TMS_OAUTH_LDAP_CAMPUS_BIND_PASSWORD="+s.BindPassword)
		var out bytes.Buffer
		if err := server.Run(context.Background(), server.Options{RootDir: t.TempDir(), ConfigFile: cfg, Env: env, PrintConfig: true,
			Stdout: &out, Stderr: io.Discard}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), s.BindPassword) ||
			!regexp.MustCompile(`(?m)^oauth\.ldap\[0\]\.bind_dn\s+= "`+regexp.QuoteMeta(slapdtest.BindDN)+`"\s+# file `).MatchString(out.String()) {
			t.Fatalf("print-config:\n%s", out.String())
		}
		srv := servertest.Start(t, server.Options{ConfigFile: cfg, Env: env})
		if strings.Contains(srv.Output.String(), "TMS_OAUTH_LDAP_CAMPUS_BIND_PASSWORD") {
			t.Errorf("the server warns about the search password's variable:\n%s", srv.Output)
		}
		signInPage(t, srv.URL, "alice", "alice's directory password", "Set up your authenticator app")
	})

	emptyFile := filepath.Join(t.TempDir(), "empty")
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	for _, f := range []string{emptyFile, notPEM} {
		if err := os.WriteFile(f, []byte("\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, body, want string }{
		{"no password", ldapConfig(s, s.CAFile, ""),
			"oauth.ldap[0].bind_dn: the search account needs its password in bind_password_file or in the environment variable TMS_OAUTH_LDAP_CAMPUS_BIND_PASSWORD"},
		{"missing password file", ldapConfig(s, s.CAFile, `bind_password_file = "/nonexistent/pw"`+"\n"), "oauth.ldap[0].bind_password_file:"},
		{"empty password file", ldapConfig(s, s.CAFile, `bind_password_file = "`+emptyFile+`"`+"\n"), "oauth.ldap[0].bind_password_file:"},
		{"missing CA file", ldapConfig(s, "/nonexistent/ca.pem", `bind_password_file = "`+passwordFile+`"`+"\n"), "oauth.ldap[0].ca_file:"},
		{"CA file without PEM", ldapConfig(s, notPEM, `bind_password_file = "`+passwordFile+`"`+"\n"), "oauth.ldap[0].ca_file:"},
		{"insecure_no_tls with ldaps", ldapConfig(s, s.CAFile, `bind_password_file = "`+passwordFile+`"`+"\n") +
			"insecure_no_tls = true\n", "oauth.ldap[0].insecure_no_tls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			err := server.Run(context.Background(), server.Options{RootDir: root, ConfigFile: writeConfig(t, tc.body), Env: baseEnv(t),
				Stdout: io.Discard, Stderr: io.Discard})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(root, "database")); err == nil {
				t.Error("a refused start created the database")
			}
		})
	}
}

// signInPage starts a login of the test tenant and submits the sign-in
// form as a browser without JavaScript; the answer must contain want.
func signInPage(t *testing.T, base, username, password, want string) {
	t.Helper()
	resp, err := http.PostForm(base+"/v1/oauth2/device/code", url.Values{"client_id": {"tms-cli"}, "tenant": {"test"}})
	if err != nil {
		t.Fatal(err)
	}
	var grant struct {
		UserCode string `json:"user_code"`
	}
	err = json.NewDecoder(resp.Body).Decode(&grant)
	resp.Body.Close()
	if err != nil || grant.UserCode == "" {
		t.Fatalf("device code: %d %v", resp.StatusCode, err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	page := func(resp *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	body := page(browser.Get(base + "/v1/oauth2/device/signin?user_code=" + url.QueryEscape(grant.UserCode)))
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("sign-in page:\n%s", body)
	}
	body = page(browser.PostForm(base+"/v1/oauth2/device/signin", url.Values{"csrf": {m[1]}, "user_code": {grant.UserCode},
		"username": {username}, "password": {password}}))
	if !strings.Contains(body, want) {
		t.Fatalf("sign-in as %s: page lacks %q:\n%s", username, want, body)
	}
}
