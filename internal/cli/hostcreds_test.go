package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHostCredentialCommands(t *testing.T) {
	t.Parallel()
	_, env := startDevServer(t)
	admin := env.with("X_TMS_CLIENT_SECRET=")
	client := env.with("X_TMS_ADMIN_SECRET=")

	if out := admin.ok(t, "hosts", "credentials", "list"); strings.TrimSpace(out) != "No host credentials." {
		t.Errorf("hosts credentials list on a new server:\n%s", out)
	}

	out := admin.ok(t, "hosts", "credentials", "create", "--host", "login1")
	if sec := field(t, out, "host_secret"); !hexSecret.MatchString(sec) {
		t.Errorf("hosts credentials create: host_secret %q is not 48 hex characters:\n%s", sec, out)
	}
	if field(t, out, "host") != "login1" || !strings.Contains(out, "shown only this once") {
		t.Errorf("hosts credentials create:\n%s", out)
	}
	admin.fails(t, 1, "login1 already has a credential", "hosts", "credentials", "create", "--host", "login1")

	// --secret-file writes the secret to a new private file and does not
	// print it.
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "login2.secret")
	out = admin.ok(t, "hosts", "credentials", "create", "--host", "login2", "--secret-file", secretFile)
	data, err := os.ReadFile(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	sec := strings.TrimSpace(string(data))
	if !hexSecret.MatchString(sec) || string(data) != sec+"\n" {
		t.Errorf("secret file holds %q, want 48 hex characters and a newline", data)
	}
	if strings.Contains(out, sec) || field(t, out, "host_secret_file") != secretFile {
		t.Errorf("hosts credentials create --secret-file output shows the secret or not the file:\n%s", out)
	}
	if info, err := os.Stat(secretFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode: %v, %v; want 0600", info.Mode(), err)
	}
	admin.fails(t, 2, "--secret-file: "+secretFile+" already exists", "hosts", "credentials", "create", "--host", "login3", "--secret-file", secretFile)
	admin.fails(t, 2, "--secret-file and --json", "hosts", "credentials", "create", "--host", "login3", "--secret-file", filepath.Join(dir, "x"), "--json")
	admin.fails(t, 2, "--host: required", "hosts", "credentials", "create")
	admin.fails(t, 1, "printable ASCII", "hosts", "credentials", "create", "--host", "lögin")

	list := admin.okJSON(t, "hosts", "credentials", "list")
	if list["num_credentials"] != float64(2) {
		t.Fatalf("hosts credentials list --json: %v", list)
	}
	out = admin.ok(t, "hosts", "credentials", "list")
	if !strings.Contains(out, "login1") || !strings.Contains(out, "login2") || strings.Contains(out, sec) {
		t.Errorf("hosts credentials list:\n%s", out)
	}
	client.fails(t, 2, "needs administrator credentials", "hosts", "credentials", "list")

	if out := admin.ok(t, "hosts", "credentials", "delete", "--host", "login1"); !strings.Contains(out, "1 deleted") {
		t.Errorf("hosts credentials delete:\n%s", out)
	}
	if out := admin.ok(t, "hosts", "credentials", "delete", "--host", "login1"); !strings.Contains(out, "Nothing deleted") {
		t.Errorf("hosts credentials delete again:\n%s", out)
	}
	if out := admin.ok(t, "hosts", "credentials", "list"); strings.Contains(out, "login1") {
		t.Errorf("hosts credentials list after delete:\n%s", out)
	}
}
