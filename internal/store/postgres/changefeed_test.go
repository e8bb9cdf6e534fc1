package postgres

import (
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/postgres/pgtest"
)

// waitListening waits until the store's change feed listens, which turns
// its read cache on.
func waitListening(t *testing.T, db *DB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !db.CacheStats().Listening {
		if time.Now().After(deadline) {
			t.Fatal("the change feed did not start listening within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCacheSeesOtherServers runs two stores on one database, as two
// servers would, and checks that a change made through one reaches the
// cached answers of the other, and that a server's own changes are seen at
// once.
func TestCacheSeesOtherServers(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	a := openTest(t, Options{URL: dsn})
	b := openTest(t, Options{URL: dsn})
	waitListening(t, a)
	waitListening(t, b)
	ctx := testContext(t)
	now := time.Now()
	seed := store.Seed{
		Tenants: []store.Tenant{{Name: "t", Enabled: true, Created: now, Updated: now}},
		Admins:  []store.Admin{{Tenant: "t", AdminUser: "~~admin", SecretHash: "old", Privilege: "PERM_ADMIN", Created: now, Updated: now}},
	}
	if err := a.CreateTenant(ctx, seed); err != nil {
		t.Fatal(err)
	}
	read := func(db *DB) string {
		c, err := db.AdminCredential(ctx, "t", "~~admin")
		if err != nil {
			t.Fatal(err)
		}
		return c.SecretHash
	}
	// Warm both caches and check they serve from memory.
	for range 3 {
		if read(a) != "old" || read(b) != "old" {
			t.Fatal("first read")
		}
	}
	if hits := a.CacheStats().Hits; hits == 0 {
		t.Fatal("no cache hits on repeated reads")
	}

	// A's own change is seen by A immediately.
	if _, err := a.SetAdminSecret(ctx, "t", "~~admin", "new", now); err != nil {
		t.Fatal(err)
	}
	if got := read(a); got != "new" {
		t.Fatalf("A reads %q right after its own change", got)
	}
	// B sees it once the notification arrives.
	start := time.Now()
	for read(b) != "new" {
		if time.Since(start) > 5*time.Second {
			t.Fatal("B still serves the old secret 5 s after A changed it")
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("the other server saw the change after %v", time.Since(start))
}

// TestCacheOffWhileFeedDown kills the listening connection and checks that
// the store stops caching until it listens again.
func TestCacheOffWhileFeedDown(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	db := openTest(t, Options{URL: dsn})
	waitListening(t, db)
	pgtest.Exec(t, pgtest.URL(t), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query = 'LISTEN tms_changes' AND pid <> pg_backend_pid()`)
	deadline := time.Now().Add(10 * time.Second)
	for db.CacheStats().Listening {
		if time.Now().After(deadline) {
			t.Fatal("the store still caches 10 s after its change feed was killed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitListening(t, db)
}

// TestHostCredentialCacheSeesOtherServers checks that a host credential
// created through one server reaches another server that had cached the
// host as having none.
func TestHostCredentialCacheSeesOtherServers(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	a := openTest(t, Options{URL: dsn})
	b := openTest(t, Options{URL: dsn})
	waitListening(t, a)
	ctx := testContext(t)
	now := time.Now()
	if err := b.CreateTenant(ctx, store.Seed{Tenants: []store.Tenant{{Name: "t", Enabled: true, Created: now, Updated: now}}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if creds, err := a.HostCredentialsFor(ctx, "login1"); err != nil || len(creds) != 0 {
			t.Fatalf("before: %+v %v", creds, err)
		}
	}
	if err := b.CreateHostCredential(ctx, store.HostCredential{Tenant: "t", Host: "login1", SecretHash: "h", Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		creds, err := a.HostCredentialsFor(ctx, "login1")
		if err != nil {
			t.Fatal(err)
		}
		if len(creds) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the other server still answers that login1 has no credential 5 s after one was created")
		}
		time.Sleep(time.Millisecond)
	}
}
