package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/client"
	"github.com/tmsproject/tms/internal/keycmd"
	"github.com/tmsproject/tms/internal/server/servertest"
	"github.com/tmsproject/tms/internal/tms"
)

// sshdPath is where Debian's openssh-server installs sshd.
const sshdPath = "/usr/sbin/sshd"

// libexecParent holds the directory the test installs the tms binary in.
// sshd runs an AuthorizedKeysCommand only when it and every directory
// above it are owned by root and writable by no one else, which rules out
// the temporary directory.
const libexecParent = "/usr/local/libexec"

// akcUser is the AuthorizedKeysCommandUser.
const akcUser = "nobody"

// commandTimeout bounds every program the test runs; reaching it means the
// program hung.
const commandTimeout = 90 * time.Second

// requireSSHD skips the test unless it can run sshd and create accounts.
func requireSSHD(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: the sshd tests run as root (sshd needs it, and they create login accounts)")
	}
	missing := []string{}
	if _, err := os.Stat(sshdPath); err != nil {
		missing = append(missing, sshdPath+" (openssh-server)")
	}
	for _, tool := range []string{"ssh", "ssh-keygen", "useradd", "usermod", "userdel", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		t.Skipf("skipping: missing %s; install them with apt-get install openssh-server openssh-client (scripts/test.sh does)",
			strings.Join(missing, ", "))
	}
	if _, err := user.Lookup(akcUser); err != nil {
		t.Skipf("skipping: no %s account to run the AuthorizedKeysCommand as: %v", akcUser, err)
	}
}

// randomSuffix returns n random bytes in hex.
func randomSuffix(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// runProgram runs a program and returns its standard output, failing the
// test when it fails.
func runProgram(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = env
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// installDir creates a root-owned 0755 directory below libexecParent for
// the tms binary and its files, and removes it when the test ends.
func installDir(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(libexecParent); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(libexecParent, 0o755); err != nil {
			t.Fatalf("create %s: %v", libexecParent, err)
		}
		t.Cleanup(func() { os.Remove(libexecParent) }) // only if still empty
	}
	dir, err := os.MkdirTemp(libexecParent, "tms-test-")
	if err != nil {
		t.Fatalf("create install directory: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// buildTMS builds the tms binary into dir and returns its path.
func buildTMS(t *testing.T, dir string) string {
	t.Helper()
	binary := filepath.Join(dir, "tms")
	start := time.Now()
	runProgram(t, nil, "go", "build", "-o", binary, "github.com/tmsproject/tms/cmd/tms")
	t.Logf("built %s in %v", binary, time.Since(start).Round(time.Millisecond))
	if problems := keycmd.CommandPathProblems(binary); len(problems) > 0 {
		t.Fatalf("sshd would refuse %s as AuthorizedKeysCommand: %s", binary, strings.Join(problems, "; "))
	}
	return binary
}

// tmsServer is a TMS development server running in the test process,
// with the test tenant's administrator secret.
type tmsServer struct {
	*servertest.Server
	adminSecret string
}

// startTMS starts "tms server --dev" on a fresh root directory with the
// given TMS_* environment, listening on a free loopback port.
func startTMS(t *testing.T, env ...string) *tmsServer {
	t.Helper()
	srv := servertest.StartDev(t, env...)
	return &tmsServer{Server: srv, adminSecret: srv.DevEnv(t)["X_TMS_ADMIN_SECRET"]}
}

// api returns a client of the server with the test tenant's client
// credentials or, with admin, its administrator credentials.
func (s *tmsServer) api(t *testing.T, admin bool) *client.Client {
	t.Helper()
	creds := client.Credentials{Tenant: tms.TestTenant, ClientID: tms.TestClientID, ClientSecret: tms.TestClientSecret}
	if admin {
		creds = client.Credentials{Tenant: tms.TestTenant, AdminID: tms.AdminID, AdminSecret: s.adminSecret}
	}
	c, err := client.New(client.Options{BaseURL: s.URL, Timeout: 30 * time.Second}, creds)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// call sends one API request that must succeed.
func (s *tmsServer) call(t *testing.T, admin bool, method, path string, body, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.api(t, admin).Do(ctx, method, path, nil, body, out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
}

// key is a key pair issued by TMS, with the private key in a file ssh can
// use.
type key struct {
	user, host, account string
	fingerprint         string
	file                string
}

// createKey asks TMS for a key pair as the test client, with MVP
// provisioning the user's records.
func (s *tmsServer) createKey(t *testing.T, user, host, account string, numUses, ttlMinutes int) key {
	t.Helper()
	var out struct {
		PrivateKey  string `json:"private_key"`
		Fingerprint string `json:"public_key_fingerprint"`
	}
	s.call(t, false, http.MethodPost, "/v1/tms/pubkeys/creds", map[string]any{
		"client_user_id": user, "host": host, "host_account": account, "num_uses": numUses, "ttl_minutes": ttlMinutes,
	}, &out)
	file := filepath.Join(t.TempDir(), "id_tms")
	if err := os.WriteFile(file, []byte(out.PrivateKey), 0o600); err != nil {
		t.Fatal(err)
	}
	return key{user: user, host: host, account: account, fingerprint: out.Fingerprint, file: file}
}

// keyBody identifies k in update and delete requests.
func (k key) body() map[string]any {
	return map[string]any{"client_id": tms.TestClientID, "tenant": tms.TestTenant, "host": k.host, "public_key_fingerprint": k.fingerprint}
}

// remainingUses returns the remaining uses of k as the server lists them.
func (s *tmsServer) remainingUses(t *testing.T, k key) int {
	t.Helper()
	var list struct {
		Pubkeys []struct {
			Fingerprint   string `json:"public_key_fingerprint"`
			Host          string `json:"host"`
			RemainingUses int    `json:"remaining_uses"`
		} `json:"pubkeys"`
	}
	s.call(t, false, http.MethodGet, "/v1/tms/pubkeys/list", nil, &list)
	for _, p := range list.Pubkeys {
		if p.Fingerprint == k.fingerprint && p.Host == k.host {
			return p.RemainingUses
		}
	}
	t.Fatalf("key %s on %s is not listed", k.fingerprint, k.host)
	return 0
}

// account is a local login account.
type account struct {
	name string
	uid  string
}

// newAccount creates a login account that has no usable password but is
// not locked, and deletes it with its home when the test ends.
func newAccount(t *testing.T) account {
	t.Helper()
	name := "tmse2e" + randomSuffix(4)
	runProgram(t, nil, "useradd", "--create-home", "--shell", "/bin/sh", name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "userdel", "--remove", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	runProgram(t, nil, "usermod", "--password", "*", name)
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return account{name: name, uid: u.Uid}
}

// helper is the tms binary installed for sshd, with the files it reads.
type helper struct {
	binary     string
	config     string
	hostSecret string
	log        string
	hostName   string
}

// newHelper installs the files of "tms authorized-keys" next to binary:
// tms_keycmd.toml (root's, readable by everyone) and a log file that
// akcUser can append to.
func newHelper(t *testing.T, binary, hostName string) *helper {
	t.Helper()
	dir := filepath.Dir(binary)
	h := &helper{binary: binary, config: filepath.Join(dir, "tms_keycmd.toml"), hostSecret: filepath.Join(dir, "tms_host_secret"),
		log: filepath.Join(dir, "keycmd.log"), hostName: hostName}
	nobody := lookupIDs(t, akcUser)
	if err := os.WriteFile(h.log, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(h.log, nobody.uid, nobody.gid); err != nil {
		t.Fatal(err)
	}
	return h
}

type ids struct{ uid, gid int }

func lookupIDs(t *testing.T, name string) ids {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("ids of %s: %v", name, err)
	}
	return ids{uid, gid}
}

// setupOutput runs "tms sshd-config" for the helper and returns the
// sshd_config lines and the tms_keycmd.toml it prints.
func (h *helper) setupOutput(t *testing.T, serverURL, timeout string, withHostSecret bool) (sshdConfig, keycmdConfig string) {
	t.Helper()
	args := []string{"sshd-config", "--url", serverURL, "--host-name", h.hostName, "--command", h.binary,
		"--keycmd-config", h.config, "--user", akcUser, "--timeout", timeout}
	if withHostSecret {
		args = append(args, "--host-secret-file", h.hostSecret)
	}
	out := runProgram(t, []string{}, h.binary, args...)
	sshdPart, keycmdPart, ok := strings.Cut(out, "# ---- "+h.config+" ----\n")
	if !ok {
		t.Fatalf("tms sshd-config printed no tms_keycmd.toml part:\n%s", out)
	}
	return sshdPart, keycmdPart
}

// configure writes the tms_keycmd.toml that "tms sshd-config" prints for
// the server, adding the log file. The helper reads it at every lookup.
func (h *helper) configure(t *testing.T, serverURL, timeout string, withHostSecret bool) {
	t.Helper()
	_, content := h.setupOutput(t, serverURL, timeout, withHostSecret)
	content += fmt.Sprintf("log_file = %q\n", h.log)
	tmp := h.config + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, h.config); err != nil {
		t.Fatal(err)
	}
}

// logLines returns the helper's log lines written since mark (a length of
// the log returned by logSize).
func (h *helper) logLines(t *testing.T, mark int64) []string {
	t.Helper()
	data, err := os.ReadFile(h.log)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) < mark {
		return nil
	}
	return slices.DeleteFunc(strings.Split(string(data[mark:]), "\n"), func(s string) bool { return s == "" })
}

// logSize returns the current length of the helper's log.
func (h *helper) logSize(t *testing.T) int64 {
	t.Helper()
	info, err := os.Stat(h.log)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// sshd is an OpenSSH server on a loopback port.
type sshd struct {
	port   int
	output *servertest.Buffer
}

// startSSHD starts sshd in the foreground on a free loopback port with its
// own host key and a configuration made of the test's settings and the
// lines "tms sshd-config" printed, allowing only the given accounts.
func startSSHD(t *testing.T, akcLines string, accounts ...account) *sshd {
	t.Helper()
	dir := t.TempDir()
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	runProgram(t, nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey)
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("create sshd's privilege separation directory: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	names := make([]string, len(accounts))
	for i, a := range accounts {
		names[i] = a.name
	}
	config := fmt.Sprintf(`ListenAddress 127.0.0.1
Port %d
HostKey %s
PidFile %s
AuthorizedKeysFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel VERBOSE
AllowUsers %s
%s`, port, hostKey, filepath.Join(dir, "sshd.pid"), strings.Join(names, " "), akcLines)
	configFile := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	runProgram(t, nil, sshdPath, "-t", "-f", configFile)
	// OpenSSH 9.8 and later block a source address after a few failed
	// logins, and this test fails many on purpose.
	if sshdAccepts(configFile, "PerSourcePenalties=no") {
		config = "PerSourcePenalties no\n" + config
		if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	s := &sshd{port: port, output: &servertest.Buffer{}}
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", configFile)
	cmd.Stdout, cmd.Stderr = s.output, s.output
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("sshd output:\n%s", s.output)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			conn.Close()
			return s
		}
		select {
		case err := <-exited:
			t.Fatalf("sshd exited at start: %v\n%s", err, s.output)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on port %d within 30s\n%s", port, s.output)
		}
	}
}

// sshdAccepts reports whether this sshd accepts the configuration file
// with one more option, which older versions may not know.
func sshdAccepts(configFile, option string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	return exec.CommandContext(ctx, sshdPath, "-t", "-f", configFile, "-o", option).Run() == nil
}

// loginResult is what one ssh login did.
type loginResult struct {
	ok             bool
	stdout, stderr string
	duration       time.Duration
}

// login logs in to a as the OpenSSH client does non-interactively, with
// k's private key only, and runs a command that prints the account name.
func (s *sshd) login(t *testing.T, a account, k key) loginResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", "-F", "/dev/null", "-i", k.file, "-p", strconv.Itoa(s.port),
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
		"-o", "PreferredAuthentications=publickey", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
		a.name+"@127.0.0.1", "echo tms-e2e-ok:$(id -un)")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := loginResult{stdout: stdout.String(), stderr: stderr.String(), duration: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("ssh %s@127.0.0.1 did not end within %v", a.name, commandTimeout)
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		r.ok = r.stdout == "tms-e2e-ok:"+a.name+"\n"
		if !r.ok {
			t.Fatalf("ssh %s@127.0.0.1 succeeded but printed %q", a.name, r.stdout)
		}
	case errors.As(err, &exit) && exit.ExitCode() == 255:
	default:
		t.Fatalf("ssh %s@127.0.0.1: %v\nstderr: %s", a.name, err, r.stderr)
	}
	return r
}

// wantLogin fails the test unless a can log in with k.
func (s *sshd) wantLogin(t *testing.T, h *helper, a account, k key) loginResult {
	t.Helper()
	mark := h.logSize(t)
	r := s.login(t, a, k)
	if !r.ok {
		t.Fatalf("login as %s with the key for %s@%s was refused: %s\nhelper log:\n%s", a.name, k.account, k.host,
			strings.TrimSpace(r.stderr), strings.Join(h.logLines(t, mark), "\n"))
	}
	return r
}

// wantRefused fails the test unless sshd refuses the login of a with k,
// and returns the helper's log lines of the attempt.
func (s *sshd) wantRefused(t *testing.T, h *helper, a account, k key) (loginResult, []string) {
	t.Helper()
	mark := h.logSize(t)
	r := s.login(t, a, k)
	lines := h.logLines(t, mark)
	if r.ok {
		t.Fatalf("login as %s with the key for %s@%s succeeded, want it refused\nhelper log:\n%s", a.name, k.account, k.host,
			strings.Join(lines, "\n"))
	}
	if !strings.Contains(r.stderr, "Permission denied (publickey)") {
		t.Fatalf("ssh failed without sshd refusing the key: %s", r.stderr)
	}
	if len(lines) == 0 {
		t.Fatalf("sshd refused the key without running the helper")
	}
	for _, line := range lines {
		if strings.Contains(line, "key accepted") {
			t.Fatalf("the helper accepted the key, yet the login failed:\n%s", strings.Join(lines, "\n"))
		}
	}
	return r, lines
}

// wantLogMention fails the test unless one of lines contains want.
func wantLogMention(t *testing.T, lines []string, want string) {
	t.Helper()
	for _, line := range lines {
		if strings.Contains(line, want) {
			return
		}
	}
	t.Fatalf("no helper log line mentions %q:\n%s", want, strings.Join(lines, "\n"))
}
