package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tmsproject/tms/internal/client"
)

// TestAccessRevokeAndLogoutRevoke walks a user's revocations: tms access
// list shows the applications that may get keys, tms access revoke CLIENT
// makes the keys that client obtained stop working and leaves the others,
// and tms logout --revoke ends the login, the approval of tms-cli and the
// keys made with tms keys create.
func TestAccessRevokeAndLogoutRevoke(t *testing.T) {
	t.Parallel()
	srv, dev := startDevServer(t, fastPolls)
	env := dev.with("HOME="+t.TempDir(), "X_TMS_ADMIN_SECRET=")
	if r := login(t, env); r.code != 0 {
		t.Fatalf("tms login: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	api, err := client.New(client.Options{BaseURL: srv.URL}, client.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	accepted := func(fingerprint string) bool {
		_, err := api.RetrieveKey(t.Context(), client.RetrieveRequest{Account: "testhostaccount1", Host: "testhost1", Fingerprint: fingerprint})
		return err == nil
	}
	dir := t.TempDir()
	mine := field(t, env.ok(t, "keys", "create", "--host", "testhost1", "--account", "testhostaccount1", "--out", filepath.Join(dir, "mine")),
		"public_key_fingerprint")
	// The test client obtains a key for the same user.
	appKey := env.okJSON(t, "pubkeys", "create", "--user", "testuser1", "--host", "testhost1", "--account", "testhostaccount1")
	theirs, _ := appKey["public_key_fingerprint"].(string)
	if !accepted(mine) || !accepted(theirs) {
		t.Fatal("the new keys are not accepted")
	}

	list := env.ok(t, "access", "list")
	for _, want := range []string{"APPLICATION", "tms-cli", "testclient1"} {
		if !strings.Contains(list, want) {
			t.Fatalf("access list lacks %q:\n%s", want, list)
		}
	}
	env.fails(t, 1, "no delegation to client nosuchclient", "access", "revoke", "nosuchclient")
	env.fails(t, 2, "expected CLIENT", "access", "revoke")

	out := env.ok(t, "access", "revoke", "testclient1")
	if !strings.Contains(out, "Revoked the access of testclient1: deleted the 1 keys it obtained for you") {
		t.Fatalf("access revoke: %s", out)
	}
	if accepted(theirs) {
		t.Fatal("the key the revoked application obtained is still accepted")
	}
	if !accepted(mine) {
		t.Fatal("revoking another application's access refused the key made with tms keys create")
	}
	if list := env.ok(t, "access", "list"); strings.Contains(list, "testclient1") {
		t.Fatalf("access list after the revocation:\n%s", list)
	}

	out = env.ok(t, "logout", "--revoke")
	if !strings.Contains(out, "Logged out of "+srv.URL) || !strings.Contains(out, "deleted the 1 keys made through it") {
		t.Fatalf("logout --revoke: %s", out)
	}
	if accepted(mine) {
		t.Fatal("the key made with tms keys create is accepted after tms logout --revoke")
	}
	env.fails(t, 1, "not logged in", "whoami")
	env.fails(t, 1, "not logged in", "access", "list")

	// tms access revoke tms-cli ends the login like tms logout --revoke.
	if r := loginNth(t, env, 1); r.code != 0 {
		t.Fatalf("second tms login: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	again := field(t, env.ok(t, "keys", "create", "--host", "testhost1", "--account", "testhostaccount1", "--out", filepath.Join(dir, "again")),
		"public_key_fingerprint")
	out = env.ok(t, "access", "revoke", "tms-cli")
	if !strings.Contains(out, "This ended your login") {
		t.Fatalf("access revoke tms-cli: %s", out)
	}
	if accepted(again) {
		t.Fatal("the key made with tms keys create is accepted after tms access revoke tms-cli")
	}
	env.fails(t, 1, "not logged in", "whoami")
}
