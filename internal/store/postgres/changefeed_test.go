package postgres

import (
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/store/postgres/pgtest"
)

// TestCacheOffWhileFeedDown kills the listening connection and checks that
// the store disables caching until it listens again.
func TestCacheOffWhileFeedDown(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	db := openTest(t, Options{URL: dsn})
	listening := func() bool { _, on := db.Changes().Begin(); return on }
	wait := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for listening() != want {
			if time.Now().After(deadline) {
				t.Fatalf("the change feed does not have listening = %v after 10 s", want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait(true)
	pgtest.Exec(t, pgtest.URL(t), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query = 'LISTEN tms_changes' AND pid <> pg_backend_pid()`)
	wait(false)
	wait(true)
}
