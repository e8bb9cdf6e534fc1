// Package pgtest gives tests an isolated PostgreSQL schema on the server
// named by the TMS_TEST_POSTGRES_URL environment variable; without it they
// are skipped, or fail in CI (scripts/pgtest.sh starts a suitable server).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmsproject/tms/internal/envnames"
	"github.com/tmsproject/tms/internal/needtest"
)

// Variable names the environment variable with the connection string of a
// PostgreSQL server where the test user may create schemas.
const Variable = envnames.TestPostgresURL

// callTimeout bounds every statement the helpers run.
const callTimeout = time.Minute

// URL returns the connection string of the test server. When Variable is
// not set it fails the test in CI and skips it elsewhere (needtest).
func URL(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(Variable)
	if dsn == "" {
		needtest.Missing(t, "set "+Variable+" to the DSN of a PostgreSQL server where the user may create schemas (see scripts/pgtest.sh)")
	}
	return dsn
}

// NewSchema creates an empty schema with a random name, drops it with
// everything in it when the test ends, and returns a connection string
// whose search_path points at it. Without a server it does as URL does.
func NewSchema(t testing.TB) string {
	t.Helper()
	base := URL(t)
	suffix := make([]byte, 8)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatalf("random schema name: %v", err)
	}
	schema := "tms_test_" + hex.EncodeToString(suffix)
	Exec(t, base, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { Exec(t, base, `DROP SCHEMA `+schema+` CASCADE`) })
	return WithSearchPath(t, base, schema)
}

// WithSearchPath returns dsn, in URL or key=value form, with its
// search_path set to schema.
func WithSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", Variable, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Connect opens a plain connection, outside any store, that is closed when
// the test ends.
func Connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Exec runs one statement on a connection of its own and fails the test
// when it fails.
func Exec(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
