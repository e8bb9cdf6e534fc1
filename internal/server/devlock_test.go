package server_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/server/servertest"
	"github.com/tmsproject/tms/internal/store/postgres/pgtest"
)

// TestSecondServerOnOneDatabase: a second server on the SQLite database of
// a running one is refused with a message naming the running one, and
// changes nothing; a lock file left by a server that died does not stop
// the next.
func TestSecondServerOnOneDatabase(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	env := baseEnv(t)
	devEnv := filepath.Join(root, "dev.env")
	first := servertest.Start(t, server.Options{RootDir: root, Env: env, Dev: true})
	before, err := os.ReadFile(devEnv)
	if err != nil {
		t.Fatal(err)
	}
	var stdout servertest.Buffer
	err = server.Run(context.Background(), server.Options{RootDir: root, Env: env, Dev: true, Listener: mustListen(t),
		Stdout: &stdout, Stderr: &stdout})
	if err == nil {
		t.Fatal("a second server started on the same database")
	}
	for _, want := range []string{"another tms server", "pid " + strconv.Itoa(os.Getpid()), first.URL, "--root-dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if after, _ := os.ReadFile(devEnv); string(after) != string(before) {
		t.Errorf("the refused server changed dev.env:\n%s\nwas:\n%s", after, before)
	}
	first.Stop(t)

	// A server that died leaves its lock file, but not the lock.
	lockFile := filepath.Join(root, "database", "tms.db.server.lock")
	if err := os.WriteFile(lockFile, []byte("pid 999999\nurl http://127.0.0.1:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	servertest.Start(t, server.Options{RootDir: root, Env: env, Dev: true}).Stop(t)
}

// TestDevOnAnotherRootsPostgres: a development server with a new root on a
// PostgreSQL database that another root initialized refuses to rotate the
// secrets the other root's dev.env holds, and starts once given that
// dev.env.
func TestDevOnAnotherRootsPostgres(t *testing.T) {
	dbURL := pgtest.NewSchema(t)
	env := baseEnv(t, "TMS_DATABASE_URL="+dbURL)
	rootA := filepath.Join(t.TempDir(), "a")
	a := servertest.Start(t, server.Options{RootDir: rootA, Env: env, Dev: true})
	varsA := sourceDevEnv(t, filepath.Join(rootA, "dev.env"))

	rootB := filepath.Join(t.TempDir(), "b")
	var out servertest.Buffer
	err := server.Run(context.Background(), server.Options{RootDir: rootB, Env: env, Dev: true, Stdout: &out, Stderr: &out,
		Listener: mustListen(t)})
	if err == nil || !strings.Contains(err.Error(), "initialized by another TMS root") || !strings.Contains(err.Error(), "dev.env") {
		t.Fatalf("a --dev server with a new root on another root's database: %v", err)
	}
	admin := adminHeaders("test", varsA["X_TMS_ADMIN_SECRET"])
	if status := get(t, httpClient(), a.URL+"/v1/tms/client/list", admin); status != 200 {
		t.Fatalf("the first root's administrator secret gets %d after the refused start", status)
	}

	// With the first root's dev.env, the second root shares the database.
	data, err := os.ReadFile(filepath.Join(rootA, "dev.env"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootB, "dev.env"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	b := servertest.Start(t, server.Options{RootDir: rootB, Env: env, Dev: true})
	varsB := sourceDevEnv(t, filepath.Join(rootB, "dev.env"))
	if varsB["X_TMS_ADMIN_SECRET"] != varsA["X_TMS_ADMIN_SECRET"] || varsB["TMS_DEV_PASSWORD"] != varsA["TMS_DEV_PASSWORD"] {
		t.Errorf("the second root's dev.env holds other secrets than the first's")
	}
	for _, srv := range []*servertest.Server{a, b} {
		if status := get(t, httpClient(), srv.URL+"/v1/tms/client/list", admin); status != 200 {
			t.Errorf("%s: the shared administrator secret gets %d", srv.URL, status)
		}
	}
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func httpClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }
