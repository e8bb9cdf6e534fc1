package cli

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/loadtest/report"
	"github.com/tmsproject/tms/internal/loadtest/wiretest"
)

// devEnv is what a dev server's dev.env exports, pointed at url.
func devEnv(url string) map[string]string {
	return map[string]string{
		"TMS_URL": url, "X_TMS_TENANT": "test", "X_TMS_CLIENT_ID": "testclient1", "X_TMS_CLIENT_SECRET": "secret1",
		"X_TMS_ADMIN_ID": "~~admin", "X_TMS_ADMIN_SECRET": "adminsecret", "TMS_PUBKEY_HOST": "testhost1",
		"TMS_PUBKEY_USER": "testhostaccount1", "TMS_PUBKEY_USERID": "1", "TMS_PUBKEY_KEYTYPE": "ed25519",
	}
}

// runTMS runs the tms command line with an empty environment and returns
// its exit code and output.
func runTMS(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runTMSEnv(t, nil, args...)
}

// runTMSEnv runs the tms command line with only the environment variables
// vars and returns its exit code and output.
func runTMSEnv(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	r := cliEnv(vars).run(t, args...)
	return r.code, r.stdout, r.stderr
}

func TestLoadtestGetKeyFromDevEnv(t *testing.T) {
	srv := wiretest.Start(t, wiretest.Options{})
	dir := t.TempDir()
	jsonFile, htmlFile := filepath.Join(dir, "run.json"), filepath.Join(dir, "run.html")

	code, stdout, stderr := runTMSEnv(t, devEnv(srv.URL), "loadtest", "--scenarios", "getkey", "--users", "10", "--iterations", "100",
		"--progress", "off", "--report-json", jsonFile, "--report-html", htmlFile)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "TMS_PUBKEY_FINGERPRINT is not set: created an ed25519 key") {
		t.Errorf("stderr does not say a key was created:\n%s", stderr)
	}
	if !strings.Contains(stdout, "result: PASSED") || !strings.Contains(stdout, "run getkey 10 users") {
		t.Errorf("summary:\n%s", stdout)
	}
	for _, secret := range []string{"secret1", "adminsecret"} {
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("output shows the secret %q", secret)
		}
	}
	data, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("JSON report: %v", err)
	}
	if !rep.Passed || len(rep.Steps) != 1 || rep.Steps[0].Requests != 1000 || rep.Config.ClientSecretSet != true {
		t.Errorf("report: passed %v, steps %+v", rep.Passed, rep.Steps)
	}
	if bytes.Contains(data, []byte("secret1")) {
		t.Error("the JSON report holds the secret")
	}
	if html, err := os.ReadFile(htmlFile); err != nil || !bytes.Contains(html, []byte("<svg")) {
		t.Errorf("HTML report: %v, %d bytes", err, len(html))
	}
}

func TestLoadtestFlagsOverrideEnv(t *testing.T) {
	srv := wiretest.Start(t, wiretest.Options{})
	env := devEnv("http://" + closedAddress(t))
	env["X_TMS_TENANT"] = "other"
	env["X_TMS_CLIENT_SECRET"] = "wrong"
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("secret1\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runTMSEnv(t, env, "loadtest", "--scenarios", "getclient", "--url", srv.URL, "--tenant", "test",
		"--client-secret-file", secretFile, "--iterations", "5", "--progress", "off")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	seen := srv.First(wiretest.RouteClient)
	if seen.Header.Get("X-Tms-Tenant") != "test" || seen.Header.Get("X-Tms-Client-Secret") != "secret1" {
		t.Errorf("request headers = %v, want the flag values", seen.Header)
	}
}

func TestLoadtestReadsTheGivenEnvironment(t *testing.T) {
	srv := wiretest.Start(t, wiretest.Options{})
	// The process environment points nowhere useful; the command must read
	// only the environment it is given.
	t.Setenv("TMS_URL", "ftp://process.invalid")
	t.Setenv("X_TMS_CLIENT_SECRET", "wrong")

	code, stdout, stderr := runTMSEnv(t, devEnv(srv.URL), "loadtest", "--scenarios", "getclient", "--iterations", "3", "--progress", "off")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if got := srv.First(wiretest.RouteClient).Header.Get("X-Tms-Client-Secret"); got != "secret1" {
		t.Errorf("X-TMS-CLIENT-SECRET = %q, want the given environment's secret1", got)
	}
}

func TestLoadtestBadInput(t *testing.T) {
	srv := wiretest.Start(t, wiretest.Options{})
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no scenarios", nil, nil, "--scenarios: required"},
		{"unknown scenario", nil, []string{"--scenarios", "getkeys"}, `--scenarios: unknown scenario "getkeys"`},
		{"zero users", nil, []string{"--scenarios", "getkey", "--users", "0"}, "--users: must be at least 1, got 0"},
		{"users not a number", nil, []string{"--scenarios", "getkey", "--users", "ten"}, `invalid argument "ten" for "--users"`},
		{"negative rate", nil, []string{"--scenarios", "getkey", "--rate", "-5"}, "--rate: must be a positive number"},
		{"zero duration", nil, []string{"--scenarios", "getkey", "--rate", "5", "--duration", "0s"}, "--duration: must be positive"},
		{"bad duration", nil, []string{"--scenarios", "getkey", "--timeout", "soon"}, `invalid argument "soon" for "--timeout"`},
		{"unknown phase", nil, []string{"--scenarios", "getkey", "--phase", "burst"}, `--phase: unknown phase "burst"`},
		{"users in ladder", nil, []string{"--scenarios", "getkey", "--phase", "ladder", "--users", "3"}, "--users: not used by --phase ladder"},
		{"bad ladder users", nil, []string{"--scenarios", "getkey", "--phase", "ladder", "--ladder-users", "1,x"}, `--ladder-users: want user counts`},
		{"bad mix", nil, []string{"--scenarios", "mixed", "--mix", "getkey=x"}, "--mix: weight of getkey"},
		{"mix without mixed", nil, []string{"--scenarios", "getkey", "--mix", "getkey=1"}, "--mix: only applies to the mixed scenario"},
		{"bad error rate", nil, []string{"--scenarios", "getkey", "--max-error-rate", "lots"}, "--max-error-rate: want a fraction"},
		{"bad progress", nil, []string{"--scenarios", "getkey", "--progress", "fancy"}, `--progress: want auto, bar, lines or off, got "fancy"`},
		{"report in a missing directory", nil, []string{"--scenarios", "getkey", "--report-json", "/nonexistent/dir/r.json"},
			"--report-json: directory /nonexistent/dir: no such file or directory"},
		{"report is a directory", nil, []string{"--scenarios", "getkey", "--report-html", os.TempDir()}, "--report-html: " + os.TempDir() + " is a directory"},
		{"missing CA file", nil, []string{"--scenarios", "getkey", "--cacert", "/nonexistent/ca.pem"}, "--cacert: open /nonexistent/ca.pem"},
		{"bad URL flag", nil, []string{"--scenarios", "getkey", "--url", "localhost:3000"}, "--url: must start with http:// or https://"},
		{"bad URL variable", map[string]string{"TMS_URL": "ftp://host"}, []string{"--scenarios", "getkey"}, "TMS_URL: must start with http:// or https://"},
		{"bad boolean variable", map[string]string{"TMS_PARSE_RESPONSE": "maybe"}, []string{"--scenarios", "getkey"}, `TMS_PARSE_RESPONSE: want true or false, got "maybe"`},
		{"bad key type", map[string]string{"TMS_PUBKEY_KEYTYPE": "dsa"}, []string{"--scenarios", "getkey"}, `TMS_PUBKEY_KEYTYPE: unknown key type "dsa"`},
		{"bad fingerprint flag", nil, []string{"--scenarios", "getkey", "--fingerprint", "abc"}, "--fingerprint: must be an OpenSSH fingerprint"},
		{"missing secret file", nil, []string{"--scenarios", "getkey", "--client-secret-file", "/nonexistent/secret"}, "--client-secret-file: open /nonexistent/secret"},
		{"missing credentials", map[string]string{"X_TMS_CLIENT_SECRET": ""}, []string{"--scenarios", "getclient"},
			"getclient needs client credentials: set X_TMS_CLIENT_SECRET (--client-secret-file)"},
		{"argument", nil, []string{"--scenarios", "getkey", "now"}, `tms loadtest takes no arguments, got "now"`},
		{"zero login users", nil, []string{"--scenarios", "login", "--login-users", "0"}, "--login-users: must be at least 1, got 0"},
		{"login users without login", nil, []string{"--scenarios", "getkey", "--login-users", "5"},
			"--login-users: only applies to the login scenario"},
		{"login without administrator", map[string]string{"X_TMS_ADMIN_SECRET": ""}, []string{"--scenarios", "login"},
			"login creates the users it signs in with, which needs the tenant administrator's credentials: set X_TMS_ADMIN_SECRET (--admin-secret-file)"},
		{"bad administrator id", map[string]string{"X_TMS_ADMIN_ID": "~~ad min"}, []string{"--scenarios", "login"},
			"X_TMS_ADMIN_ID: contains a character that is not visible ASCII"},
		{"missing administrator secret file", nil, []string{"--scenarios", "login", "--admin-secret-file", "/nonexistent/secret"},
			"--admin-secret-file: open /nonexistent/secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := devEnv(srv.URL)
			for k, v := range tt.env {
				env[k] = v
			}
			before := srv.Count(wiretest.RouteRetrieve) + srv.Count(wiretest.RouteCreateKey) + srv.Count(wiretest.RouteClient)
			code, stdout, stderr := runTMSEnv(t, env, append([]string{"loadtest", "--progress", "off"}, tt.args...)...)
			if code != 2 {
				t.Errorf("exit %d, want 2\nstderr: %s", code, stderr)
			}
			if !strings.HasPrefix(stderr, "tms: ") || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want one line containing %q", stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			after := srv.Count(wiretest.RouteRetrieve) + srv.Count(wiretest.RouteCreateKey) + srv.Count(wiretest.RouteClient)
			if after != before {
				t.Errorf("the server got %d requests, want none", after-before)
			}
		})
	}
}

func TestLoadtestExitStatus(t *testing.T) {
	tests := []struct {
		name     string
		opts     wiretest.Options
		args     []string
		wantCode int
		want     string
	}{
		{"passing run", wiretest.Options{}, nil, 0, ""},
		{"p99 over the limit", wiretest.Options{Latency: 10 * time.Millisecond}, []string{"--max-p99", "1ms"}, 1,
			"tms: load test failed: max-p99 (run getversion 1 user, getversion: p99"},
		{"failed requests", wiretest.Options{OverloadEvery: 5}, nil, 1, "tms: load test failed: failed requests (4 of 20 requests failed)"},
		{"failures within the budget", wiretest.Options{OverloadEvery: 5}, []string{"--max-error-rate", "25%"}, 0, ""},
		{"failures beyond the budget", wiretest.Options{OverloadEvery: 5}, []string{"--max-error-rate", "0.1"}, 1, "max-error-rate"},
		{"stall", wiretest.Options{AnswerLimit: 10}, []string{"--stall-timeout", "200ms"}, 1, "tms: load test failed: completed (stopped by a stall"},
		{"preflight", wiretest.Options{TenantDisabled: true}, []string{"--scenarios", "getclient"}, 1,
			`tms: preflight getclient: tenant "test" is disabled`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := wiretest.Start(t, tt.opts)
			args := append([]string{"loadtest", "--scenarios", "getversion", "--iterations", "20", "--progress", "off"}, tt.args...)
			code, stdout, stderr := runTMSEnv(t, devEnv(srv.URL), args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			if tt.want != "" && !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not contain %q:\n%s", tt.want, stderr)
			}
		})
	}
}

func TestLoadtestLoginOnDevServer(t *testing.T) {
	_, env := startDevServer(t)
	code, stdout, stderr := runTMSEnv(t, env, "loadtest", "--scenarios", "login", "--users", "2", "--iterations", "3",
		"--login-users", "8", "--progress", "off")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"login: created 8 users loadtest-", "set by --login-users", "preflight passed: login 200",
		"login: deleted the 8 users it created"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not contain %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "result: PASSED") || !strings.Contains(stdout, "run login 2 users") {
		t.Errorf("summary:\n%s", stdout)
	}
	if strings.Contains(stdout+stderr, env["X_TMS_ADMIN_SECRET"]) {
		t.Errorf("the output shows the administrator secret")
	}
}

// closedAddress returns a loopback address nothing listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
