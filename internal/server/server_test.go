package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/server/servertest"
	"github.com/tmsproject/tms/internal/store/sqlite"
)

func TestResolveRoot(t *testing.T) {
	home := t.TempDir()
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		flag string
		env  []string
		want string
	}{
		{"flag wins over the environment", "/srv/flag", []string{"TMS_ROOT_DIR=/srv/env"}, "/srv/flag"},
		{"environment without flag", "", []string{"TMS_ROOT_DIR=/srv/env"}, "/srv/env"},
		{"default under home", "", nil, filepath.Join(home, ".tms")},
		{"empty variable falls back to home", "", []string{"TMS_ROOT_DIR="}, filepath.Join(home, ".tms")},
		{"tilde in the flag", "~/tms", []string{"TMS_ROOT_DIR=/srv/env"}, filepath.Join(home, "tms")},
		{"tilde alone", "~", nil, home},
		{"tilde in the variable", "", []string{"TMS_ROOT_DIR=~/from-env"}, filepath.Join(home, "from-env")},
		{"variable in the flag", "$BASE/tms", []string{"BASE=/data"}, "/data/tms"},
		{"braced variable", "${BASE}/tms", []string{"BASE=/data"}, "/data/tms"},
		{"variable in the variable", "", []string{"BASE=/data", "TMS_ROOT_DIR=$BASE/x"}, "/data/x"},
		{"home variable", "$HOME/y", nil, filepath.Join(home, "y")},
		{"relative path made absolute", "rel/tms", nil, filepath.Join(cwd, "rel/tms")},
		{"cleaned", "/srv//tms/../tms/", nil, "/srv/tms"},
		{"last definition wins", "", []string{"TMS_ROOT_DIR=/a", "TMS_ROOT_DIR=/b"}, "/b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := append([]string{"HOME=" + home}, tc.env...)
			got, err := server.ResolveRoot(tc.flag, env)
			if err != nil {
				t.Fatalf("ResolveRoot(%q, %q): %v", tc.flag, env, err)
			}
			if got != tc.want {
				t.Errorf("ResolveRoot(%q, %q) = %q, want %q", tc.flag, env, got, tc.want)
			}
		})
	}
}

func TestResolveRootRefusesUnsetVariables(t *testing.T) {
	for _, flag := range []string{"$NOPE/tms", "${NOPE}", "/srv/$NOPE"} {
		_, err := server.ResolveRoot(flag, []string{"HOME=/home/u"})
		if err == nil || !strings.Contains(err.Error(), "NOPE") || strings.Contains(err.Error(), "\n") {
			t.Errorf("ResolveRoot(%q) = %v, want a one-line error naming NOPE", flag, err)
		}
	}
}

// baseEnv is a clean environment for a server in root: no TMS_* variables
// of the machine, plain HTTP unless the test says otherwise.
func baseEnv(t *testing.T, extra ...string) []string {
	return append([]string{"HOME=" + t.TempDir(), "TMS_HTTP_ADDR=http://127.0.0.1", "TMS_LOG_LEVEL=warn"}, extra...)
}

// get sends a GET with headers and returns the status.
func get(t *testing.T, client *http.Client, url string, headers map[string]string) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func adminHeaders(tenant, secret string) map[string]string {
	return map[string]string{"X-TMS-TENANT": tenant, "X-TMS-ADMIN-ID": "~~admin", "X-TMS-ADMIN-SECRET": secret}
}

func wantMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s has mode %04o, want %04o", path, got, want)
	}
}

func TestFirstStart(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	env := baseEnv(t)
	client := &http.Client{Timeout: 10 * time.Second}

	r := servertest.Start(t, server.Options{RootDir: root, Env: env})
	first := servertest.AdminSecrets(r.Stdout.String())
	if len(first) != 2 || first["default"] == "" || first["test"] == "" {
		t.Fatalf("first start printed secrets %v, want one for default and one for test; stdout:\n%s", first, r.Stdout)
	}
	if status := get(t, client, r.URL+"/v1/tms/usermfa/list", adminHeaders("default", first["default"])); status != 200 {
		t.Fatalf("the printed default secret gets %d", status)
	}
	r.Stop(t)
	for _, dir := range []string{"", "config", "database", "certs"} {
		wantMode(t, filepath.Join(root, dir), 0o700)
	}
	// The server logs to standard error: no logs directory stays empty.
	if _, err := os.Stat(filepath.Join(root, "logs")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the first start created %s (stat: %v)", filepath.Join(root, "logs"), err)
	}
	cfg := filepath.Join(root, "config", "tms.toml")
	wantMode(t, cfg, 0o600)
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"title", "http_addr", "http_port", "enable_mvp", "enable_test_tenant", "new_clients", "server_urls", "[database]", "[limits]", "[keys]"} {
		if !strings.Contains(string(data), key) {
			t.Errorf("config/tms.toml does not mention %s", key)
		}
	}

	r = servertest.Start(t, server.Options{RootDir: root, Env: env})
	if strings.Contains(r.Stdout.String(), "Password:") {
		t.Errorf("second start printed secrets again:\n%s", r.Stdout)
	}
	if status := get(t, client, r.URL+"/v1/tms/usermfa/list", adminHeaders("default", first["default"])); status != 200 {
		t.Errorf("after a restart the default secret gets %d", status)
	}
	r.Stop(t)
	after, err := os.ReadFile(cfg)
	if err != nil || !bytes.Equal(after, data) {
		t.Errorf("second start rewrote config/tms.toml (err %v)", err)
	}
}

// TestPortTaken: a first start on a port that is taken fails before it
// initializes anything, so the one-time secrets are printed by the start
// that serves.
func TestPortTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)
	root := filepath.Join(t.TempDir(), "root")
	env := baseEnv(t, "TMS_LISTEN_HOST=127.0.0.1", "TMS_HTTP_PORT="+port)
	var stdout, stderr servertest.Buffer
	err = server.Run(context.Background(), server.Options{RootDir: root, Env: env, Stdout: &stdout, Stderr: &stderr})
	if err == nil {
		t.Fatal("the server started on a port that is taken")
	}
	for _, want := range []string{"127.0.0.1:" + port, "--http-port", "TMS_HTTP_PORT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(stdout.String(), "Password:") {
		t.Errorf("the failed start printed secrets:\n%s", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(root, "database", "tms.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the failed start created the database (%v)", err)
	}
	taken.Close()
	r := servertest.Start(t, server.Options{RootDir: root, Env: env})
	if secrets := servertest.AdminSecrets(r.Stdout.String()); len(secrets) != 2 {
		t.Errorf("the first start that serves printed secrets %v, want two:\n%s", secrets, r.Stdout)
	}
}

func TestInstall(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	env := baseEnv(t)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := server.Run(ctx, server.Options{RootDir: root, Env: env, Install: true, Stdout: &out, Stderr: io.Discard}); err != nil {
		t.Fatalf("install: %v", err)
	}
	if got := servertest.AdminSecrets(out.String()); len(got) != 2 {
		t.Fatalf("install printed %d secrets, want 2:\n%s", len(got), out.String())
	}
	if !strings.Contains(out.String(), "installed and initialized at "+root) {
		t.Errorf("install output does not say where:\n%s", out.String())
	}
	for _, f := range []string{"config/tms.toml", "database/tms.db"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("install did not create %s: %v", f, err)
		}
	}

	var again bytes.Buffer
	if err := server.Run(ctx, server.Options{RootDir: root, Env: env, Install: true, Stdout: &again, Stderr: io.Discard}); err != nil {
		t.Fatalf("second install: %v", err)
	}
	if strings.Contains(again.String(), "Password:") || !strings.Contains(again.String(), "already initialized") {
		t.Errorf("second install printed:\n%s", again.String())
	}
}

func TestPrintConfig(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	cfgFile := filepath.Join(t.TempDir(), "tms.toml")
	if err := os.WriteFile(cfgFile, []byte("title = \"From the file\"\nhttp_port = 4000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := baseEnv(t, "TMS_DATABASE_URL=postgres://tms:s3cret-pw@db.example.org:5432/tms", "TMS_ENABLE_MVP=true")
	var out bytes.Buffer
	err := server.Run(context.Background(), server.Options{RootDir: root, ConfigFile: cfgFile, HTTPPort: 4444, Env: env,
		PrintConfig: true, Stdout: &out, Stderr: io.Discard})
	if err != nil {
		t.Fatalf("print-config: %v", err)
	}
	text := out.String()
	if strings.Contains(text, "s3cret-pw") {
		t.Fatalf("print-config shows the database password:\n%s", text)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^database\.url\s+= "postgres://tms:x+@db\.example\.org:5432/tms"\s+# env TMS_DATABASE_URL$`),
		regexp.MustCompile(`(?m)^title\s+= "From the file"\s+# file ` + regexp.QuoteMeta(cfgFile) + `$`),
		regexp.MustCompile(`(?m)^http_port\s+= 4444\s+# flag --http-port$`),
		regexp.MustCompile(`(?m)^enable_mvp\s+= true\s+# env TMS_ENABLE_MVP$`),
		regexp.MustCompile(`(?m)^new_clients\s+= "allow"\s+# default$`),
		regexp.MustCompile(`(?m)^# root directory: ` + regexp.QuoteMeta(root) + `$`),
	} {
		if !want.MatchString(text) {
			t.Errorf("print-config output does not match %s:\n%s", want, text)
		}
	}
	if _, err := os.Stat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("print-config created the root directory (stat: %v)", err)
	}
}

func TestUnknownConfigKey(t *testing.T) {
	for _, tc := range []struct{ name, body, key string }{
		{"unknown key", "title = \"x\"\nbogus_option = 1\n", "bogus_option"},
		{"misspelled key", "http_prot = 3000\n", "http_prot"},
		{"unknown key in a section", "[limits]\nmax_in_flite = 5\n", "limits.max_in_flite"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			cfgDir := filepath.Join(root, "config")
			if err := os.MkdirAll(cfgDir, 0o700); err != nil {
				t.Fatal(err)
			}
			cfgFile := filepath.Join(cfgDir, "tms.toml")
			if err := os.WriteFile(cfgFile, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			err := server.Run(context.Background(), server.Options{RootDir: root, Env: baseEnv(t), Stdout: io.Discard, Stderr: io.Discard})
			if err == nil {
				t.Fatal("Run started with an unknown key in the config file")
			}
			if msg := err.Error(); !strings.Contains(msg, tc.key) || !strings.Contains(msg, cfgFile) {
				t.Errorf("error %q does not name the key %s and the file %s", msg, tc.key, cfgFile)
			}
			if _, err := os.Stat(filepath.Join(root, "database")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a refused start created the database directory (stat: %v)", err)
			}
		})
	}
}

// devEnvVars are the variables dev.env must export, and nothing else: the
// test tenant's credentials for the load-test tools and the CLI, and the
// test user that signs in to the browser pages of tms login.
var devEnvVars = []string{"TMS_URL", "X_TMS_TENANT", "X_TMS_ADMIN_ID", "X_TMS_ADMIN_SECRET", "X_TMS_CLIENT_ID", "X_TMS_CLIENT_SECRET",
	"TMS_PUBKEY_HOST", "TMS_PUBKEY_USER", "TMS_PUBKEY_USERID", "TMS_PUBKEY_KEYTYPE",
	"TMS_DEV_USER", "TMS_DEV_PASSWORD", "TMS_DEV_TOTP_SECRET"}

// sourceDevEnv loads dev.env into an empty bash and returns the variables
// it exported.
func sourceDevEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	out, err := exec.Command("env", "-i", bash, "--noprofile", "--norc", "-c", `set -eu; . "$0"; env -0`, path).Output()
	if err != nil {
		t.Fatalf("source %s: %v", path, err)
	}
	vars := map[string]string{}
	for kv := range strings.SplitSeq(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "PWD", "SHLVL", "_", "OLDPWD":
		default:
			vars[k] = v
		}
	}
	return vars
}

func TestDevMode(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	env := baseEnv(t)
	devEnv := filepath.Join(root, "dev.env")
	client := &http.Client{Timeout: 10 * time.Second}

	r := servertest.Start(t, server.Options{RootDir: root, Env: env, Dev: true})
	printed := servertest.AdminSecrets(r.Stdout.String())
	wantMode(t, devEnv, 0o600)
	vars := sourceDevEnv(t, devEnv)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range vars {
			if !yield(k) {
				return
			}
		}
	})
	if want := slices.Sorted(slices.Values(devEnvVars)); !slices.Equal(keys, want) {
		t.Fatalf("dev.env exports %v, want exactly %v", keys, want)
	}
	for k, want := range map[string]string{
		"TMS_URL": r.URL, "X_TMS_TENANT": "test", "X_TMS_ADMIN_ID": "~~admin", "X_TMS_ADMIN_SECRET": printed["test"],
		"X_TMS_CLIENT_ID": "testclient1", "X_TMS_CLIENT_SECRET": "secret1", "TMS_PUBKEY_HOST": "testhost1", "TMS_PUBKEY_USER": "testhostaccount1",
	} {
		if vars[k] != want {
			t.Errorf("dev.env: %s=%q, want %q", k, vars[k], want)
		}
	}
	if vars["X_TMS_ADMIN_SECRET"] == "" || vars["TMS_PUBKEY_USERID"] == "" || vars["TMS_PUBKEY_KEYTYPE"] == "" {
		t.Errorf("dev.env leaves variables empty: %v", vars)
	}
	// The credentials work as written.
	admin := adminHeaders(vars["X_TMS_TENANT"], vars["X_TMS_ADMIN_SECRET"])
	if status := get(t, client, vars["TMS_URL"]+"/v1/tms/client/list", admin); status != 200 {
		t.Errorf("dev.env administrator gets %d", status)
	}
	clientHdr := map[string]string{"X-TMS-TENANT": vars["X_TMS_TENANT"], "X-TMS-CLIENT-ID": vars["X_TMS_CLIENT_ID"], "X-TMS-CLIENT-SECRET": vars["X_TMS_CLIENT_SECRET"]}
	if status := get(t, client, vars["TMS_URL"]+"/v1/tms/client/testclient1", clientHdr); status != 200 {
		t.Errorf("dev.env client gets %d", status)
	}
	firstFile, err := os.ReadFile(devEnv)
	if err != nil {
		t.Fatal(err)
	}
	r.Stop(t)
	// A stopped server's dev.env keeps the credentials but not its URL.
	stopped := sourceDevEnv(t, devEnv)
	if _, ok := stopped["TMS_URL"]; ok || stopped["X_TMS_ADMIN_SECRET"] != vars["X_TMS_ADMIN_SECRET"] ||
		stopped["TMS_DEV_PASSWORD"] != vars["TMS_DEV_PASSWORD"] {
		t.Errorf("dev.env of a stopped server exports %v, want the credentials without TMS_URL", stopped)
	}

	// A second --dev start keeps the data and the secret in dev.env.
	r = servertest.Start(t, server.Options{RootDir: root, Env: env, Dev: true})
	if strings.Contains(r.Stdout.String(), "Password:") {
		t.Errorf("second --dev start printed secrets:\n%s", r.Stdout)
	}
	again := sourceDevEnv(t, devEnv)
	if again["X_TMS_ADMIN_SECRET"] != vars["X_TMS_ADMIN_SECRET"] {
		t.Errorf("second --dev start changed the administrator secret in dev.env")
	}
	secondFile, _ := os.ReadFile(devEnv)
	if again["TMS_URL"] != r.URL || (r.URL == vars["TMS_URL"] && !bytes.Equal(firstFile, secondFile)) {
		t.Errorf("second --dev start on %s wrote dev.env:\n%s\nwas:\n%s", r.URL, secondFile, firstFile)
	}
	admin = adminHeaders("test", again["X_TMS_ADMIN_SECRET"])
	if status := get(t, client, again["TMS_URL"]+"/v1/tms/client/list", admin); status != 200 {
		t.Errorf("after a restart the dev.env administrator gets %d", status)
	}
	r.Stop(t)

	// Without dev.env the secret, known only as a hash, is rotated.
	if err := os.Remove(devEnv); err != nil {
		t.Fatal(err)
	}
	r = servertest.Start(t, server.Options{RootDir: root, Env: env, Dev: true})
	rotated := sourceDevEnv(t, devEnv)
	if rotated["X_TMS_ADMIN_SECRET"] == "" || rotated["X_TMS_ADMIN_SECRET"] == vars["X_TMS_ADMIN_SECRET"] {
		t.Fatalf("dev.env after deletion has administrator secret %q, want a new one", rotated["X_TMS_ADMIN_SECRET"])
	}
	if status := get(t, client, r.URL+"/v1/tms/client/list", adminHeaders("test", vars["X_TMS_ADMIN_SECRET"])); status != 401 {
		t.Errorf("the old administrator secret gets %d, want 401", status)
	}
	if status := get(t, client, r.URL+"/v1/tms/client/list", adminHeaders("test", rotated["X_TMS_ADMIN_SECRET"])); status != 200 {
		t.Errorf("the new administrator secret gets %d, want 200", status)
	}
	// The rest of the data survived.
	if status := get(t, client, r.URL+"/v1/tms/client/testclient1", clientHdr); status != 200 {
		t.Errorf("test client after the rotation gets %d", status)
	}
}

func TestTLS(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	env := baseEnv(t, "TMS_HTTP_ADDR=https://localhost")
	r := servertest.Start(t, server.Options{RootDir: root, Env: env})
	if !strings.HasPrefix(r.URL, "https://") {
		t.Fatalf("server URL %s is not https", r.URL)
	}
	certFile := filepath.Join(root, "certs", "cert.pem")
	if !strings.Contains(r.Stdout.String(), certFile) {
		t.Errorf("the server does not say where the certificate is:\n%s", r.Stdout)
	}
	wantMode(t, filepath.Join(root, "certs", "key.pem"), 0o600)
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatalf("%s holds no PEM block", certFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cert.DNSNames, "localhost") {
		t.Errorf("certificate DNS names %v lack localhost", cert.DNSNames)
	}
	for _, ip := range []string{"127.0.0.1", "::1"} {
		if !slices.ContainsFunc(cert.IPAddresses, func(a net.IP) bool { return a.Equal(net.ParseIP(ip)) }) {
			t.Errorf("certificate IP addresses %v lack %s", cert.IPAddresses, ip)
		}
	}

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	trusting := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := trusting.Get(r.URL + "/v1/tms/version")
	if err != nil {
		t.Fatalf("HTTPS request trusting the generated certificate: %v", err)
	}
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body["result_code"] != "0" {
		t.Fatalf("GET /v1/tms/version over HTTPS: %d %v", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("Strict-Transport-Security over HTTPS is %q, want max-age=31536000", got)
	}
	// localhost verifies too.
	port := r.URL[strings.LastIndex(r.URL, ":")+1:]
	if resp, err := trusting.Get("https://localhost:" + port + "/v1/tms/version"); err != nil {
		t.Errorf("HTTPS to localhost: %v", err)
	} else {
		resp.Body.Close()
	}
	// A client that does not trust it is refused.
	if _, err := (&http.Client{Timeout: 10 * time.Second}).Get(r.URL + "/v1/tms/version"); err == nil {
		t.Error("a client without the certificate connected")
	}
	r.Stop(t)

	// A restart keeps the certificate.
	r = servertest.Start(t, server.Options{RootDir: root, Env: env})
	if again, _ := os.ReadFile(certFile); !bytes.Equal(again, certPEM) {
		t.Error("a restart replaced the certificate")
	}
	if strings.Contains(r.Stdout.String(), "Generated") {
		t.Errorf("a restart says it generated a certificate:\n%s", r.Stdout)
	}
}

// blockingBody is a request body whose first Read tells the test that the
// handler is reading it, and then waits until the test releases it.
type blockingBody struct {
	reading chan struct{}
	release chan struct{}
	once    sync.Once
	body    io.Reader
}

func (b *blockingBody) Read(p []byte) (int, error) {
	b.once.Do(func() {
		close(b.reading)
		<-b.release
	})
	return b.body.Read(p)
}

func TestGracefulShutdown(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	r := servertest.Start(t, server.Options{RootDir: root, Env: baseEnv(t)})
	admin := adminHeaders("default", servertest.AdminSecrets(r.Stdout.String())["default"])

	payload := `{"tenant":"default","tms_user_id":"inflight","ttl_minutes":-1}`
	body := &blockingBody{reading: make(chan struct{}), release: make(chan struct{}), body: strings.NewReader(payload)}
	req, err := http.NewRequest("POST", r.URL+"/v1/tms/usermfa", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(payload))
	req.Header.Set("Content-Type", "application/json")
	// With Expect: 100-continue the client sends the body only once the
	// handler reads it, so the first Read proves the request is in flight.
	req.Header.Set("Expect", "100-continue")
	for k, v := range admin {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{ExpectContinueTimeout: 30 * time.Second}}
	answered := make(chan int, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("in-flight request: %v", err)
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	select {
	case <-body.reading:
	case <-time.After(30 * time.Second):
		t.Fatal("the handler never read the body")
	}

	r.Cancel()
	select {
	case <-r.Done():
		t.Fatal("Run returned with a request in flight")
	case <-time.After(200 * time.Millisecond):
	}
	close(body.release)
	if status := <-answered; status != http.StatusCreated {
		t.Fatalf("in-flight request answered %d, want 201", status)
	}
	r.Stop(t) // fails unless Run returned nil

	// The store is closed: SQLite removes its write-ahead log when the
	// last connection closes, and the acknowledged write is in the file.
	dbFile := filepath.Join(root, "database", "tms.db")
	if info, err := os.Stat(dbFile + "-wal"); err == nil && info.Size() > 0 {
		t.Errorf("%s-wal still holds %d bytes after Run returned: the store was not closed", dbFile, info.Size())
	}
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: dbFile})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.GetUserMFA(context.Background(), "default", "inflight"); err != nil {
		t.Errorf("the write acknowledged during shutdown is not in the database: %v", err)
	}
}

// TestCheckHealth: tms healthcheck finds the server of a root directory on
// its port, over TLS with its generated certificate, and fails once the
// server is gone.
func TestCheckHealth(t *testing.T) {
	for _, addr := range []string{"http://127.0.0.1", "https://localhost"} {
		t.Run(addr, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			root := filepath.Join(t.TempDir(), "root")
			env := baseEnv(t, "TMS_HTTP_ADDR="+addr, "TMS_LISTEN_HOST=0.0.0.0", "TMS_HTTP_PORT="+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
			r := servertest.Start(t, server.Options{RootDir: root, Env: env, Listener: ln})
			opts := server.StoreOptions{RootDir: root, Env: env}
			if err := server.CheckHealth(context.Background(), opts); err != nil {
				t.Fatalf("CheckHealth of a running server: %v", err)
			}
			r.Stop(t)
			if err := server.CheckHealth(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "/healthz") {
				t.Fatalf("CheckHealth of a stopped server: %v", err)
			}
		})
	}
}
