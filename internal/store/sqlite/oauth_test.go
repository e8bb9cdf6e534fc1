package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/migrations"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/readcache"
	"github.com/tmsproject/tms/internal/store/storetest"
)

func TestChangesRows(t *testing.T) {
	tests := []struct {
		query string
		want  bool
	}{
		{"UPDATE pubkeys SET x = 1", true},
		{"  update user_mfa SET x = 1", true},
		{"DELETE FROM clients WHERE a = 1", true},
		{"\n\t\tDELETE\n FROM delegations", true},
		{"INSERT INTO pubkeys(a) VALUES (1)", false},
		{"INSERT INTO clients(tenant) VALUES (1)", true},
		{"INSERT INTO admin(tenant) VALUES (1)", true},
		{"INSERT INTO tenants(tenant) VALUES (1)", true},
		{"INSERT INTO host_credentials(tenant) VALUES (1)", true},
		{"SELECT 1", false},
		{"UPDATE users SET enabled = 0", false},
		{"UPDATE device_authorizations SET last_poll_at = 1", false},
		{"UPDATE oauth_tokens SET revoked_at = 1", false},
		{"DELETE FROM oauth_tokens WHERE expires_at < 1", false},
		{"DELETE FROM Users WHERE tenant = 1", false},
		{"DELETE FROM oauth_clients", false},
		{"UPDATE", true}, // unparsable: stay on the safe side
		{"", false},
	}
	for _, tc := range tests {
		if got := changesRows(tc.query); got != tc.want {
			t.Errorf("changesRows(%q) = %v, want %v", tc.query, got, tc.want)
		}
	}
}

func openTest(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

// TestDeviceFlowKeepsKeyCache checks that polls and token writes leave the
// cached key lookups of sshd alone, while refreshing a user's MFA record,
// which a cached lookup depends on, is seen at once.
func TestDeviceFlowKeepsKeyCache(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, filepath.Join(t.TempDir(), "tms.db"))
	now := time.Date(2026, 7, 13, 12, 0, 0, 0, time.UTC)
	soon := now.Add(time.Minute)
	seed := store.Seed{
		Tenants:      []store.Tenant{{Name: "t1", Enabled: true, Created: now, Updated: now}},
		OAuthClients: []store.OAuthClient{{Tenant: "t1", ClientID: "cli", AppName: "cli", AppVersion: "*", Builtin: true, Created: now, Updated: now}},
		UserMFA:      []store.UserMFA{{Tenant: "t1", TMSUserID: "alice", ExpiresAt: soon, Enabled: true, Created: now, Updated: now}},
		UserHosts:    []store.UserHost{{Tenant: "t1", TMSUserID: "alice", Host: "h", HostAccount: "a", ExpiresAt: store.Never, Created: now, Updated: now}},
		Delegations:  []store.Delegation{{Tenant: "t1", ClientID: "cli", ClientUserID: "alice", ExpiresAt: store.Never, Created: now, Updated: now}},
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.CreateTenant(ctx, seed))
	must(db.CreateUser(ctx, store.User{Tenant: "t1", Username: "alice", PasswordHash: "h", Enabled: true, Created: now, Updated: now}))
	_, err := db.CreatePubkey(ctx, store.Pubkey{Tenant: "t1", ClientID: "cli", ClientUserID: "alice", Host: "h", HostAccount: "a",
		Fingerprint: "SHA256:k", PublicKey: "ssh-ed25519 AAAA", KeyType: "ed25519", KeyBits: 256, MaxUses: store.MaxCount,
		RemainingUses: store.MaxCount, InitialTTLMinutes: store.MaxCount, ExpiresAt: store.Never, Created: now, Updated: now}, false, nil)
	must(err)
	cached := readcache.Wrap(db, 100)
	lookup := func() store.KeyState {
		t.Helper()
		ks, err := cached.LookupKey(ctx, "h", "SHA256:k", "a")
		must(err)
		return ks
	}
	// The watcher of other processes' commits (checkpoint.go) sees this
	// process's commits too and may invalidate everything at one of its
	// ticks; so the check is tried a few times, and one clean try shows
	// that neither the poll nor the user update invalidates the key.
	clean := false
	for try := range 5 {
		lookup()
		hits := cached.Stats().Hits
		if try == 0 {
			must(db.CreateDeviceAuthorization(ctx, store.DeviceAuthorization{DeviceCodeHash: "dc", UserCode: "BCDFGHJK", Tenant: "t1",
				ClientID: "cli", State: store.DevicePending, IntervalSeconds: 5, ExpiresAt: now.Add(time.Hour), Created: now, Updated: now}, store.DeviceQuota{MaxLive: 10, Now: now, PruneBefore: now.Add(-time.Hour)}))
		}
		_, err = db.TouchDeviceAuthorization(ctx, "dc", "cli", store.PollBody, func(store.DeviceAuthorization) (time.Time, bool) { return now, true })
		must(err)
		_, err = db.UpdateUser(ctx, "t1", "alice", store.UserUpdate{PasswordHash: new("h2")}, now)
		must(err)
		lookup()
		if cached.Stats().Hits == hits+1 {
			clean = true
			break
		}
	}
	if !clean {
		t.Fatal("a poll or a user update invalidated the key cache in each of 5 tries")
	}
	later := now.Add(24 * time.Hour)
	_, err = db.RefreshUserMFA(ctx, "t1", "alice", later, now)
	must(err)
	if ks := lookup(); !ks.Deps.UserMFA.ExpiresAt.Equal(later) {
		t.Fatalf("lookup after an MFA refresh saw expiry %v, want %v", ks.Deps.UserMFA.ExpiresAt, later)
	}
}

// TestMigrations runs the migration cases of the conformance suite on a
// database made by the first migration alone.
func TestMigrations(t *testing.T) {
	storetest.RunMigrations(t, func(t *testing.T, tenants []store.Tenant) store.Store {
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "tms.db")
		all, err := migrations.Load(migrations.SQLite)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			all[0].SQL,
			`CREATE TABLE tms_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
			`INSERT INTO tms_schema_migrations VALUES (1, 'init', 0)`,
		} {
			if _, err := raw.ExecContext(ctx, q); err != nil {
				t.Fatalf("prepare a version 1 database: %v", err)
			}
		}
		for _, tn := range tenants {
			if _, err := raw.ExecContext(ctx, `INSERT INTO tenants(tenant, enabled, created, updated) VALUES (?, ?, 0, 0)`, tn.Name, tn.Enabled); err != nil {
				t.Fatalf("prepare a version 1 database: %v", err)
			}
		}
		if err := raw.Close(); err != nil {
			t.Fatal(err)
		}
		return openTest(t, path)
	})
}
