package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tmsproject/tms/internal/migrations"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/postgres/pgtest"
	"github.com/tmsproject/tms/internal/store/readcache"
	"github.com/tmsproject/tms/internal/store/storetest"
)

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func openTest(t testing.TB, opts Options) *DB {
	t.Helper()
	db, err := Open(testContext(t), opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

// TestConformance runs the conformance suite on the store as the server
// uses it, under the read cache.
func TestConformance(t *testing.T) {
	pgtest.URL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return readcache.Wrap(openTest(t, Options{URL: pgtest.NewSchema(t)}), 1000)
	})
}

// TestSharedDatabase runs the read cache cases of stores that share a
// database, as several servers do.
func TestSharedDatabase(t *testing.T) {
	pgtest.URL(t)
	storetest.RunShared(t, func(t *testing.T) func(t *testing.T) readcache.Source {
		url := pgtest.NewSchema(t)
		return func(t *testing.T) readcache.Source { return openTest(t, Options{URL: url}) }
	})
}

func TestOptionsRejected(t *testing.T) {
	const url = "postgres://tms@127.0.0.1:1/postgres"
	tests := []struct {
		name  string
		opts  Options
		field string
	}{
		{"no URL", Options{}, "URL"},
		{"unparsable URL", Options{URL: "postgres://tms:s3cret@127.0.0.1:port/db"}, "URL"},
		{"negative MaxConns", Options{URL: url, MaxConns: -1}, "MaxConns"},
		{"negative MinConns", Options{URL: url, MinConns: -1}, "MinConns"},
		{"MinConns above MaxConns", Options{URL: url, MaxConns: 4, MinConns: 5}, "MinConns"},
		{"negative AcquireTimeout", Options{URL: url, AcquireTimeout: -time.Second}, "AcquireTimeout"},
		{"negative StatementTimeout", Options{URL: url, StatementTimeout: -time.Second}, "StatementTimeout"},
		{"StatementTimeout below a millisecond", Options{URL: url, StatementTimeout: time.Microsecond}, "StatementTimeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(testContext(t), tc.opts)
			if err == nil {
				db.Close()
				t.Fatal("Open accepted the options")
			}
			msg := err.Error()
			if !strings.Contains(msg, "option "+tc.field+":") || strings.Contains(msg, "\n") {
				t.Errorf("error %q does not name the field %s on one line", msg, tc.field)
			}
			if strings.Contains(msg, "s3cret") {
				t.Errorf("error %q shows the password", msg)
			}
		})
	}
}

func TestUnreachableDatabase(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	start := time.Now()
	db, err := Open(testContext(t), Options{URL: "postgres://tms@" + addr + "/postgres?sslmode=disable", AcquireTimeout: 500 * time.Millisecond})
	if err == nil {
		db.Close()
		t.Fatal("Open succeeded without a server")
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	t.Logf("Open without a server failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
}

func TestAcquireTimeout(t *testing.T) {
	db := openTest(t, Options{URL: pgtest.NewSchema(t), MaxConns: 2, AcquireTimeout: 200 * time.Millisecond})
	ctx := testContext(t)
	var held []interface{ Release() }
	for range 2 {
		conn, err := db.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
	}
	if got := db.PoolStats().AcquiredConns; got != 2 {
		t.Fatalf("PoolStats().AcquiredConns = %d with every connection held, want 2", got)
	}

	start := time.Now()
	_, err := db.GetTenant(ctx, "default")
	elapsed := time.Since(start)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("GetTenant with the pool exhausted: got %v, want ErrUnavailable", err)
	}
	t.Logf("exhausted pool refused the call after %v (acquire timeout 200ms): %v", elapsed.Round(time.Millisecond), err)
	if stats := db.PoolStats(); stats.CanceledAcquireCount == 0 {
		t.Errorf("PoolStats after an acquire timeout: %+v, want CanceledAcquireCount > 0", stats)
	}

	for _, conn := range held {
		conn.Release()
	}
	if _, err := db.GetTenant(ctx, "default"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetTenant after the connections came back: got %v, want ErrNotFound", err)
	}
}

// appliedMigrations returns the versions recorded in the schema's
// bookkeeping table.
func appliedMigrations(t *testing.T, dsn string) []int {
	t.Helper()
	conn := pgtest.Connect(t, dsn)
	rows, err := conn.Query(testContext(t), `SELECT version FROM tms_schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return versions
}

func wantAllMigrations(t *testing.T, dsn string) {
	t.Helper()
	all, err := migrations.Load(migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	got := appliedMigrations(t, dsn)
	if len(got) != len(all) {
		t.Fatalf("applied migrations %v, want one row for each of %d", got, len(all))
	}
	for i, m := range all {
		if got[i] != m.Version {
			t.Fatalf("applied migrations %v, want version %d at %d", got, m.Version, i)
		}
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	ctx := testContext(t)
	first := openTest(t, Options{URL: dsn})
	if err := first.CreateTenant(ctx, store.Seed{Tenants: []store.Tenant{{Name: "kept", Enabled: true, Created: time.Now(), Updated: time.Now()}}}); err != nil {
		t.Fatal(err)
	}
	first.Close()

	second := openTest(t, Options{URL: dsn})
	if err := second.Ping(ctx); err != nil {
		t.Fatalf("Ping after a second Open: %v", err)
	}
	if _, err := second.GetTenant(ctx, "kept"); err != nil {
		t.Fatalf("data after a second Open: %v", err)
	}
	wantAllMigrations(t, dsn)
}

func TestConcurrentOpen(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	ctx := testContext(t)
	const servers = 4
	var wg sync.WaitGroup
	errs := make([]error, servers)
	for i := range servers {
		wg.Go(func() {
			db, err := Open(ctx, Options{URL: dsn})
			if err == nil {
				err = db.Ping(ctx)
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d of %d at once on a fresh schema: %v", i+1, servers, err)
		}
	}
	wantAllMigrations(t, dsn)
}

func TestNewerSchemaRefused(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	ctx := testContext(t)
	db := openTest(t, Options{URL: dsn})
	all, err := migrations.Load(migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, dsn, `INSERT INTO tms_schema_migrations(version, name, applied_at) VALUES ($1, 'from_the_future', now())`,
		all[len(all)-1].Version+1)

	if err := db.Ping(ctx); err == nil {
		t.Error("Ping passed on a schema newer than the binary")
	}
	other, err := Open(ctx, Options{URL: dsn})
	if err == nil {
		other.Close()
		t.Fatal("Open accepted a schema newer than the binary")
	}
	if !strings.Contains(err.Error(), "upgrade tms") {
		t.Fatalf("Open on a newer schema: %v, want an error that says to upgrade", err)
	}
}

func TestStatementTimeout(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	ctx := testContext(t)
	db := openTest(t, Options{URL: dsn, StatementTimeout: 300 * time.Millisecond})
	now := time.Now()
	seed := store.Seed{
		Tenants: []store.Tenant{{Name: "t1", Enabled: true, Created: now, Updated: now}},
		Clients: []store.Client{{Tenant: "t1", ClientID: "c1", AppName: "app", AppVersion: "1", SecretHash: "x", Enabled: true, Created: now, Updated: now}},
	}
	if err := db.CreateTenant(ctx, seed); err != nil {
		t.Fatal(err)
	}
	key, err := db.CreatePubkey(ctx, store.Pubkey{Tenant: "t1", ClientID: "c1", ClientUserID: "u1", Host: "h1", HostAccount: "a1",
		Fingerprint: "SHA256:locked", PublicKey: "ssh-ed25519 AAAA", KeyType: "ed25519", KeyBits: 256,
		MaxUses: 5, RemainingUses: 5, InitialTTLMinutes: 60, ExpiresAt: now.Add(time.Hour), Created: now, Updated: now}, true, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Another session, as another server might, holds the key's row.
	locker := pgtest.Connect(t, dsn)
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM pubkeys WHERE id = $1 FOR UPDATE`, key.ID); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	_, err = db.UseKey(ctx, key.ID, now, 0)
	elapsed := time.Since(start)
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "57014") {
		t.Fatalf("UseKey on a locked row: got %v, want ErrUnavailable from the statement timeout (57014)", err)
	}
	t.Logf("UseKey on a locked row failed after %v (statement timeout 300ms): %v", elapsed.Round(time.Millisecond), err)

	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := db.UseKey(ctx, key.ID, now, 0)
	if err != nil || !res.Counted || res.RemainingUses != 4 {
		t.Fatalf("UseKey after the lock was released: %+v, %v; want one use counted and 4 left", res, err)
	}
}

// benchWorld creates a tenant with a client and returns a key for it whose
// dependencies CreatePubkey provisions.
func benchWorld(b *testing.B, db *DB) store.Pubkey {
	b.Helper()
	ctx := testContext(b)
	now := time.Now()
	seed := store.Seed{
		Tenants: []store.Tenant{{Name: "t1", Enabled: true, Created: now, Updated: now}},
		Clients: []store.Client{{Tenant: "t1", ClientID: "c1", AppName: "app", AppVersion: "1", SecretHash: "x", Enabled: true, Created: now, Updated: now}},
	}
	if err := db.CreateTenant(ctx, seed); err != nil {
		b.Fatal(err)
	}
	return store.Pubkey{Tenant: "t1", ClientID: "c1", ClientUserID: "u1", Host: "h1", HostAccount: "a1",
		PublicKey: "ssh-ed25519 AAAA", KeyType: "ed25519", KeyBits: 256,
		MaxUses: store.MaxCount, RemainingUses: store.MaxCount, InitialTTLMinutes: 60, ExpiresAt: now.Add(time.Hour), Created: now, Updated: now}
}

// BenchmarkCreatePubkey measures key creation with provisioning, the path of
// every createkey request, from many goroutines at once.
func BenchmarkCreatePubkey(b *testing.B) {
	db := openTest(b, Options{URL: pgtest.NewSchema(b)})
	key := benchWorld(b, db)
	ctx := testContext(b)
	var next atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := key
			k.Fingerprint = fmt.Sprintf("SHA256:bench%d", next.Add(1))
			if _, err := db.CreatePubkey(ctx, k, true, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkLookupKey measures key retrieval, the path of every sshd login,
// from many goroutines at once.
func BenchmarkLookupKey(b *testing.B) {
	db := openTest(b, Options{URL: pgtest.NewSchema(b)})
	key := benchWorld(b, db)
	key.Fingerprint = "SHA256:lookup"
	ctx := testContext(b)
	if _, err := db.CreatePubkey(ctx, key, true, nil); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.LookupKey(ctx, key.Host, key.Fingerprint, key.HostAccount); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkUseKeyRepeated measures counting a use of a key that was used
// within the repeat window, as repeated retrievals of one key do.
func BenchmarkUseKeyRepeated(b *testing.B) {
	db := openTest(b, Options{URL: pgtest.NewSchema(b)})
	key := benchWorld(b, db)
	key.Fingerprint = "SHA256:use"
	ctx := testContext(b)
	created, err := db.CreatePubkey(ctx, key, true, nil)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	if _, err := db.UseKey(ctx, created.ID, now, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.UseKey(ctx, created.ID, now, time.Hour); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func TestMapErr(t *testing.T) {
	tests := []struct {
		name         string
		err          error
		onForeignKey error
		want         error
	}{
		{"no rows", pgx.ErrNoRows, store.ErrMissingParent, store.ErrNotFound},
		{"unique violation", &pgconn.PgError{Code: "23505"}, store.ErrMissingParent, store.ErrConflict},
		{"foreign key on insert", &pgconn.PgError{Code: "23503"}, store.ErrMissingParent, store.ErrMissingParent},
		{"foreign key on delete", &pgconn.PgError{Code: "23503"}, store.ErrInUse, store.ErrInUse},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, store.ErrMissingParent, store.ErrUnavailable},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, store.ErrMissingParent, store.ErrUnavailable},
		{"too many connections", &pgconn.PgError{Code: "53300"}, store.ErrMissingParent, store.ErrUnavailable},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, store.ErrMissingParent, store.ErrUnavailable},
		{"deadlock", &pgconn.PgError{Code: "40P01"}, store.ErrMissingParent, store.ErrUnavailable},
		{"connection failure", &pgconn.PgError{Code: "08006"}, store.ErrMissingParent, store.ErrUnavailable},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), store.ErrMissingParent, store.ErrUnavailable},
		{"canceled", context.Canceled, store.ErrMissingParent, store.ErrUnavailable},
		{"connection closed", io.ErrUnexpectedEOF, store.ErrMissingParent, store.ErrUnavailable},
	}
	sentinels := []error{store.ErrNotFound, store.ErrConflict, store.ErrMissingParent, store.ErrInUse, store.ErrUnavailable}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mapErr("op", tc.err, tc.onForeignKey)
			if !errors.Is(got, tc.want) {
				t.Fatalf("mapErr(%v) = %v, want %v", tc.err, got, tc.want)
			}
			for _, s := range sentinels {
				if s != tc.want && errors.Is(got, s) {
					t.Errorf("mapErr(%v) = %v also matches %v", tc.err, got, s)
				}
			}
		})
	}
	if got := mapErr("op", &pgconn.PgError{Code: "42601"}, store.ErrMissingParent); got == nil || errors.Is(got, store.ErrUnavailable) {
		t.Errorf("a syntax error mapped to %v, want a plain error", got)
	}
	if got := mapErr("op", nil, store.ErrMissingParent); got != nil {
		t.Errorf("mapErr(nil) = %v", got)
	}
}

func TestSessionSettings(t *testing.T) {
	db := openTest(t, Options{URL: pgtest.NewSchema(t), StatementTimeout: 1500 * time.Millisecond})
	ctx := testContext(t)
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for setting, want := range map[string]string{"TimeZone": "UTC", "statement_timeout": "1500ms", "application_name": "tms"} {
		var got string
		if err := conn.QueryRow(ctx, `SELECT current_setting($1)`, setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
}

// TestProvisionRefusal checks that a key refused after provisioning sees
// the provisioned records and the failing one as they are, and leaves
// nothing provisioned behind.
func TestProvisionRefusal(t *testing.T) {
	db := openTest(t, Options{URL: pgtest.NewSchema(t)})
	ctx := testContext(t)
	now := time.Date(2026, 7, 13, 18, 2, 11, 0, time.UTC)
	past := now.Add(-time.Hour)
	seed := store.Seed{
		Tenants:     []store.Tenant{{Name: "t1", Enabled: true, Created: now, Updated: now}},
		Clients:     []store.Client{{Tenant: "t1", ClientID: "c1", AppName: "app", AppVersion: "1", SecretHash: "x", Enabled: true, Created: now, Updated: now}},
		UserMFA:     []store.UserMFA{{Tenant: "t1", TMSUserID: "u1", ExpiresAt: store.Never, Enabled: true, Created: now, Updated: now}},
		Delegations: []store.Delegation{{Tenant: "t1", ClientID: "c1", ClientUserID: "u1", ExpiresAt: past, Created: now, Updated: now}},
	}
	if err := db.CreateTenant(ctx, seed); err != nil {
		t.Fatal(err)
	}
	errExpired := errors.New("delegation expired")
	var seen store.Dependencies
	_, err := db.CreatePubkey(ctx, store.Pubkey{Tenant: "t1", ClientID: "c1", ClientUserID: "u1", Host: "h1", HostAccount: "a1",
		Fingerprint: "SHA256:refused", PublicKey: "ssh-ed25519 AAAA", KeyType: "ed25519", KeyBits: 256,
		MaxUses: 1, RemainingUses: 1, InitialTTLMinutes: 60, ExpiresAt: now.Add(time.Hour), Created: now, Updated: now}, true,
		func(d store.Dependencies) error {
			seen = d
			if d.Delegation.ExpiresAt.Before(now) {
				return errExpired
			}
			return nil
		})
	if err != errExpired {
		t.Fatalf("CreatePubkey with an expired delegation and a missing mapping: got %v, want the check's refusal", err)
	}
	if seen.UserHost.ID == 0 || !seen.UserHost.ExpiresAt.Equal(store.Never) || !seen.Delegation.ExpiresAt.Equal(past) {
		t.Fatalf("the check saw %+v, want a provisioned mapping and the delegation expired at %v", seen, past)
	}
	if _, err := db.FindUserHost(ctx, store.UserHostKey{Tenant: "t1", TMSUserID: "u1", Host: "h1", HostAccount: "a1"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("mapping provisioned for a refused key: %v", err)
	}
}
