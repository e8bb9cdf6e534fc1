package keycmd_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/keycmd"
)

const testHostSecret = "0123456789abcdef0123456789abcdef0123456789abcdef"

// writeFileMode writes content to path with exactly mode, whatever the umask.
func writeFileMode(tb testing.TB, path, content string, mode os.FileMode) string {
	tb.Helper()
	writeFile(tb, path, content)
	if err := os.Chmod(path, mode); err != nil {
		tb.Fatal(err)
	}
	return path
}

// headerServer answers every lookup with key and records the host
// credential headers of each request.
type headerServer struct {
	key testKey

	mu      sync.Mutex
	headers []http.Header
}

func (s *headerServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.headers = append(s.headers, r.Header.Clone())
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(okBody(s.key.line)))
}

func (s *headerServer) last(tb testing.TB) http.Header {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.headers) == 0 {
		tb.Fatal("the server saw no request")
	}
	return s.headers[len(s.headers)-1]
}

func TestLookupSendsTheHostCredential(t *testing.T) {
	key := newTestKey(t)
	fake := &headerServer{key: key}
	server := httptest.NewServer(fake)
	defer server.Close()

	cfg := configFor(t, server.URL, 5*time.Second)
	if _, err := keycmd.Lookup(context.Background(), cfg, requestFor(key)); err != nil {
		t.Fatalf("Lookup without a host secret: %v", err)
	}
	h := fake.last(t)
	if len(h.Values(keycmd.HeaderHostID)) > 0 {
		t.Errorf("without a host secret the request carries %s: %q", keycmd.HeaderHostID, h.Get(keycmd.HeaderHostID))
	}
	if len(h.Values(keycmd.HeaderHostSecret)) > 0 {
		t.Errorf("without a host secret the request carries %s", keycmd.HeaderHostSecret)
	}

	cfg.HostSecret = testHostSecret
	if _, err := keycmd.Lookup(context.Background(), cfg, requestFor(key)); err != nil {
		t.Fatalf("Lookup with a host secret: %v", err)
	}
	h = fake.last(t)
	if got := h.Get(keycmd.HeaderHostID); got != cfg.HostName {
		t.Errorf("%s = %q, want the host name %q", keycmd.HeaderHostID, got, cfg.HostName)
	}
	if got := h.Get(keycmd.HeaderHostSecret); got != testHostSecret {
		t.Errorf("%s = %q, want the host secret", keycmd.HeaderHostSecret, got)
	}
}

func TestLoadConfigHostSecretFile(t *testing.T) {
	dir := t.TempDir()
	const base = `tms_url = "http://127.0.0.1:3000/v1/tms/pubkeys/creds/retrieve"` + "\n" + `host_name = "login1"` + "\n"

	valid := []struct {
		name, file, content string
		mode                os.FileMode
	}{
		{"owner only", "owner.secret", testHostSecret + "\n", 0o600},
		{"owner and group", "group.secret", testHostSecret, 0o440},
		{"surrounding blank lines", "blank.secret", "\n  " + testHostSecret + "  \n\n", 0o400},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			writeFileMode(t, filepath.Join(dir, tt.file), tt.content, tt.mode)
			// A relative path is relative to the configuration file.
			cfg := loadConfig(t, dir, base+`host_secret_file = "`+tt.file+`"`+"\n")
			if cfg.HostSecret != testHostSecret {
				t.Fatalf("HostSecret = %q, want %q", cfg.HostSecret, testHostSecret)
			}
		})
	}
	t.Run("absolute path", func(t *testing.T) {
		path := writeFileMode(t, filepath.Join(t.TempDir(), "abs.secret"), testHostSecret, 0o400)
		if cfg := loadConfig(t, dir, base+`host_secret_file = "`+path+`"`+"\n"); cfg.HostSecret != testHostSecret {
			t.Fatalf("HostSecret = %q, want %q", cfg.HostSecret, testHostSecret)
		}
	})
	t.Run("not set", func(t *testing.T) {
		if cfg := loadConfig(t, dir, base); cfg.HostSecret != "" {
			t.Fatalf("HostSecret = %q without host_secret_file, want none", cfg.HostSecret)
		}
	})

	writeFileMode(t, filepath.Join(dir, "world.secret"), testHostSecret, 0o644)
	writeFileMode(t, filepath.Join(dir, "worldwrite.secret"), testHostSecret, 0o602)
	writeFileMode(t, filepath.Join(dir, "empty.secret"), "\n", 0o600)
	writeFileMode(t, filepath.Join(dir, "twolines.secret"), testHostSecret+"\n"+testHostSecret+"\n", 0o600)
	writeFileMode(t, filepath.Join(dir, "spaced.secret"), "0123 4567", 0o600)
	writeFileMode(t, filepath.Join(dir, "unicode.secret"), "sécret", 0o600)
	writeFileMode(t, filepath.Join(dir, "large.secret"), strings.Repeat("a", 1025), 0o600)
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, content, wantErr string
	}{
		{"world-readable", base + `host_secret_file = "world.secret"`, "host_secret_file: " + filepath.Join(dir, "world.secret") +
			" is readable or writable by every user (mode 0644); let only the AuthorizedKeysCommandUser read it"},
		{"world-writable", base + `host_secret_file = "worldwrite.secret"`, "readable or writable by every user (mode 0602)"},
		{"missing", base + `host_secret_file = "absent.secret"`, "host_secret_file: open " + filepath.Join(dir, "absent.secret") + ": no such file"},
		{"directory", base + `host_secret_file = "adir"`, "host_secret_file: " + filepath.Join(dir, "adir") + " is not a regular file"},
		{"empty file", base + `host_secret_file = "empty.secret"`, "empty.secret is empty; write the host_secret"},
		{"two lines", base + `host_secret_file = "twolines.secret"`, "must hold the host secret alone, on one line"},
		{"inner space", base + `host_secret_file = "spaced.secret"`, "must hold the host secret alone, on one line"},
		{"not ASCII", base + `host_secret_file = "unicode.secret"`, "unicode.secret must be printable ASCII"},
		{"too large", base + `host_secret_file = "large.secret"`, "larger than 1024 bytes"},
		{"empty key", base + `host_secret_file = ""`, "host_secret_file: is empty; remove the key to send no host credential"},
		{"not a string", base + `host_secret_file = 1`, "host_secret_file (line 3): must be a string"},
		{"host name not ASCII", `tms_url = "http://127.0.0.1:3000/v1/tms/pubkeys/creds/retrieve"` + "\n" + `host_name = "lögin"` + "\n" +
			`host_secret_file = "owner.secret"`, `host_name: "lögin" must be printable ASCII, as it is sent in the X-TMS-HOST-ID header`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".toml"), tt.content+"\n")
			_, err := keycmd.LoadConfig(path)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("LoadConfig error = %v; want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans several lines", err)
			}
			if strings.Contains(err.Error(), testHostSecret) {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

// TestMainWithHostSecretFile runs the helper as sshd does against a server
// that accepts only the right host credential.
func TestMainWithHostSecretFile(t *testing.T) {
	key := newTestKey(t)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get(keycmd.HeaderHostID) != "login1" || r.Header.Get(keycmd.HeaderHostSecret) != testHostSecret {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"result_code":"401","result_msg":"no valid host credential"}`))
			return
		}
		w.Write([]byte(okBody(key.line)))
	}))
	defer server.Close()
	dir := t.TempDir()
	writeFileMode(t, filepath.Join(dir, "host.secret"), testHostSecret+"\n", 0o400)
	config := "tms_url = \"" + server.URL + retrievePath + "\"\nhost_name = \"login1\"\n"
	args := []string{"alice", "1000", key.fingerprint, "ssh-ed25519"}

	for _, tt := range []struct {
		name, config string
		wantCode     int
		wantStdout   string
		wantLog      string
	}{
		{"with host_secret_file", config + "host_secret_file = \"host.secret\"\n", 0, key.line + "\n", "key accepted"},
		{"without host_secret_file", config, 1, "", `status 401 Unauthorized: server says \"no valid host credential\"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(dir, "tms_keycmd.toml"), tt.config)
			var stdout, stderr bytes.Buffer
			code := keycmd.Main(context.Background(), args, path, &stdout, &stderr)
			if code != tt.wantCode || stdout.String() != tt.wantStdout {
				t.Fatalf("Main = %d, stdout %q; want %d, %q (log %q)", code, stdout.String(), tt.wantCode, tt.wantStdout, stderr.String())
			}
			assertOneLogLine(t, stderr.String(), tt.wantLog)
			if strings.Contains(stderr.String(), testHostSecret) {
				t.Errorf("the log line shows the host secret: %q", stderr.String())
			}
		})
	}
}

func TestLoadConfigHostSecretFileErrorsWrapNotExist(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "tms_keycmd.toml"),
		"tms_url = \"http://127.0.0.1:1/v1\"\nhost_name = \"login1\"\nhost_secret_file = \"absent\"\n")
	if _, err := keycmd.LoadConfig(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadConfig with a missing host_secret_file = %v; want an error wrapping os.ErrNotExist", err)
	}
}
