package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tmsproject/tms/internal/keycmd"
)

func TestSSHDConfig(t *testing.T) {
	code, stdout, stderr := runTMSEnv(t, map[string]string{"TMS_URL": "https://tms.example.org:3000"}, "sshd-config",
		"--host-name", "login1", "--command", "/usr/bin/env", "--keycmd-config", "/etc/ssh/tms_keycmd.toml", "--user", "tmskeys",
		"--timeout", "3s")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
	}
	for _, want := range []string{
		"# ---- sshd_config ----\n",
		"\nAuthorizedKeysCommand /usr/bin/env authorized-keys --config /etc/ssh/tms_keycmd.toml %u %U %f %t\n",
		"\nAuthorizedKeysCommandUser tmskeys\n",
		"\n# ---- /etc/ssh/tms_keycmd.toml ----\n",
		"\ntms_url = \"https://tms.example.org:3000/v1/tms/pubkeys/creds/retrieve\"\n",
		"\nhost_name = \"login1\"\n",
		"\ntimeout = \"3s\"\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}

	// The tms_keycmd.toml part is a configuration the helper accepts.
	_, toml, found := strings.Cut(stdout, "# ---- /etc/ssh/tms_keycmd.toml ----\n")
	if !found {
		t.Fatalf("no tms_keycmd.toml part in:\n%s", stdout)
	}
	path := filepath.Join(t.TempDir(), "tms_keycmd.toml")
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keycmd.LoadConfig(path); err != nil {
		t.Fatalf("the printed tms_keycmd.toml does not load: %v", err)
	}
}

func TestSSHDConfigDefaults(t *testing.T) {
	code, stdout, stderr := runTMSEnv(t, nil, "sshd-config", "--url", "http://127.0.0.1:3000")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	self, err := executablePath()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nAuthorizedKeysCommand " + self + " authorized-keys --config /etc/ssh/tms_keycmd.toml %u %U %f %t\n",
		"\nAuthorizedKeysCommandUser nobody\n",
		"\nhost_name = \"" + host + "\"\n",
		"\ntimeout = \"5s\"\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	// The test binary lives in a temporary build directory, which sshd
	// refuses; the command says so.
	if problems := keycmd.CommandPathProblems(self); len(problems) > 0 {
		if !strings.Contains(stderr, "tms: warning: sshd will refuse the command: "+problems[0]+"\n") {
			t.Errorf("stderr %q does not warn about %q", stderr, problems[0])
		}
	}
}

func TestSSHDConfigRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no URL", nil, nil, "--url: required (or set TMS_URL)"},
		{"bad URL", nil, []string{"--url", "ftp://tms.example.org"}, `--url: "ftp://tms.example.org" must start with http:// or https://`},
		{"bad TMS_URL", map[string]string{"TMS_URL": "tms.example.org"}, nil, `--url: "tms.example.org" must start with http://`},
		{"root user", nil, []string{"--url", "http://h", "--user", "root"}, "--user: the helper needs no privileges"},
		{"relative command", nil, []string{"--url", "http://h", "--command", "tms"}, `--command: "tms" is not an absolute path`},
		{"config path with a space", nil, []string{"--url", "http://h", "--keycmd-config", "/etc/ssh/my keycmd.toml"}, "--keycmd-config:"},
		{"relative secret file", nil, []string{"--url", "http://h", "--host-secret-file", "secret"}, "--host-secret-file:"},
		{"zero timeout", nil, []string{"--url", "http://h", "--timeout", "0s"}, "--timeout: 0s is out of range"},
		{"timeout not a duration", nil, []string{"--url", "http://h", "--timeout", "soon"}, `"--timeout"`},
		{"empty host name", nil, []string{"--url", "http://h", "--host-name", " "}, "--host-name:"},
		{"argument", nil, []string{"--url", "http://h", "extra"}, "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runTMSEnv(t, tt.env, append([]string{"sshd-config"}, tt.args...)...)
			if code != 2 || stdout != "" {
				t.Fatalf("exit %d, stdout %q; want 2 and nothing (stderr %q)", code, stdout, stderr)
			}
			if !strings.HasPrefix(stderr, "tms: ") || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("stderr %q; want one line containing %q", stderr, tt.want)
			}
		})
	}
}
