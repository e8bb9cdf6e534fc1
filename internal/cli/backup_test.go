package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tmsproject/tms/internal/client"
	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/store/sqlite"
)

// TestBackupDuringKeyCreation takes "tms backup" of a running server under
// createkey load, restores it into another root with "tms restore", and
// checks that every key acknowledged before the backup started is there.
func TestBackupDuringKeyCreation(t *testing.T) {
	srv, env := startDevServer(t)
	c, err := client.New(client.Options{BaseURL: env["TMS_URL"]}, client.Credentials{
		Tenant: env["X_TMS_TENANT"], ClientID: env["X_TMS_CLIENT_ID"], ClientSecret: env["X_TMS_CLIENT_SECRET"]})
	if err != nil {
		t.Fatal(err)
	}
	var (
		stop  atomic.Bool
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				k, err := c.CreateKey(context.Background(), client.KeyRequest{User: "testuser1", Host: "testhost1",
					Account: "testhostaccount1", NumUses: -1, TTLMinutes: -1})
				if err != nil {
					t.Errorf("create key: %v", err)
					return
				}
				mu.Lock()
				acked = append(acked, k.Fingerprint)
				mu.Unlock()
			}
		}()
	}
	ackedCount := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	// Back up while keys are being created: after some, and before some
	// more.
	clocktest.Eventually(t, "20 keys created", func() bool { return ackedCount() >= 20 })
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	backup := filepath.Join(t.TempDir(), "tms-backup.db")
	out := env.ok(t, "backup", "--root-dir", srv.Root, backup)
	if !strings.Contains(out, "Backed up") {
		t.Fatalf("backup output: %s", out)
	}
	clocktest.Eventually(t, "20 keys created after the backup", func() bool { return ackedCount() >= len(before)+20 })
	stop.Store(true)
	wg.Wait()

	// Restoring over the running server's database is refused.
	r := env.run(t, "restore", "--root-dir", srv.Root, backup)
	if r.code == 0 || !strings.Contains(r.stderr, "in use") {
		t.Fatalf("restore over a running server: exit %d, %s", r.code, r.stderr)
	}

	other := t.TempDir()
	env.ok(t, "restore", "--root-dir", other, backup)
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(other, "database", "tms.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys, err := db.ListPubkeys(context.Background(), "test", "")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, k := range keys {
		have[k.Fingerprint] = true
	}
	for _, fp := range before {
		if !have[fp] {
			t.Fatalf("key %s was acknowledged before the backup started but is missing from it", fp)
		}
	}
	if len(before) == 0 {
		t.Fatal("no keys were created before the backup")
	}
	t.Logf("%d keys acknowledged before the backup, %d in it, %d created in all", len(before), len(keys), len(acked))
	if _, err := os.Stat(backup); err != nil {
		t.Fatal(err)
	}
}
