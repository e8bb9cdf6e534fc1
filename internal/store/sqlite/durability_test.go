package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/envnames"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlite"
)

// TestMain lets the test binary act as a writer process that the crash
// test kills.
func TestMain(m *testing.M) {
	if path := os.Getenv(envnames.SQLiteCrashWriter); path != "" {
		crashWriter(path)
		return
	}
	os.Exit(m.Run())
}

// crashWriter creates clients from many goroutines and prints the id of each
// one as soon as CreateClient returns, until it is killed.
func crashWriter(path string) {
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	now := time.Now()
	if err := db.CreateTenant(context.Background(), store.Seed{Tenants: []store.Tenant{{Name: "t", Enabled: true, Created: now, Updated: now}}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "ready")
	out.Flush()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("c-%d-%d", g, i)
				err := db.CreateClient(context.Background(), store.Client{Tenant: "t", ClientID: id, AppName: id, AppVersion: "1",
					SecretHash: "h", Enabled: true, Created: now, Updated: now})
				if err != nil {
					continue
				}
				mu.Lock()
				fmt.Fprintln(out, id)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestAcknowledgedWritesSurviveCrash kills a writing process with SIGKILL
// and checks that every write it acknowledged is in the database.
func TestAcknowledgedWritesSurviveCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tms.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envnames.SQLiteCrashWriter+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("writer did not start: %q", sc.Text())
	}
	var acked []string
	deadline := time.Now().Add(2 * time.Second)
	for sc.Scan() {
		acked = append(acked, sc.Text())
		if time.Now().After(deadline) && len(acked) > 200 {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		acked = append(acked, sc.Text())
	}
	cmd.Wait()

	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clients, err := db.ListClients(context.Background(), "t", "")
	if err != nil {
		t.Fatal(err)
	}
	stored := make(map[string]bool, len(clients))
	for _, c := range clients {
		stored[c.ClientID] = true
	}
	var lost []string
	for _, id := range acked {
		if !stored[id] {
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 {
		t.Fatalf("%d of %d acknowledged writes lost after SIGKILL, e.g. %s", len(lost), len(acked), strings.Join(lost[:min(5, len(lost))], ", "))
	}
	t.Logf("%d acknowledged writes, all present after SIGKILL (%d rows stored)", len(acked), len(clients))
}

// TestCheckpointTruncatesWAL checks that closing the store leaves the whole
// database in the main file.
func TestCheckpointTruncatesWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tms.db")
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ctx := context.Background()
	if err := db.CreateTenant(ctx, store.Seed{Tenants: []store.Tenant{{Name: "t", Enabled: true, Created: now, Updated: now}}}); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		id := fmt.Sprintf("c%d", i)
		if err := db.CreateClient(ctx, store.Client{Tenant: "t", ClientID: id, AppName: id, AppVersion: "1", SecretHash: "h", Enabled: true, Created: now, Updated: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path + "-wal"); err == nil && info.Size() > 0 {
		t.Fatalf("WAL holds %d bytes after Close", info.Size())
	}
	db, err = sqlite.Open(ctx, sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	list, err := db.ListClients(ctx, "t", "")
	if err != nil || len(list) != 300 {
		t.Fatalf("after reopening: %d clients, %v", len(list), err)
	}
}

// TestSeesChangesOfOtherProcesses changes a cached credential through a
// second store on the same file (as "tms admin rotate-secret" does while
// the server runs) and checks that the first store notices.
func TestSeesChangesOfOtherProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tms.db")
	ctx := context.Background()
	server, err := sqlite.Open(ctx, sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	now := time.Now()
	seed := store.Seed{
		Tenants: []store.Tenant{{Name: "t", Enabled: true, Created: now, Updated: now}},
		Admins:  []store.Admin{{Tenant: "t", AdminUser: "~~admin", SecretHash: "old", Privilege: "PERM_ADMIN", Created: now, Updated: now}},
	}
	if err := server.CreateTenant(ctx, seed); err != nil {
		t.Fatal(err)
	}
	if c, err := server.AdminCredential(ctx, "t", "~~admin"); err != nil || c.SecretHash != "old" {
		t.Fatalf("before: %+v %v", c, err)
	}
	other, err := sqlite.Open(ctx, sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.SetAdminSecret(ctx, "t", "~~admin", "new", now); err != nil {
		t.Fatal(err)
	}
	other.Close()
	clocktest.Eventually(t, "the store answers with what another process wrote", func() bool {
		c, err := server.AdminCredential(ctx, "t", "~~admin")
		if err != nil {
			t.Fatal(err)
		}
		return c.SecretHash == "new"
	})
}

func TestCloseTwice(t *testing.T) {
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "tms.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
