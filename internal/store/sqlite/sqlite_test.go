package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/readcache"
	"github.com/tmsproject/tms/internal/store/sqlite"
	"github.com/tmsproject/tms/internal/store/storetest"
)

func open(t *testing.T) *sqlite.DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "tms.db"))
}

func openAt(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: path})
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

// TestConformance runs the conformance suite on the store as the server
// uses it, under the read cache.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return readcache.Wrap(open(t), 1000) })
}

// TestSharedDatabase runs the read cache cases of stores that share a
// database file, as two processes would.
func TestSharedDatabase(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) func(t *testing.T) readcache.Source {
		path := filepath.Join(t.TempDir(), "tms.db")
		return func(t *testing.T) readcache.Source { return openAt(t, path) }
	})
}
