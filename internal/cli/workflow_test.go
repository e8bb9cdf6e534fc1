package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/server/servertest"
)

var hexSecret = regexp.MustCompile(`^[0-9a-f]{48}$`)

// TestClientWorkflow runs the documented client workflow against a dev
// server: register a client with administrator credentials, list it, read
// it with its own credentials, rotate its secret, update it, delete it.
func TestClientWorkflow(t *testing.T) {
	t.Parallel()
	_, admin := startDevServer(t)

	created := admin.okJSON(t, "clients", "create", "--client", "gateway1", "--app-name", "gateway", "--app-version", "1.0")
	secret, _ := created["client_secret"].(string)
	if created["client_id"] != "gateway1" || !hexSecret.MatchString(secret) {
		t.Fatalf("client creation answered %v", created)
	}

	list := admin.ok(t, "clients", "list")
	for _, want := range []string{"CLIENT_ID", "gateway1", "gateway", "testclient1"} {
		if !strings.Contains(list, want) {
			t.Errorf("clients list lacks %q:\n%s", want, list)
		}
	}

	// Its own credentials, from the environment and from a file.
	own := admin.with("X_TMS_CLIENT_ID=gateway1", "X_TMS_CLIENT_SECRET="+secret, "X_TMS_ADMIN_SECRET=")
	out := own.ok(t, "clients", "get")
	if field(t, out, "client_id") != "gateway1" || field(t, out, "app_name") != "gateway" || field(t, out, "enabled") != "true" {
		t.Errorf("clients get with its own credentials:\n%s", out)
	}
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile := admin.with("X_TMS_CLIENT_SECRET=")
	if got := field(t, fromFile.ok(t, "clients", "get", "--as", "client", "--client-id", "gateway1", "--client-secret-file", secretFile), "client_id"); got != "gateway1" {
		t.Errorf("clients get with --client-secret-file: client_id %q", got)
	}
	// A client sees only itself, an administrator the whole tenant.
	if out := own.ok(t, "clients", "list"); strings.Contains(out, "testclient1") {
		t.Errorf("a client's list shows another client:\n%s", out)
	}

	rotated := own.ok(t, "clients", "rotate-secret")
	newSecret := field(t, rotated, "client_secret")
	if !hexSecret.MatchString(newSecret) || newSecret == secret {
		t.Fatalf("rotate-secret printed %q (old %q)", newSecret, secret)
	}
	own.fails(t, 1, "NOT AUTHORIZED", "clients", "get")
	own = own.with("X_TMS_CLIENT_SECRET=" + newSecret)
	own.ok(t, "clients", "get")

	if out := admin.ok(t, "clients", "update", "--client", "gateway1", "--app-version", "2.0", "--enabled=false"); !strings.Contains(out, "update(s) to client gateway1") {
		t.Errorf("clients update printed %q", out)
	}
	got := admin.okJSON(t, "clients", "get", "--client", "gateway1")
	if got["app_version"] != "2.0" || got["enabled"] != false {
		t.Errorf("after the update: %v", got)
	}

	if out := admin.ok(t, "clients", "delete", "--client", "gateway1"); !strings.Contains(out, "1 deleted") {
		t.Errorf("clients delete printed %q", out)
	}
	admin.fails(t, 1, "NOT_FOUND", "clients", "get", "--client", "gateway1")
}

// TestKeyWorkflowWithoutMVP creates a key on a server without MVP mode: the
// missing delegation is named with the command that creates it, and after
// that command the key is created, saved with mode 0600 and found by a
// lookup.
func TestKeyWorkflowWithoutMVP(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	serverEnv := []string{"TMS_HTTP_ADDR=http://127.0.0.1", "TMS_ENABLE_TEST_TENANT=true", "TMS_ENABLE_MVP=false"}
	installRoot(t, root, serverEnv)

	// The administrator secret of the test tenant, from the local command.
	rotated := cliEnv{}.ok(t, "admin", "rotate-secret", "--tenant", "test", "--root-dir", root)
	adminSecret := field(t, rotated, "admin_secret")
	if !hexSecret.MatchString(adminSecret) {
		t.Fatalf("admin rotate-secret printed:\n%s", rotated)
	}

	srv := servertest.Start(t, server.Options{RootDir: root, Env: serverEnv})
	env := cliEnv{"TMS_URL": srv.URL, "X_TMS_TENANT": "test", "X_TMS_ADMIN_SECRET": adminSecret,
		"X_TMS_CLIENT_ID": "testclient1", "X_TMS_CLIENT_SECRET": "secret1"}

	env.ok(t, "usermfa", "create", "--user", "alice")
	env.ok(t, "userhosts", "create", "--user", "alice", "--host", "login1", "--account", "alice")

	dir := t.TempDir()
	keyFile := filepath.Join(dir, "alice.key")
	create := []string{"pubkeys", "create", "--user", "alice", "--host", "login1", "--account", "alice", "--uses", "2", "--out", keyFile}
	env.fails(t, 1, "tms delegations create --client testclient1 --user alice", create...)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a refused key left files behind: %v", entries)
	}

	env.ok(t, "delegations", "create", "--client", "testclient1", "--user", "alice")
	out := env.ok(t, create...)
	fingerprint := field(t, out, "public_key_fingerprint")
	publicKey := field(t, out, "public_key")
	if got := field(t, out, "uses"); got != "2 of 2 left" {
		t.Errorf("uses: %q, want \"2 of 2 left\"", got)
	}
	checkKeyFile(t, keyFile, fingerprint)

	// No tenant registered login1 yet: the server refuses its lookups.
	retrieve := []string{"pubkeys", "retrieve", "--account", "alice", "--host", "login1", "--fingerprint", fingerprint}
	env.fails(t, 1, "NOT_FOUND", retrieve...)
	env.ok(t, "hosts", "credentials", "create", "--host", "login1")
	found := strings.TrimSpace(env.ok(t, retrieve...))
	if found != publicKey {
		t.Errorf("retrieve printed %q, want %q", found, publicKey)
	}

	// The file is never replaced without --force, and then no key is issued.
	before, _ := os.ReadFile(keyFile)
	env.fails(t, 2, "--force", create...)
	if n := env.okJSON(t, "pubkeys", "list")["num_pubkeys"]; n != float64(1) {
		t.Errorf("num_pubkeys %v after a refused overwrite, want 1", n)
	}
	out = env.ok(t, append(create, "--force")...)
	after, _ := os.ReadFile(keyFile)
	if string(after) == string(before) {
		t.Error("--force did not replace the key file")
	}
	checkKeyFile(t, keyFile, field(t, out, "public_key_fingerprint"))

	// --stdout prints the private key alone; the rest goes to stderr.
	r := env.run(t, "pubkeys", "create", "--user", "alice", "--host", "login1", "--account", "alice", "--type", "ecdsa", "--stdout")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "-----BEGIN OPENSSH PRIVATE KEY-----") || !strings.Contains(r.stderr, "public_key_fingerprint") {
		t.Fatalf("--stdout: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	signer, err := ssh.ParsePrivateKey([]byte(r.stdout))
	if err != nil {
		t.Fatalf("--stdout key: %v", err)
	}
	if got := ssh.FingerprintSHA256(signer.PublicKey()); !strings.Contains(r.stderr, got) {
		t.Errorf("--stdout: fingerprint %s not in %q", got, r.stderr)
	}

	// --json prints the server's answer, counts as strings.
	issued := env.okJSON(t, "pubkeys", "create", "--user", "alice", "--host", "login1", "--account", "alice", "--uses", "3")
	if issued["key_bits"] != "256" || issued["max_uses"] != "3" || issued["private_key"] == "" {
		t.Errorf("--json answer: %v", issued)
	}
}

// checkKeyFile checks that path holds a private key with the given
// fingerprint and mode 0600.
func checkKeyFile(t *testing.T, path, fingerprint string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %o, want 0600", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if got := ssh.FingerprintSHA256(signer.PublicKey()); got != fingerprint {
		t.Errorf("%s holds the key %s, want %s", path, got, fingerprint)
	}
}

// TestDefaultKeyFile saves a key under its default name in the current
// directory.
func TestDefaultKeyFile(t *testing.T) {
	_, env := startDevServer(t)
	dir := t.TempDir()
	t.Chdir(dir)
	out := env.ok(t, "pubkeys", "create", "--user", "testuser1", "--host", "testhost1", "--account", "testhostaccount1")
	checkKeyFile(t, filepath.Join(dir, "tms_testhost1_testhostaccount1_ed25519"), field(t, out, "public_key_fingerprint"))
	if !strings.Contains(out, "ssh -i tms_testhost1_testhostaccount1_ed25519 testhostaccount1@testhost1") {
		t.Errorf("no login hint in:\n%s", out)
	}
	env.fails(t, 2, "tms_testhost1_testhostaccount1_ed25519 exists", "pubkeys", "create", "--user", "testuser1", "--host", "testhost1", "--account", "testhostaccount1")
}

// TestRecordCommands drives every record command of the administrator and
// the client against a dev server.
func TestRecordCommands(t *testing.T) {
	t.Parallel()
	_, env := startDevServer(t)
	admin := env.with("X_TMS_CLIENT_SECRET=")
	client := env.with("X_TMS_ADMIN_SECRET=")

	// User MFA.
	if got := field(t, admin.ok(t, "usermfa", "create", "--user", "bob", "--ttl-minutes", "60"), "enabled"); got != "true" {
		t.Errorf("usermfa create: enabled %q", got)
	}
	admin.fails(t, 1, "bob", "usermfa", "create", "--user", "bob")
	admin.ok(t, "usermfa", "update", "--user", "bob", "--enabled=false")
	if got := field(t, admin.ok(t, "usermfa", "get", "--user", "bob"), "enabled"); got != "false" {
		t.Errorf("usermfa get after disabling: enabled %q", got)
	}
	admin.ok(t, "usermfa", "update", "--user", "bob", "--enabled=true")
	if out := admin.ok(t, "usermfa", "list"); !strings.Contains(out, "bob") || !strings.Contains(out, "testuser1") {
		t.Errorf("usermfa list:\n%s", out)
	}

	// Host mappings.
	admin.ok(t, "userhosts", "create", "--user", "bob", "--host", "login2", "--account", "bob")
	out := admin.ok(t, "userhosts", "update", "--user", "bob", "--host", "login2", "--account", "bob", "--ttl-minutes", "90")
	if !strings.Contains(out, "1 update(s)") || field(t, out, "expires_at") == "never" {
		t.Errorf("userhosts update:\n%s", out)
	}
	mappings := admin.okJSON(t, "userhosts", "list")["users"].([]any)
	var mappingID string
	for _, m := range mappings {
		if m := m.(map[string]any); m["tms_user_id"] == "bob" {
			mappingID = jsonNumber(m["id"])
		}
	}
	if got := field(t, admin.ok(t, "userhosts", "get", mappingID), "host_account"); got != "bob" {
		t.Errorf("userhosts get %s: host_account %q", mappingID, got)
	}

	// Delegations.
	admin.ok(t, "delegations", "create", "--client", "testclient1", "--user", "bob", "--ttl-minutes", "30")
	out = admin.ok(t, "delegations", "update", "--client", "testclient1", "--user", "bob", "--ttl-minutes", "-1")
	if field(t, out, "expires_at") != "never" {
		t.Errorf("delegations update --ttl-minutes -1:\n%s", out)
	}
	var delegationID string
	for _, d := range admin.okJSON(t, "delegations", "list")["users"].([]any) {
		if d := d.(map[string]any); d["client_user_id"] == "bob" {
			delegationID = jsonNumber(d["id"])
		}
	}
	if got := field(t, admin.ok(t, "delegations", "get", delegationID), "client_user_id"); got != "bob" {
		t.Errorf("delegations get %s: client_user_id %q", delegationID, got)
	}

	// Hosts.
	admin.ok(t, "hosts", "create", "--host", "login2", "--addr", "192.0.2.7")
	hosts := admin.okJSON(t, "hosts", "list")
	if hosts["num_mappings"] != float64(1) {
		t.Errorf("hosts list: %v", hosts)
	}
	hostID := jsonNumber(hosts["users"].([]any)[0].(map[string]any)["id"])
	if got := field(t, admin.ok(t, "hosts", "get", hostID), "addr"); got != "192.0.2.7" {
		t.Errorf("hosts get: addr %q", got)
	}
	if out := admin.ok(t, "hosts", "delete", "--host", "login2", "--addr", "192.0.2.7"); !strings.Contains(out, "1 deleted") {
		t.Errorf("hosts delete: %q", out)
	}

	// Keys: the client creates, reads, limits and reserves; the
	// administrator sees them.
	keyFile := filepath.Join(t.TempDir(), "bob.key")
	out = client.ok(t, "pubkeys", "create", "--user", "bob", "--host", "login2", "--account", "bob", "--ttl-minutes", "120", "--out", keyFile)
	fp := field(t, out, "public_key_fingerprint")
	keys := admin.okJSON(t, "pubkeys", "list")["pubkeys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("pubkeys list: %v", keys)
	}
	keyID := jsonNumber(keys[0].(map[string]any)["id"])
	if got := field(t, client.ok(t, "pubkeys", "get", keyID), "public_key_fingerprint"); got != fp {
		t.Errorf("pubkeys get: fingerprint %q, want %q", got, fp)
	}
	client.ok(t, "pubkeys", "update", "--host", "login2", "--fingerprint", fp, "--uses", "4")
	if got := field(t, admin.ok(t, "pubkeys", "get", keyID), "uses"); got != "4 of 4 left" {
		t.Errorf("uses after update: %q", got)
	}

	res := client.okJSON(t, "reservations", "create", "--user", "bob", "--host", "login2", "--fingerprint", fp, "--ttl-minutes", "30")
	resID := res["resid"].(string)
	ext := client.ok(t, "reservations", "extend", "--parent", resID, "--user", "bob", "--host", "login2", "--fingerprint", fp)
	if field(t, ext, "parent_resid") != resID {
		t.Errorf("reservations extend:\n%s", ext)
	}
	if got := field(t, admin.ok(t, "reservations", "get", resID, "--client", "testclient1"), "client_user_id"); got != "bob" {
		t.Errorf("reservations get: client_user_id %q", got)
	}
	if out := client.ok(t, "reservations", "delete", resID, "--related"); !strings.Contains(out, "2 deleted") {
		t.Errorf("reservations delete --related: %q", out)
	}
	admin.with("X_TMS_CLIENT_ID=").fails(t, 2, "--client: required", "reservations", "get", resID)

	if out := client.ok(t, "pubkeys", "delete", "--host", "login2", "--fingerprint", fp); !strings.Contains(out, "1 deleted") {
		t.Errorf("pubkeys delete: %q", out)
	}
	client.fails(t, 1, "NOT_FOUND", "pubkeys", "retrieve", "--account", "bob", "--host", "login2", "--fingerprint", fp)

	// Deleting the user's MFA record takes the mapping and delegation along.
	admin.ok(t, "usermfa", "delete", "--user", "bob")
	admin.fails(t, 1, "NOT_FOUND", "userhosts", "get", mappingID)
	admin.fails(t, 1, "NOT_FOUND", "delegations", "get", delegationID)
	if out := admin.ok(t, "delegations", "delete", "--client", "testclient1", "--user", "bob"); !strings.Contains(out, "Nothing deleted") {
		t.Errorf("deleting a missing delegation: %q", out)
	}
	admin.ok(t, "userhosts", "delete", "--user", "testuser1", "--host", "testhost1", "--account", "testhostaccount1")

	// Every list answers JSON.
	for _, group := range []string{"tenants", "clients", "usermfa", "userhosts", "delegations", "hosts", "pubkeys"} {
		admin.okJSON(t, group, "list")
	}
}

// jsonNumber formats a decoded JSON number as an id argument.
func jsonNumber(v any) string {
	f, _ := v.(float64)
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// TestServerErrors checks that error answers print the server's message on
// one line and exit 1.
func TestServerErrors(t *testing.T) {
	t.Parallel()
	_, env := startDevServer(t)
	env.fails(t, 1, "tms: NOT_FOUND", "usermfa", "get", "--user", "nobody")
	env.with("X_TMS_ADMIN_SECRET=0000").fails(t, 1, "NOT AUTHORIZED", "usermfa", "list")
	env.with("X_TMS_TENANT=nosuchtenant").fails(t, 1, "Tenant not enabled", "usermfa", "list")
	env.fails(t, 1, "Only admin users in the 'default' tenant", "tenants", "create", "lab")
	env.fails(t, 1, "FORBIDDEN", "clients", "get", "--as", "client", "--client", "someoneelse")
}

// TestTenantsAndAdminCommands creates, disables, re-enables (locally),
// deletes and wipes tenants.
func TestTenantsAndAdminCommands(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	installRoot(t, root, nil)
	operator := cliEnv{}
	defaultSecret := field(t, operator.ok(t, "admin", "rotate-secret", "--tenant", "default", "--root-dir", root), "admin_secret")
	operator.fails(t, 1, "nosuch", "admin", "rotate-secret", "--tenant", "nosuch", "--root-dir", root)
	operator.fails(t, 1, "does not exist", "admin", "enable-tenant", "--tenant", "nosuch", "--root-dir", root)
	operator.fails(t, 1, "no database", "admin", "enable-tenant", "--tenant", "test", "--root-dir", t.TempDir())
	cliEnv{"TMS_ROOT_DIR": root}.fails(t, 1, "missing.toml", "admin", "rotate-secret", "--tenant", "test", "--config", filepath.Join(root, "missing.toml"))

	srv := servertest.Start(t, server.Options{RootDir: root, Dev: true})
	dflt := cliEnv{"TMS_URL": srv.URL, "X_TMS_TENANT": "default", "X_TMS_ADMIN_SECRET": defaultSecret}
	created := dflt.okJSON(t, "tenants", "create", "lab")
	labSecret, _ := created["admin_secret"].(string)
	if created["tenant"] != "lab" || created["admin_id"] != "~~admin" || !hexSecret.MatchString(labSecret) {
		t.Fatalf("tenants create: %v", created)
	}
	if out := dflt.ok(t, "tenants", "list"); !strings.Contains(out, "lab") || !strings.Contains(out, "default") {
		t.Errorf("tenants list:\n%s", out)
	}
	lab := cliEnv{"TMS_URL": srv.URL, "X_TMS_TENANT": "lab", "X_TMS_ADMIN_SECRET": labSecret}
	if got := field(t, lab.ok(t, "tenants", "get"), "enabled"); got != "true" {
		t.Errorf("new tenant: enabled %q", got)
	}
	lab.ok(t, "tenants", "update", "--enabled=false")
	if got := field(t, lab.ok(t, "tenants", "get", "lab"), "enabled"); got != "false" {
		t.Errorf("after disabling: enabled %q", got)
	}
	lab.fails(t, 1, "Tenant not enabled", "usermfa", "list")

	// Only an operator on the server can enable it again.
	srv.Stop(t)
	if out := operator.ok(t, "admin", "enable-tenant", "--tenant", "lab", "--root-dir", root); !strings.Contains(out, "lab is enabled") {
		t.Errorf("admin enable-tenant printed %q", out)
	}
	srv = servertest.Start(t, server.Options{RootDir: root, Dev: true})
	lab["TMS_URL"], dflt["TMS_URL"] = srv.URL, srv.URL
	if got := field(t, lab.ok(t, "tenants", "get"), "enabled"); got != "true" {
		t.Errorf("after admin enable-tenant: enabled %q", got)
	}

	// Wipe takes everything along; delete only an empty tenant.
	lab.ok(t, "usermfa", "create", "--user", "carol")
	lab.fails(t, 1, "lab", "tenants", "delete", "lab")
	if out := lab.ok(t, "tenants", "wipe", "lab", "--yes"); !strings.Contains(out, "wiped") {
		t.Errorf("tenants wipe printed %q", out)
	}
	lab.fails(t, 1, "NOT_FOUND", "tenants", "get", "lab")

	empty := dflt.okJSON(t, "tenants", "create", "empty")
	emptyAdmin := cliEnv{"TMS_URL": srv.URL, "X_TMS_ADMIN_SECRET": empty["admin_secret"].(string)}
	if out := emptyAdmin.ok(t, "tenants", "delete", "empty"); !strings.Contains(out, "deleted") {
		t.Errorf("tenants delete printed %q", out)
	}
}
