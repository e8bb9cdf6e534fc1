package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlite"
)

// TestBackupDuringWrites takes a backup while writers run and checks that
// every write acknowledged before the backup started is in it.
func TestBackupDuringWrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tms.db")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	if err := db.CreateTenant(ctx, store.Seed{Tenants: []store.Tenant{{Name: "t", Enabled: true, Created: now, Updated: now}}}); err != nil {
		t.Fatal(err)
	}
	var (
		stop    atomic.Bool
		mu      sync.Mutex
		acked   []string // in acknowledgement order
		wg      sync.WaitGroup
		counter atomic.Int64
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				id := fmt.Sprintf("c%d", counter.Add(1))
				if err := db.CreateClient(ctx, store.Client{Tenant: "t", ClientID: id, AppName: id, AppVersion: "1", SecretHash: "h",
					Enabled: true, Created: now, Updated: now}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}()
	}
	ackedCount := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	// Back up while the writers write: after some writes, and before
	// some more.
	clocktest.Eventually(t, "50 clients written", func() bool { return ackedCount() >= 50 })
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	backup := filepath.Join(dir, "backup.db")
	if err := sqlite.Backup(ctx, path, backup); err != nil {
		t.Fatal(err)
	}
	clocktest.Eventually(t, "50 clients written after the backup", func() bool { return ackedCount() >= len(before)+50 })
	stop.Store(true)
	wg.Wait()

	if info, err := os.Stat(backup); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", info, err)
	}
	if err := sqlite.Backup(ctx, path, backup); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("backup over an existing file: %v", err)
	}

	// Restore the backup into a fresh location and look for every write
	// acknowledged before the backup started.
	restored := filepath.Join(dir, "restored", "tms.db")
	if _, err := sqlite.Restore(ctx, backup, restored); err != nil {
		t.Fatal(err)
	}
	rdb, err := sqlite.Open(ctx, sqlite.Options{Path: restored})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	list, err := rdb.ListClients(ctx, "t", "")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, c := range list {
		have[c.ClientID] = true
	}
	for _, id := range before {
		if !have[id] {
			t.Fatalf("client %s was acknowledged before the backup started but is not in it", id)
		}
	}
	t.Logf("%d writes acknowledged before the backup; backup holds %d of %d total", len(before), len(list), len(acked))
}

func TestRestoreRefusesDatabaseInUse(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	src := filepath.Join(dir, "src.db")
	db, err := sqlite.Open(ctx, sqlite.Options{Path: src})
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if err := sqlite.Backup(ctx, src, backup); err != nil {
		t.Fatal(err)
	}
	db.Close()

	live := filepath.Join(dir, "live.db")
	ldb, err := sqlite.Open(ctx, sqlite.Options{Path: live})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Restore(ctx, backup, live); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("restore over an open database: %v", err)
	}
	ldb.Close()
	kept, err := sqlite.Restore(ctx, backup, live)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Fatalf("replaced database not kept: %v", err)
	}
}

func TestRestoreRejectsBadBackups(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte("not a database, just text that is long enough to be a header"), 0o600)
	foreign := filepath.Join(dir, "foreign.db")
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(dir, "x.db")})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// A SQLite database without TMS tables.
	if err := os.WriteFile(foreign, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{garbage, foreign, filepath.Join(dir, "missing.db")} {
		target := filepath.Join(dir, "target.db")
		if _, err := sqlite.Restore(ctx, src, target); err == nil {
			t.Errorf("restore of %s succeeded", filepath.Base(src))
		}
		if _, err := os.Stat(target); err == nil {
			t.Errorf("a failed restore of %s created the target", filepath.Base(src))
		}
	}
}
