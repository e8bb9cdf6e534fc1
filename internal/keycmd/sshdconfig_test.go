package keycmd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/keycmd"
)

func validSetup() keycmd.SSHDSetup {
	return keycmd.SSHDSetup{
		ServerURL:  "https://tms.example.org:3000",
		HostName:   "login1",
		Command:    "/usr/local/bin/tms",
		ConfigFile: "/etc/ssh/tms_keycmd.toml",
		User:       "nobody",
		Timeout:    5 * time.Second,
	}
}

// nonCommentLines returns the lines of text that are neither blank nor
// comments.
func nonCommentLines(text string) []string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			out = append(out, line)
		}
	}
	return out
}

func TestRenderSSHDSetup(t *testing.T) {
	setup := validSetup()
	files, err := keycmd.RenderSSHDSetup(setup)
	if err != nil {
		t.Fatalf("RenderSSHDSetup: %v", err)
	}
	wantSSHD := []string{
		"AuthorizedKeysCommand /usr/local/bin/tms authorized-keys --config /etc/ssh/tms_keycmd.toml %u %U %f %t",
		"AuthorizedKeysCommandUser nobody",
	}
	if got := nonCommentLines(files.SSHDConfig); strings.Join(got, "\n") != strings.Join(wantSSHD, "\n") {
		t.Errorf("sshd_config lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantSSHD, "\n"))
	}
	for _, rule := range []string{"owned by root", "writable by no one else", "sshd -t"} {
		if !strings.Contains(files.SSHDConfig, rule) {
			t.Errorf("sshd_config comments do not mention %q:\n%s", rule, files.SSHDConfig)
		}
	}
	wantKeycmd := []string{
		`tms_url = "https://tms.example.org:3000/v1/tms/pubkeys/creds/retrieve"`,
		`host_name = "login1"`,
		`timeout = "5s"`,
	}
	if got := nonCommentLines(files.KeycmdConfig); strings.Join(got, "\n") != strings.Join(wantKeycmd, "\n") {
		t.Errorf("tms_keycmd.toml settings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantKeycmd, "\n"))
	}
	if !strings.Contains(files.KeycmdConfig, "# host_secret_file =") {
		t.Errorf("tms_keycmd.toml does not show how to set host_secret_file:\n%s", files.KeycmdConfig)
	}

	// The configuration is one the helper accepts.
	dir := t.TempDir()
	cfg := loadConfig(t, dir, files.KeycmdConfig)
	if cfg.URL.String() != "https://tms.example.org:3000/v1/tms/pubkeys/creds/retrieve" || cfg.HostName != "login1" ||
		cfg.Timeout != 5*time.Second || cfg.HostSecret != "" {
		t.Errorf("the generated tms_keycmd.toml loads as %+v", cfg)
	}
}

func TestRenderSSHDSetupWithHostSecretFile(t *testing.T) {
	dir := t.TempDir()
	secretPath := writeFileMode(t, filepath.Join(dir, "tms_host_secret"), testHostSecret+"\n", 0o440)
	setup := validSetup()
	setup.ServerURL = "http://127.0.0.1:3000/v1/"
	setup.HostName = "login-2.example.org"
	setup.User = "tmskeys"
	setup.HostSecretFile = secretPath
	setup.Timeout = 1500 * time.Millisecond
	files, err := keycmd.RenderSSHDSetup(setup)
	if err != nil {
		t.Fatalf("RenderSSHDSetup: %v", err)
	}
	if !strings.Contains(files.SSHDConfig, "\nAuthorizedKeysCommandUser tmskeys\n") {
		t.Errorf("sshd_config does not name the user:\n%s", files.SSHDConfig)
	}
	for _, want := range []string{
		`host_secret_file = "` + secretPath + `"`,
		"tms hosts credentials create --host login-2.example.org --secret-file " + secretPath,
		`chown root:"$(id -gn tmskeys)" ` + secretPath + " && chmod 0440 " + secretPath,
	} {
		if !strings.Contains(files.KeycmdConfig, want) {
			t.Errorf("tms_keycmd.toml lacks %q:\n%s", want, files.KeycmdConfig)
		}
	}
	cfg := loadConfig(t, dir, files.KeycmdConfig)
	if cfg.URL.String() != "http://127.0.0.1:3000/v1/tms/pubkeys/creds/retrieve" || cfg.HostName != "login-2.example.org" ||
		cfg.Timeout != 1500*time.Millisecond || cfg.HostSecret != testHostSecret {
		t.Errorf("the generated tms_keycmd.toml loads as %+v", cfg)
	}
}

func TestRenderSSHDSetupServerURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://tms.example.org:3000", "https://tms.example.org:3000/v1/tms/pubkeys/creds/retrieve"},
		{"https://tms.example.org:3000/", "https://tms.example.org:3000/v1/tms/pubkeys/creds/retrieve"},
		{"https://tms.example.org:3000/v1", "https://tms.example.org:3000/v1/tms/pubkeys/creds/retrieve"},
		{"https://tms.example.org/tms/v1/", "https://tms.example.org/tms/v1/tms/pubkeys/creds/retrieve"},
		{"https://tms.example.org:3000/v1/tms/pubkeys/creds/retrieve", "https://tms.example.org:3000/v1/tms/pubkeys/creds/retrieve"},
	} {
		setup := validSetup()
		setup.ServerURL = tt.in
		files, err := keycmd.RenderSSHDSetup(setup)
		if err != nil {
			t.Errorf("RenderSSHDSetup(url %q): %v", tt.in, err)
			continue
		}
		if want := `tms_url = "` + tt.want + `"`; !strings.Contains(files.KeycmdConfig, want) {
			t.Errorf("url %q: tms_keycmd.toml lacks %s", tt.in, want)
		}
	}
}

func TestRenderSSHDSetupRejectsBadSettings(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*keycmd.SSHDSetup)
		wantErr string
	}{
		{"no url", func(s *keycmd.SSHDSetup) { s.ServerURL = "" }, "url: is required"},
		{"url without scheme", func(s *keycmd.SSHDSetup) { s.ServerURL = "tms.example.org:3000" }, `url: "tms.example.org:3000" must start with http:// or https://`},
		{"url with query", func(s *keycmd.SSHDSetup) { s.ServerURL = "https://tms.example.org/?a=b" }, "url: \"https://tms.example.org/?a=b\" must not have a query or fragment"},
		{"url without host", func(s *keycmd.SSHDSetup) { s.ServerURL = "https:///v1" }, "has no host"},
		{"no host name", func(s *keycmd.SSHDSetup) { s.HostName = "" }, "host-name: is empty"},
		{"padded host name", func(s *keycmd.SSHDSetup) { s.HostName = "login1 " }, `host-name: "login1 " has leading or trailing spaces`},
		{"non-ASCII host name", func(s *keycmd.SSHDSetup) { s.HostName = "lögin" }, `host-name: "lögin" must be printable ASCII`},
		{"relative command", func(s *keycmd.SSHDSetup) { s.Command = "bin/tms" }, `command: "bin/tms" is not an absolute path`},
		{"command with a space", func(s *keycmd.SSHDSetup) { s.Command = "/opt/my tms/tms" }, "command: \"/opt/my tms/tms\" contains a space"},
		{"command with a percent sign", func(s *keycmd.SSHDSetup) { s.Command = "/opt/100%/tms" }, "which sshd_config would misread"},
		{"no config file", func(s *keycmd.SSHDSetup) { s.ConfigFile = "" }, "keycmd-config: is required"},
		{"relative config file", func(s *keycmd.SSHDSetup) { s.ConfigFile = "tms_keycmd.toml" }, "keycmd-config: \"tms_keycmd.toml\" is not an absolute path"},
		{"root user", func(s *keycmd.SSHDSetup) { s.User = "root" }, "user: the helper needs no privileges"},
		{"user with a space", func(s *keycmd.SSHDSetup) { s.User = "no body" }, `user: "no body" is not an account name`},
		{"empty user", func(s *keycmd.SSHDSetup) { s.User = "" }, `user: "" is not an account name`},
		{"relative host secret file", func(s *keycmd.SSHDSetup) { s.HostSecretFile = "secret" }, `host-secret-file: "secret" is not an absolute path`},
		{"zero timeout", func(s *keycmd.SSHDSetup) { s.Timeout = 0 }, "timeout: 0s is out of range"},
		{"long timeout", func(s *keycmd.SSHDSetup) { s.Timeout = 2 * time.Minute }, "timeout: 2m0s is out of range: must be more than 0 and at most 1m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup := validSetup()
			tt.change(&setup)
			files, err := keycmd.RenderSSHDSetup(setup)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("RenderSSHDSetup = %v; want an error containing %q", err, tt.wantErr)
			}
			if files != (keycmd.SSHDFiles{}) {
				t.Errorf("RenderSSHDSetup returned files along with the error")
			}
		})
	}
}

func TestCommandPathProblems(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the ownership checks need files owned by root: run as root")
	}
	if problems := keycmd.CommandPathProblems("/usr/bin/env"); len(problems) != 0 {
		t.Errorf("CommandPathProblems(/usr/bin/env) = %q; want none on a standard system", problems)
	}

	// Every file below is under the temporary directory, which sshd refuses
	// too: each case looks for its own problem among those reported.
	dir := t.TempDir()
	groupWritable := writeFileMode(t, filepath.Join(dir, "groupwritable"), "#!/bin/sh\n", 0o775)
	notExecutable := writeFileMode(t, filepath.Join(dir, "plain"), "#!/bin/sh\n", 0o644)
	otherOwner := writeFileMode(t, filepath.Join(dir, "nobodys"), "#!/bin/sh\n", 0o755)
	if err := os.Chown(otherOwner, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "target"), link); err != nil {
		t.Fatal(err)
	}

	tests := []struct{ name, path, want string }{
		{"group-writable file", groupWritable, groupWritable + " is writable by group or others (mode 0775)"},
		{"not executable", notExecutable, notExecutable + " is not executable"},
		{"owned by another user", otherOwner, otherOwner + " is owned by uid 65534, not root"},
		{"missing", filepath.Join(dir, "absent"), filepath.Join(dir, "absent") + " does not exist"},
		{"dangling link", link, link + " does not exist"},
		{"relative", "bin/tms", "bin/tms is not an absolute path"},
	}
	if info, err := os.Stat(os.TempDir()); err == nil && info.Mode().Perm()&0o022 != 0 {
		tests = append(tests, struct{ name, path, want string }{"in a shared temporary directory", otherOwner,
			os.TempDir() + " is writable by group or others"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := keycmd.CommandPathProblems(tt.path)
			for _, problem := range got {
				if strings.HasPrefix(problem, tt.want) {
					return
				}
			}
			t.Errorf("CommandPathProblems(%s) = %q; want a problem starting %q", tt.path, got, tt.want)
		})
	}
}
