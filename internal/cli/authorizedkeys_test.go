package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// keyServer is a retrieve endpoint that knows one key for one account and
// host, answering as TMS does.
func keyServer(tb testing.TB) (server *httptest.Server, line, fingerprint string) {
	tb.Helper()
	public, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		tb.Fatal(err)
	}
	key, err := ssh.NewPublicKey(public)
	if err != nil {
		tb.Fatal(err)
	}
	line = strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(key)), "\n")
	fingerprint = ssh.FingerprintSHA256(key)
	server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			User        string `json:"user"`
			Host        string `json:"host"`
			Fingerprint string `json:"public_key_fingerprint"`
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost || r.URL.Path != "/v1/tms/pubkeys/creds/retrieve" ||
			json.NewDecoder(r.Body).Decode(&body) != nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"result_code":"400","result_msg":"bad request"}`)
			return
		}
		if body.User != "alice" || body.Host != "login1" || body.Fingerprint != fingerprint {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"result_code":"404","result_msg":"NOT_FOUND"}`)
			return
		}
		fmt.Fprintf(w, `{"public_key":%q,"result_code":"0","result_msg":"success"}`, line)
	}))
	tb.Cleanup(server.Close)
	return server, line, fingerprint
}

func writeKeycmdConfig(tb testing.TB, serverURL string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "tms_keycmd.toml")
	content := fmt.Sprintf("tms_url = %q\nhost_name = \"login1\"\ntimeout = \"5s\"\n", serverURL+"/v1/tms/pubkeys/creds/retrieve")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestAuthorizedKeys(t *testing.T) {
	server, line, fingerprint := keyServer(t)
	config := writeKeycmdConfig(t, server.URL)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"key found", []string{"--config", config, "alice", "1000", fingerprint, "ssh-ed25519"}, 0, line + "\n", "key accepted"},
		{"flag after the arguments", []string{"alice", "1000", fingerprint, "ssh-ed25519", "--config", config}, 0, line + "\n", "key accepted"},
		{"other account", []string{"--config", config, "bob", "1001", fingerprint, "ssh-ed25519"}, 1, "", "no key"},
		{"unknown fingerprint", []string{"--config", config, "alice", "1000", "SHA256:unknown", "ssh-ed25519"}, 1, "", "no key"},
		{"too few arguments", []string{"--config", config, "alice", "1000", fingerprint}, 1, "", "want 4 arguments"},
		{"bad uid", []string{"--config", config, "alice", "x", fingerprint, "ssh-ed25519"}, 1, "", "argument 2, UID"},
		{"missing config", []string{"--config", filepath.Join(t.TempDir(), "absent.toml"), "alice", "1000", fingerprint, "ssh-ed25519"}, 1, "", "no such file"},
		{"unknown flag", []string{"--configg", config, "alice", "1000", fingerprint, "ssh-ed25519"}, 1, "", "unknown flag: --configg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runTMS(t, append([]string{"authorized-keys"}, tt.args...)...)
			if code != tt.wantCode || stdout != tt.wantStdout {
				t.Errorf("exit %d, stdout %q; want %d, %q (stderr %q)", code, stdout, tt.wantCode, tt.wantStdout, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q; want one line containing %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestAuthorizedKeysHelp(t *testing.T) {
	code, stdout, _ := runTMS(t, "authorized-keys", "--help")
	if code != 0 || !strings.Contains(stdout, "AuthorizedKeysCommand") || !strings.Contains(stdout, "tms_keycmd.toml") {
		t.Fatalf("help: exit %d, stdout %q", code, stdout)
	}
}

// BenchmarkAuthorizedKeysProcess measures what sshd waits for: one run of
// the built tms binary, from process start to exit, for a successful lookup
// against a local server. Run it with
//
//	go test -run '^$' -bench AuthorizedKeysProcess -benchtime 50x ./internal/cli
//
// It reports the median alongside the mean.
func BenchmarkAuthorizedKeysProcess(b *testing.B) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Fatalf("the go command is needed to build tms: %v", err)
	}
	binary := filepath.Join(b.TempDir(), "tms")
	buildCtx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(buildCtx, goTool, "build", "-o", binary, "github.com/tmsproject/tms/cmd/tms").CombinedOutput(); err != nil {
		b.Fatalf("build tms: %v\n%s", err, out)
	}
	server, line, fingerprint := keyServer(b)
	config := writeKeycmdConfig(b, server.URL)

	var durations []time.Duration
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, binary, "authorized-keys", "--config", config, "alice", "1000", fingerprint, "ssh-ed25519")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		err := cmd.Run()
		durations = append(durations, time.Since(start))
		cancel()
		if err != nil || stdout.String() != line+"\n" {
			b.Fatalf("tms authorized-keys: %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
		}
	}
	slices.Sort(durations)
	median := durations[len(durations)/2]
	b.ReportMetric(float64(median.Microseconds())/1000, "median-ms")
	b.Logf("%d runs: min %v, median %v, max %v", len(durations), durations[0], median, durations[len(durations)-1])
}
