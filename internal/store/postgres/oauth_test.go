package postgres

import (
	"fmt"
	"testing"

	"github.com/tmsproject/tms/internal/migrations"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/postgres/pgtest"
	"github.com/tmsproject/tms/internal/store/storetest"
)

// TestMigrations runs the migration cases of the conformance suite on a
// schema made by the first migration alone.
func TestMigrations(t *testing.T) {
	pgtest.URL(t)
	storetest.RunMigrations(t, func(t *testing.T, tenants []store.Tenant) store.Store {
		dsn := pgtest.NewSchema(t)
		all, err := migrations.Load(migrations.Postgres)
		if err != nil {
			t.Fatal(err)
		}
		pgtest.Exec(t, dsn, all[0].SQL)
		for _, tn := range tenants {
			pgtest.Exec(t, dsn, fmt.Sprintf(`INSERT INTO tenants(tenant, enabled) VALUES ('%s', %t)`, tn.Name, tn.Enabled))
		}
		return openTest(t, Options{URL: dsn})
	})
}
