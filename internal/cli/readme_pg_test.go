package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/needtest"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/postgres"
	"github.com/tmsproject/tms/internal/store/postgres/pgtest"
)

// TestReadmePostgresBackup runs the README's PostgreSQL backup and restore
// commands as written, against a database of their own, with one change
// made between the dump and the restore: the restore must undo it.
func TestReadmePostgresBackup(t *testing.T) {
	base := pgtest.URL(t)
	for _, tool := range []string{"bash", "pg_dump", "pg_restore", "psql"} {
		if _, err := exec.LookPath(tool); err != nil {
			needtest.Missing(t, tool+" is not installed (Debian: postgresql-client)")
		}
	}
	lines := strings.Split(strings.TrimSpace(readmeBlock(t, "pg_dump --format=custom")), "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "pg_restore ") })
	if i < 0 {
		t.Fatalf("the README's PostgreSQL backup example has no pg_restore line:\n%s", strings.Join(lines, "\n"))
	}
	between := `psql --quiet -v ON_ERROR_STOP=1 --dbname="$TMS_DATABASE_URL" -c "DELETE FROM tenants WHERE tenant = 'readme'"`
	script := strings.Join(slices.Concat(lines[:i], []string{between}, lines[i:]), "\n")

	dsn := newDatabase(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, postgres.Options{URL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err = db.CreateTenant(ctx, store.Seed{Tenants: []store.Tenant{{Name: "readme", Enabled: true, Created: now, Updated: now}}})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMS_DATABASE_URL="+dsn)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's commands failed: %v\n%s\n%s", err, script, out)
	}
	if dumps, _ := filepath.Glob(filepath.Join(dir, "tms-*.dump")); len(dumps) != 1 {
		t.Fatalf("the README's pg_dump wrote %v, want one tms-<date>.dump", dumps)
	}
	var n int
	if err := pgtest.Connect(t, dsn).QueryRow(ctx, `SELECT count(*) FROM tenants WHERE tenant = 'readme'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("after the README's restore the dumped tenant is there %d times, want once", n)
	}
}

// readmeBlock returns the fenced code block of README.md that contains
// marker.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for i, block := range strings.Split(string(raw), "```") {
		if i%2 == 1 && strings.Contains(block, marker) {
			_, body, _ := strings.Cut(block, "\n") // the info string
			return body
		}
	}
	t.Fatalf("README.md has no code block with %q", marker)
	return ""
}

// newDatabase creates an empty database on the test server, dropped when
// the test ends, and returns its connection string.
func newDatabase(t *testing.T, base string) string {
	t.Helper()
	suffix := make([]byte, 8)
	rand.Read(suffix)
	name := "tms_readme_" + hex.EncodeToString(suffix)
	pgtest.Exec(t, base, `CREATE DATABASE `+name)
	t.Cleanup(func() { pgtest.Exec(t, base, `DROP DATABASE `+name+` WITH (FORCE)`) })
	if !strings.HasPrefix(base, "postgres://") && !strings.HasPrefix(base, "postgresql://") {
		return base + " dbname=" + name
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
