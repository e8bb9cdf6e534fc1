package postgres

import (
	"testing"

	"github.com/tmsproject/tms/internal/migrations"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/postgres/pgtest"
)

// TestMigrationAddsCLIClient checks that a database whose tenants were
// created before users and OAuth existed (here: the tables alone, as
// tms_server 0.3.0 leaves them) gets the public client of the command line
// in every tenant.
func TestMigrationAddsCLIClient(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	all, err := migrations.Load(migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, dsn, all[0].SQL)
	pgtest.Exec(t, dsn, `INSERT INTO tenants(tenant, enabled) VALUES ('default', true), ('other', false)`)
	db := openTest(t, Options{URL: dsn})
	ctx := testContext(t)
	for _, tenant := range []string{"default", "other"} {
		c, err := db.GetOAuthClient(ctx, tenant, "tms-cli")
		if err != nil {
			t.Fatalf("tenant %s after the migration: %v", tenant, err)
		}
		if !c.Builtin || !c.Enabled {
			t.Fatalf("tenant %s: %+v", tenant, c)
		}
		row, err := db.GetClient(ctx, tenant, "tms-cli")
		if err != nil || row.SecretHash != store.PublicClientSecret {
			t.Fatalf("tenant %s clients row: %+v %v", tenant, row, err)
		}
	}
}
