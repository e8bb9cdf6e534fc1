package postgres

import (
	"fmt"
	"testing"

	"github.com/tmsproject/tms/internal/clocktest"
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
		clocktest.Eventually(t, fmt.Sprintf("the change feed has listening = %v", want), func() bool { return listening() == want })
	}
	wait(true)
	pgtest.Exec(t, pgtest.URL(t), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query = 'LISTEN tms_changes' AND pid <> pg_backend_pid()`)
	wait(false)
	wait(true)
}
