package api_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

// issuedKeyFields are the fields of the 201 answer of key creation; the
// numbers are strings on the wire.
var issuedKeyFields = envelopeFields(map[string]string{"private_key": "s", "public_key": "s", "public_key_fingerprint": "s",
	"key_type": "s", "key_bits": "s", "max_uses": "s", "remaining_uses": "s", "expires_at": "t"})

// pubkeyFields are the fields of a stored key.
var pubkeyFields = map[string]string{"id": "i", "tenant": "s", "client_id": "s", "client_user_id": "s", "host": "s", "host_account": "s",
	"public_key_fingerprint": "s", "public_key": "s", "key_type": "s", "key_bits": "i", "max_uses": "i", "remaining_uses": "i",
	"initial_ttl_minutes": "i", "expires_at": "t", "created": "t", "updated": "t"}

// TestLoadTestShapes sends the goose tms_loadtest requests as they are:
// createkey with the reference body, then getkey with the returned
// fingerprint and the "keytype" field the server ignores.
func TestLoadTestShapes(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		for _, mvp := range []bool{false, true} {
			name := "without MVP"
			if mvp {
				name = "MVP"
			}
			t.Run(name, func(t *testing.T) {
				s := newStack(t, b, stackOptions{MVP: mvp, RepeatWindow: 10 * time.Second})
				h := testClient().with("Accept", "application/json")
				r := s.call(t, "POST", "/v1/tms/pubkeys/creds", h,
					`{"client_user_id":"testuser1","host":"testhost1","host_account":"testhostaccount1","num_uses":-1,"ttl_minutes":-1,"key_type":""}`).want(t, 201)
				wantFields(t, r.JSON, issuedKeyFields)
				for field, want := range map[string]string{"key_type": "ed25519", "key_bits": "256", "max_uses": "2147483647",
					"remaining_uses": "2147483647", "expires_at": neverWire} {
					if got := r.str(t, field); got != want {
						t.Errorf("%s = %q, want %q", field, got, want)
					}
				}
				getkey := `{"user":"testhostaccount1","user_uid":"1","keytype":"ssh-ed25519","host":"testhost1","public_key_fingerprint":"` +
					r.str(t, "public_key_fingerprint") + `"}`
				for range 3 {
					g := s.call(t, "POST", "/v1/tms/pubkeys/creds/retrieve", hdr{}, getkey).want(t, 200)
					wantFields(t, g.JSON, envelopeFields(map[string]string{"public_key": "s"}))
					if g.str(t, "public_key") != r.str(t, "public_key") {
						t.Fatalf("retrieved %q, want the created %q", g.str(t, "public_key"), r.str(t, "public_key"))
					}
				}
			})
		}
	})
}

// TestCreateKeyAnswer checks the 201 answer field by field and that the
// key is a working OpenSSH key whose fingerprint OpenSSH agrees with.
func TestCreateKeyAnswer(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		tests := []struct {
			name              string
			body              map[string]any
			keyType, bits     string
			uses, expires     string
			algorithm         string
			storedTTL, maxUse int64
		}{
			{"limited ed25519", keyBody("testuser1", 3, 10), "ed25519", "256", "3", s.wireAfter(10 * time.Minute), ssh.KeyAlgoED25519, 10, 3},
			{"zero means unlimited", keyBody("testuser1", 0, 0), "ed25519", "256", "2147483647", neverWire, ssh.KeyAlgoED25519, 2147483647, 2147483647},
			{"key_type in capitals", with(keyBody("testuser1", 1, 1), "key_type", "ED25519"), "ed25519", "256", "1", s.wireAfter(time.Minute), ssh.KeyAlgoED25519, 1, 1},
			{"null key_type", with(keyBody("testuser1", 1, 1), "key_type", nil), "ed25519", "256", "1", s.wireAfter(time.Minute), ssh.KeyAlgoED25519, 1, 1},
			{"ecdsa", with(keyBody("testuser1", -5, 525600), "key_type", "ecdsa"), "ecdsa", "521", "2147483647",
				s.wireAfter(365 * 24 * time.Hour), ssh.KeyAlgoECDSA521, 525600, 2147483647},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := s.createKey(t, testClient(), tc.body)
				wantFields(t, r.JSON, issuedKeyFields)
				for field, want := range map[string]string{"key_type": tc.keyType, "key_bits": tc.bits, "max_uses": tc.uses,
					"remaining_uses": tc.uses, "expires_at": tc.expires} {
					if got := r.str(t, field); got != want {
						t.Errorf("%s = %q, want %q", field, got, want)
					}
				}
				pub, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(r.str(t, "public_key")))
				if err != nil || len(rest) != 0 {
					t.Fatalf("public_key %q: %v", r.str(t, "public_key"), err)
				}
				if pub.Type() != tc.algorithm {
					t.Errorf("public key type %s, want %s", pub.Type(), tc.algorithm)
				}
				if fp := ssh.FingerprintSHA256(pub); fp != r.str(t, "public_key_fingerprint") {
					t.Errorf("fingerprint %s, want %s", r.str(t, "public_key_fingerprint"), fp)
				}
				signer, err := ssh.ParsePrivateKey([]byte(r.str(t, "private_key")))
				if err != nil {
					t.Fatalf("private_key: %v", err)
				}
				if string(signer.PublicKey().Marshal()) != string(pub.Marshal()) {
					t.Errorf("private_key does not belong to public_key")
				}
				wantSSHKeygenFingerprint(t, r.str(t, "public_key"), r.str(t, "public_key_fingerprint"))

				g := s.call(t, "GET", pathf("/v1/tms/pubkeys/id/%d", s.keyID(t, r.str(t, "public_key_fingerprint"))), testClient(), nil).want(t, 200)
				wantFields(t, g.JSON, envelopeFields(pubkeyFields))
				if g.int(t, "initial_ttl_minutes") != tc.storedTTL || g.int(t, "max_uses") != tc.maxUse || g.str(t, "expires_at") != tc.expires ||
					g.str(t, "public_key") != r.str(t, "public_key") || g.str(t, "created") != s.wireAfter(0) {
					t.Errorf("stored key %s does not match the issued one %s", g.Raw, r.Raw)
				}
			})
		}
	})
}

// with returns a copy of m with field set to v.
func with(m map[string]any, field string, v any) map[string]any {
	out := map[string]any{}
	for k, x := range m {
		out[k] = x
	}
	out[field] = v
	return out
}

// wantSSHKeygenFingerprint checks the fingerprint with OpenSSH's ssh-keygen,
// when it is installed.
func wantSSHKeygenFingerprint(t *testing.T, publicKey, fingerprint string) {
	t.Helper()
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Log("ssh-keygen not installed; fingerprint checked with x/crypto/ssh only")
		return
	}
	file := filepath.Join(t.TempDir(), "key.pub")
	if err := os.WriteFile(file, []byte(publicKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(keygen, "-l", "-E", "sha256", "-f", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -lf: %v: %s", err, out)
	}
	if fields := strings.Fields(string(out)); len(fields) < 2 || fields[1] != fingerprint {
		t.Errorf("ssh-keygen -lf prints %q, want fingerprint %s", out, fingerprint)
	}
}

// TestCreateKeyDependencies checks every dependency failure of key creation
// without MVP: a 403 that names the missing record and how to create it,
// and nothing stored.
func TestCreateKeyDependencies(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		w := s.seedWorld(t)
		admin := s.admin("test")
		s.call(t, "POST", "/v1/tms/usermfa", admin, map[string]any{"tenant": "test", "tms_user_id": "shortmfa", "ttl_minutes": 1}).want(t, 201)
		s.call(t, "POST", "/v1/tms/usermfa", admin, map[string]any{"tenant": "test", "tms_user_id": "offmfa", "ttl_minutes": -1}).want(t, 201)
		s.call(t, "PATCH", "/v1/tms/usermfa/upd", admin, map[string]any{"tenant": "test", "tms_user_id": "offmfa", "enabled": false}).want(t, 200)
		s.call(t, "POST", "/v1/tms/usermfa", admin, map[string]any{"tenant": "test", "tms_user_id": "carol", "ttl_minutes": -1}).want(t, 201)
		s.call(t, "POST", "/v1/tms/userhosts", admin, map[string]any{"tenant": "test", "tms_user_id": "carol", "host": "testhost1",
			"host_account": "testhostaccount1", "ttl_minutes": 1}).want(t, 201)
		s.call(t, "POST", "/v1/tms/delegations", admin, map[string]any{"tenant": "test", "client_id": "testclient1", "client_user_id": "carol", "ttl_minutes": -1}).want(t, 201)
		s.call(t, "POST", "/v1/tms/usermfa", admin, map[string]any{"tenant": "test", "tms_user_id": "dave", "ttl_minutes": -1}).want(t, 201)
		s.call(t, "POST", "/v1/tms/userhosts", admin, map[string]any{"tenant": "test", "tms_user_id": "dave", "host": "testhost1",
			"host_account": "testhostaccount1", "ttl_minutes": -1}).want(t, 201)
		s.call(t, "POST", "/v1/tms/delegations", admin, map[string]any{"tenant": "test", "client_id": "testclient1", "client_user_id": "dave", "ttl_minutes": 1}).want(t, 201)
		s.Clock.Add(2 * time.Minute)

		tests := []struct {
			name  string
			h     hdr
			body  map[string]any
			parts []string
		}{
			{"no user MFA", testClient(), keyBody("ghost", 1, 1), []string{"Required user MFA record not found", "ghost", "tms usermfa create"}},
			{"user MFA disabled", testClient(), keyBody("offmfa", 1, 1), []string{"offmfa", "is disabled", "tms usermfa update"}},
			{"user MFA expired", testClient(), keyBody("shortmfa", 1, 1), []string{"shortmfa", "expired at", "tms login"}},
			{"no host mapping", testClient(), with(keyBody("testuser1", 1, 1), "host", "otherhost"),
				[]string{"Required user host record not found", "otherhost", "tms userhosts create"}},
			{"host mapping expired", testClient(), keyBody("carol", 1, 1), []string{"user host record", "carol", "expired at", "tms userhosts update"}},
			{"no delegation", w.Client2, keyBody("testuser1", 1, 1),
				[]string{"Required delegation record not found for client client2 and client_user_id testuser1", "POST /v1/tms/delegations", "tms delegations create"}},
			{"delegation expired", testClient(), keyBody("dave", 1, 1), []string{"delegation record", "dave", "expired at", "tms delegations update"}},
			{"no delegation, ecdsa", w.Client2, with(keyBody("testuser1", 1, 1), "key_type", "ecdsa"), []string{"tms delegations create"}},
			{"no delegation, rsa", w.Client2, with(keyBody("testuser1", 1, 1), "key_type", "rsa"), []string{"tms delegations create"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := s.snapshot(t)
				s.call(t, "POST", "/v1/tms/pubkeys/creds", tc.h, tc.body).wantError(t, 403, append([]string{"Missing or expired dependency: "}, tc.parts...)...)
				s.wantUnchanged(t, before)
			})
		}
	})
}

// TestDelegationWorkflow is the Rust users' failure fixed: without MVP, a
// key for a user without a delegation is refused with a message that says
// how to create one; once it exists, creation and retrieval work.
func TestDelegationWorkflow(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{RepeatWindow: 10 * time.Second})
		admin := s.admin("test")
		s.call(t, "POST", "/v1/tms/usermfa", admin, map[string]any{"tenant": "test", "tms_user_id": "alice", "ttl_minutes": -1}).want(t, 201)
		s.call(t, "POST", "/v1/tms/userhosts", admin, map[string]any{"tenant": "test", "tms_user_id": "alice", "host": "testhost1",
			"host_account": "alice", "ttl_minutes": -1}).want(t, 201)
		body := map[string]any{"client_user_id": "alice", "host": "testhost1", "host_account": "alice", "num_uses": -1, "ttl_minutes": -1}
		s.call(t, "POST", "/v1/tms/pubkeys/creds", testClient(), body).wantError(t, 403,
			"Required delegation record not found for client testclient1 and client_user_id alice in tenant test", "tms delegations create")

		s.call(t, "POST", "/v1/tms/delegations", admin, map[string]any{"tenant": "test", "client_id": "testclient1", "client_user_id": "alice", "ttl_minutes": -1}).want(t, 201)
		r := s.createKey(t, testClient(), body)
		g := s.retrieve(t, "alice", "testhost1", r.str(t, "public_key_fingerprint")).want(t, 200)
		if g.str(t, "public_key") != r.str(t, "public_key") {
			t.Fatalf("retrieved %s, want %s", g.str(t, "public_key"), r.str(t, "public_key"))
		}
	})
}

// TestLimitedUses: a key with num_uses 2 is accepted for two logins and
// refused for the third, where a login is sshd's probe plus the signed
// lookup within the repeat window.
func TestLimitedUses(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{RepeatWindow: 10 * time.Second})
		r := s.createKey(t, testClient(), keyBody("testuser1", 2, -1))
		fp := r.str(t, "public_key_fingerprint")
		id := s.keyID(t, fp)
		for login, want := range []struct {
			status    int
			remaining int32
		}{{200, 1}, {200, 0}, {404, 0}} {
			probe, signed := s.login(t, fp)
			if probe != want.status || signed != want.status {
				t.Fatalf("login %d: probe %d, signed lookup %d, want %d", login+1, probe, signed, want.status)
			}
			if got := s.remainingUses(t, id); got != want.remaining {
				t.Fatalf("after login %d: %d uses left, want %d", login+1, got, want.remaining)
			}
			s.Clock.Add(11 * time.Second)
		}
		// A refused key answers exactly like an unknown one.
		unknown := s.retrieve(t, tms.TestHostAccount, tms.TestHost, "SHA256:nosuchkey")
		refused := s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp)
		refused.wantError(t, 404, "NOT_FOUND")
		if string(unknown.Raw) != string(refused.Raw) {
			t.Errorf("refused key answers %s, unknown key %s", refused.Raw, unknown.Raw)
		}
	})
}

// TestShortTTL: a key with ttl_minutes 1 works for a minute, then not.
func TestShortTTL(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		fp := s.createKey(t, testClient(), keyBody("testuser1", -1, 1)).str(t, "public_key_fingerprint")
		s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).want(t, 200)
		s.Clock.Add(time.Minute)
		s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).want(t, 200) // expires_at < now is expired
		s.Clock.Add(time.Second)
		s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).wantError(t, 404, "NOT_FOUND")
	})
}

// TestDeleteMFARevokesKeys: deleting the user's MFA record removes their
// keys with it.
func TestDeleteMFARevokesKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		w := s.seedWorld(t)
		s.retrieve(t, tms.TestHostAccount, tms.TestHost, w.Fingerprint(t)).want(t, 200)
		s.call(t, "DELETE", "/v1/tms/usermfa/del/testuser1", s.admin("test"), nil).want(t, 200)
		s.retrieve(t, tms.TestHostAccount, tms.TestHost, w.Fingerprint(t)).wantError(t, 404)
		snap := s.snapshot(t)
		if n := len(snap.Pubkeys["test"]) + len(snap.UserHosts["test"]) + len(snap.Delegations["test"]) + len(snap.Reservations); n != 0 {
			t.Fatalf("%d keys, mappings, delegations and reservations left after deleting the only user", n)
		}
	})
}

// TestRetrievalRefusals: every condition of design.md §6.3 refuses a key
// that was accepted just before, and permissive mode accepts it anyway.
func TestRetrievalRefusals(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(t *testing.T, s *stack, fp string)
	}{
		{"tenant disabled", func(t *testing.T, s *stack, fp string) {
			s.call(t, "PATCH", "/v1/tms/tenants/upd", s.admin("test"), map[string]any{"tenant": "test", "enabled": false}).want(t, 200)
		}},
		{"client disabled", func(t *testing.T, s *stack, fp string) {
			s.call(t, "PATCH", "/v1/tms/client/upd/testclient1?enabled=false", s.admin("test"), nil).want(t, 200)
		}},
		{"user MFA disabled", func(t *testing.T, s *stack, fp string) {
			s.call(t, "PATCH", "/v1/tms/usermfa/upd", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "testuser1", "enabled": false}).want(t, 200)
		}},
		{"host mapping expired", func(t *testing.T, s *stack, fp string) {
			s.call(t, "PATCH", "/v1/tms/userhosts/upd", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "testuser1",
				"host": "testhost1", "host_account": "testhostaccount1", "ttl_minutes": 0}).want(t, 200)
			s.Clock.Add(time.Second)
		}},
		{"delegation expired", func(t *testing.T, s *stack, fp string) {
			s.call(t, "PATCH", "/v1/tms/delegations/upd", s.admin("test"), map[string]any{"tenant": "test", "client_id": "testclient1",
				"client_user_id": "testuser1", "ttl_minutes": 0}).want(t, 200)
			s.Clock.Add(time.Second)
		}},
		{"key expired by update", func(t *testing.T, s *stack, fp string) {
			s.call(t, "PATCH", "/v1/tms/pubkeys", testClient(), map[string]any{"tenant": "test", "client_id": "testclient1",
				"host": "testhost1", "public_key_fingerprint": fp, "ttl_minutes": 0}).want(t, 200)
			s.Clock.Add(time.Second)
		}},
		{"uses used up by update", func(t *testing.T, s *stack, fp string) {
			s.call(t, "PATCH", "/v1/tms/pubkeys", testClient(), map[string]any{"tenant": "test", "client_id": "testclient1",
				"host": "testhost1", "public_key_fingerprint": fp, "max_uses": 0}).want(t, 200)
		}},
		{"key expired", func(t *testing.T, s *stack, fp string) { s.Clock.Add(31 * time.Minute) }},
	}
	eachBackend(t, func(t *testing.T, b backend) {
		for _, permissive := range []bool{false, true} {
			mode := "enforced"
			if permissive {
				mode = "permissive"
			}
			t.Run(mode, func(t *testing.T) {
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						s := newStack(t, b, stackOptions{Permissive: permissive})
						fp := s.createKey(t, testClient(), keyBody("testuser1", 1000, 30)).str(t, "public_key_fingerprint")
						s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).want(t, 200)
						tc.spoil(t, s, fp)
						r := s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp)
						if permissive {
							r.want(t, 200)
						} else {
							r.wantError(t, 404, "NOT_FOUND")
						}
					})
				}
			})
		}
	})
}

// TestPermissiveUsedUp: in permissive mode a key that has used its uses is
// still accepted, as in 0.3.0, and uses are not counted.
func TestPermissiveUsedUp(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{Permissive: true})
		fp := s.createKey(t, testClient(), keyBody("testuser1", 1, 1)).str(t, "public_key_fingerprint")
		s.Clock.Add(time.Hour)
		for range 3 {
			s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).want(t, 200)
		}
	})
}

func TestRetrieveLookupIsExact(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		fp := s.createKey(t, testClient(), keyBody("testuser1", -1, -1)).str(t, "public_key_fingerprint")
		for _, tc := range []struct{ account, host, fp string }{
			{"TESTHOSTACCOUNT1", tms.TestHost, fp},
			{tms.TestHostAccount, "testhost2", fp},
			{tms.TestHostAccount, tms.TestHost, strings.ToLower(fp)},
			{"testuser1", tms.TestHost, fp},
		} {
			s.retrieve(t, tc.account, tc.host, tc.fp).wantError(t, 404, "NOT_FOUND")
		}
		// Headers are ignored, including credentials of another tenant.
		s.call(t, "POST", "/v1/tms/pubkeys/creds/retrieve", s.admin("default"),
			map[string]any{"user": tms.TestHostAccount, "host": tms.TestHost, "public_key_fingerprint": fp}).want(t, 200)
	})
}

func TestPubkeyRecords(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{})
		w := s.seedWorld(t)
		s.call(t, "POST", "/v1/tms/delegations", s.admin("test"), map[string]any{"tenant": "test", "client_id": "client2", "client_user_id": "testuser1", "ttl_minutes": -1}).want(t, 201)
		other := s.createKey(t, w.Client2, keyBody("testuser1", 5, 5))
		otherID, err := s.Store.FindPubkey(testContext(t), store.PubkeyKey{Tenant: "test", ClientID: "client2", Host: tms.TestHost,
			Fingerprint: other.str(t, "public_key_fingerprint")})
		if err != nil {
			t.Fatal(err)
		}

		// Clients see their own keys; the administrator sees all.
		for _, tc := range []struct {
			h    hdr
			want int
		}{{testClient(), 1}, {w.Client2, 1}, {s.admin("test"), 2}} {
			r := s.call(t, "GET", "/v1/tms/pubkeys/list", tc.h, nil).want(t, 200)
			wantFields(t, r.JSON, envelopeFields(map[string]string{"num_pubkeys": "i", "pubkeys": "a"}))
			list := r.list(t, "pubkeys")
			if len(list) != tc.want || r.int(t, "num_pubkeys") != int64(tc.want) {
				t.Fatalf("list with %v answered %s, want %d keys", tc.h["X-TMS-CLIENT-ID"], r.Raw, tc.want)
			}
			for _, k := range list {
				wantFields(t, k, pubkeyFields)
			}
		}
		s.call(t, "GET", pathf("/v1/tms/pubkeys/id/%d", otherID.ID), testClient(), nil).wantError(t, 404, "NOT_FOUND")
		s.call(t, "GET", pathf("/v1/tms/pubkeys/id/%d", otherID.ID), s.admin("test"), nil).want(t, 200)
		s.call(t, "GET", pathf("/v1/tms/pubkeys/id/%d", otherID.ID+1000), s.admin("test"), nil).wantError(t, 404, "NOT_FOUND")

		// PATCH: max_uses keeps the uses already consumed; ttl_minutes sets
		// the expiry from now.
		fp := other.str(t, "public_key_fingerprint")
		s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).want(t, 200)
		s.Clock.Add(time.Minute)
		upd := map[string]any{"tenant": "test", "client_id": "client2", "host": "testhost1", "public_key_fingerprint": fp, "max_uses": 10, "ttl_minutes": 60}
		r := s.call(t, "PATCH", "/v1/tms/pubkeys", w.Client2, upd).want(t, 200)
		wantFields(t, r.JSON, envelopeFields(map[string]string{"fields_updated": "i"}))
		if r.int(t, "fields_updated") != 2 || r.str(t, "result_msg") != "2 update(s) to client client2 completed" {
			t.Fatalf("update answered %s", r.Raw)
		}
		g := s.call(t, "GET", pathf("/v1/tms/pubkeys/id/%d", otherID.ID), w.Client2, nil).want(t, 200)
		if g.int(t, "max_uses") != 10 || g.int(t, "remaining_uses") != 9 || g.str(t, "expires_at") != s.wireAfter(time.Hour) || g.str(t, "updated") != s.wireAfter(0) {
			t.Fatalf("after the update: %s", g.Raw)
		}
		r = s.call(t, "PATCH", "/v1/tms/pubkeys", s.admin("test"), with(with(upd, "max_uses", 0), "ttl_minutes", nil)).want(t, 200)
		if r.int(t, "fields_updated") != 1 {
			t.Fatalf("admin update answered %s", r.Raw)
		}
		g = s.call(t, "GET", pathf("/v1/tms/pubkeys/id/%d", otherID.ID), w.Client2, nil).want(t, 200)
		if g.int(t, "max_uses") != 0 || g.int(t, "remaining_uses") != 0 {
			t.Fatalf("after setting max_uses 0: %s", g.Raw)
		}
		noFields := map[string]any{"tenant": "test", "client_id": "client2", "host": "testhost1", "public_key_fingerprint": fp}
		r = s.call(t, "PATCH", "/v1/tms/pubkeys", w.Client2, noFields).want(t, 200)
		if r.int(t, "fields_updated") != 0 || r.str(t, "result_msg") != "No updates specified" {
			t.Fatalf("empty update answered %s", r.Raw)
		}
		before := s.snapshot(t)
		s.call(t, "PATCH", "/v1/tms/pubkeys", w.Client2, with(upd, "host", "nohost")).wantError(t, 404, "NOT_FOUND")
		s.wantUnchanged(t, before)

		r = s.call(t, "DELETE", "/v1/tms/pubkeys/del", w.Client2, noFields).want(t, 200)
		if r.int(t, "num_deleted") != 1 {
			t.Fatalf("delete answered %s", r.Raw)
		}
		r = s.call(t, "DELETE", "/v1/tms/pubkeys/del", w.Client2, noFields).want(t, 200)
		if r.int(t, "num_deleted") != 0 {
			t.Fatalf("second delete answered %s", r.Raw)
		}
		// Deleting a key deletes its reservations.
		r = s.call(t, "DELETE", "/v1/tms/pubkeys/del", testClient(), map[string]any{"tenant": "test", "client_id": "testclient1",
			"host": "testhost1", "public_key_fingerprint": w.Fingerprint(t)}).want(t, 200)
		s.call(t, "GET", "/v1/tms/reservations/testclient1/"+w.ResID, testClient(), nil).wantError(t, http.StatusNotFound)
	})
}

func TestCreateKeyBadKeyType(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{MVP: true})
		for _, kt := range []string{"dsa", "ed25519 ", "ssh-ed25519", "rsa4096"} {
			before := s.snapshot(t)
			s.call(t, "POST", "/v1/tms/pubkeys/creds", testClient(), with(keyBody("newuser", 1, 1), "key_type", kt)).
				wantError(t, 400, "key_type", `"ed25519"`, `"ecdsa"`, `"rsa"`)
			s.wantUnchanged(t, before)
		}
	})
}

// TestMVPProvisioning: in MVP mode a key for a new user creates the user's
// MFA record, delegation and host mapping; existing records are left as
// they are, so a disabled MFA record still refuses.
func TestMVPProvisioning(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{MVP: true})
		body := map[string]any{"client_user_id": "newuser", "host": "newhost", "host_account": "newacct", "num_uses": 1, "ttl_minutes": 10}
		fp := s.createKey(t, testClient(), body).str(t, "public_key_fingerprint")
		s.retrieve(t, "newacct", "newhost", fp).want(t, 200)
		snap := s.snapshot(t)
		if len(snap.UserMFA["test"]) != 2 || len(snap.UserHosts["test"]) != 2 || len(snap.Delegations["test"]) != 2 {
			t.Fatalf("MVP provisioning left %d MFA records, %d mappings, %d delegations; want 2 of each",
				len(snap.UserMFA["test"]), len(snap.UserHosts["test"]), len(snap.Delegations["test"]))
		}

		s.call(t, "PATCH", "/v1/tms/usermfa/upd", s.admin("test"), map[string]any{"tenant": "test", "tms_user_id": "newuser", "enabled": false}).want(t, 200)
		before := s.snapshot(t)
		s.call(t, "POST", "/v1/tms/pubkeys/creds", testClient(), body).wantError(t, 403, "newuser", "is disabled")
		s.wantUnchanged(t, before)
	})
}
