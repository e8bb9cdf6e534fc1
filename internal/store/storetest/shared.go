package storetest

import (
	"fmt"
	"testing"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/readcache"
)

// NewDatabase makes a new, empty database for one subtest and returns a
// function that opens another store on it, as another server process would.
// Each store it opens should be closed with the test (t.Cleanup).
type NewDatabase func(t *testing.T) (open func(t *testing.T) readcache.Source)

// RunShared runs the cases about the read cache (readcache.Store) above
// stores that share one database: every store sees its own changes at
// once and the changes of the others soon after, through the events its
// backend publishes.
func RunShared(t *testing.T, newDB NewDatabase) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b *readcache.Store)
	}{
		{"CredentialChanges", testSharedCredentialChanges},
		{"HostCredentialCreated", testSharedHostCredentialCreated},
		{"UnknownCredentials", testSharedUnknownCredentials},
		{"KeyDependencyChanges", testSharedKeyDependencyChanges},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			open := newDB(t)
			a, b := readcache.Wrap(open(t), 1000), readcache.Wrap(open(t), 1000)
			defer watchdog(tc.name, caseTimeout)()
			waitEnabled(t, a)
			waitEnabled(t, b)
			tc.fn(t, a, b)
		})
	}
}

// waitEnabled waits until the store's read cache is in use (a PostgreSQL
// store's change feed listens).
func waitEnabled(t *testing.T, s *readcache.Store) {
	t.Helper()
	clocktest.Eventually(t, "read cache enabled", func() bool { return s.Stats().Enabled })
}

// hitOnRepeat reads with read until a repeated read is served by the
// cache. Change events of earlier writes may still arrive (PostgreSQL's
// notifications come asynchronously) and empty the cache between two
// reads, but they stop.
func hitOnRepeat(t *testing.T, s *readcache.Store, read func()) {
	t.Helper()
	clocktest.Eventually(t, "a repeated read served by the cache", func() bool {
		read()
		hits := s.Stats().Hits
		read()
		return s.Stats().Hits == hits+1
	})
}

func testSharedCredentialChanges(t *testing.T, a, b *readcache.Store) {
	c := ctx(t)
	must(t, a.CreateTenant(c, tenantSeed("t1")))
	secret := func(s *readcache.Store) string {
		cred, err := s.AdminCredential(c, "t1", "~~admin")
		must(t, err)
		return cred.SecretHash
	}
	hitOnRepeat(t, a, func() { secret(a) })
	hitOnRepeat(t, b, func() { secret(b) })
	n, err := a.SetAdminSecret(c, "t1", "~~admin", "new", t0)
	wantCount(t, "set admin secret", n, err, 1)
	if got := secret(a); got != "new" {
		t.Fatalf("the store that changed the secret reads %q right after", got)
	}
	clocktest.Eventually(t, "the other store sees the new secret", func() bool { return secret(b) == "new" })
}

func testSharedHostCredentialCreated(t *testing.T, a, b *readcache.Store) {
	c := ctx(t)
	must(t, b.CreateTenant(c, tenantSeed("t1")))
	creds := func() int {
		list, err := a.HostCredentialsFor(c, "login1")
		must(t, err)
		return len(list)
	}
	hitOnRepeat(t, a, func() {
		if n := creds(); n != 0 {
			t.Fatalf("%d credentials before any was created", n)
		}
	})
	must(t, b.CreateHostCredential(c, store.HostCredential{Tenant: "t1", Host: "login1", SecretHash: "h", Created: t0, Updated: t0}))
	clocktest.Eventually(t, "the other store sees the host's new credential", func() bool { return creds() == 1 })
}

func testSharedKeyDependencyChanges(t *testing.T, a, b *readcache.Store) {
	c := ctx(t)
	world(t, a)
	_, err := a.CreatePubkey(c, newKey("SHA256:shared", 5), false, nil)
	must(t, err)
	lookup := func(s *readcache.Store) store.KeyState {
		ks, err := s.LookupKey(c, "host1", "SHA256:shared", "acct1")
		must(t, err)
		return ks
	}
	hitOnRepeat(t, a, func() { lookup(a) })
	hitOnRepeat(t, b, func() { lookup(b) })
	for i, change := range []func(){
		func() { _, err := a.SetUserMFAEnabled(c, "t1", "u1", false, t0); must(t, err) },
		func() {
			_, err := a.SetDelegationExpiry(c, store.DelegationKey{Tenant: "t1", ClientID: "c1", ClientUserID: "u1"}, past, t0)
			must(t, err)
		},
	} {
		change()
		check := func(ks store.KeyState) bool {
			return !ks.Deps.UserMFA.Enabled && (i == 0 || ks.Deps.Delegation.ExpiresAt.Equal(past))
		}
		if !check(lookup(a)) {
			t.Fatalf("change %d: the store that made it does not see it at once", i)
		}
		clocktest.Eventually(t, fmt.Sprintf("change %d seen by the other store", i), func() bool { return check(lookup(b)) })
	}
}

// testSharedUnknownCredentials checks that a store reads an unknown
// client, administrator or tenant from the database once and then from the
// cache, like a known one, and that creating it reaches every store.
func testSharedUnknownCredentials(t *testing.T, a, b *readcache.Store) {
	c := ctx(t)
	must(t, a.CreateTenant(c, tenantSeed("t1")))
	checks := []struct {
		what  string
		read  func(s *readcache.Store) (store.Credential, error)
		found func(store.Credential) bool
	}{
		{"client", func(s *readcache.Store) (store.Credential, error) { return s.ClientCredential(c, "t1", "c9") },
			func(cred store.Credential) bool { return cred.Found }},
		{"administrator", func(s *readcache.Store) (store.Credential, error) { return s.AdminCredential(c, "t2", "~~admin") },
			func(cred store.Credential) bool { return cred.Found }},
		{"tenant", func(s *readcache.Store) (store.Credential, error) { return s.ClientCredential(c, "t2", "c1") },
			func(cred store.Credential) bool { return cred.TenantFound }},
	}
	for _, ch := range checks {
		for _, s := range []*readcache.Store{a, b} {
			hitOnRepeat(t, s, func() {
				cred, err := ch.read(s)
				must(t, err)
				if ch.found(cred) {
					t.Fatalf("unknown %s found: %+v", ch.what, cred)
				}
			})
		}
	}
	must(t, b.CreateClient(c, client("t1", "c9")))
	must(t, b.CreateTenant(c, tenantSeed("t2")))
	for _, ch := range checks {
		for name, s := range map[string]*readcache.Store{"the store that created it": b, "the other store": a} {
			clocktest.Eventually(t, name+" sees the new "+ch.what, func() bool {
				cred, err := ch.read(s)
				must(t, err)
				return ch.found(cred)
			})
		}
	}
}
