package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlstore"
)

// Initialize implements store.TenantStore. Servers that start at once on an
// empty database serialize on an advisory lock, so exactly one seeds it.
func (db *DB) Initialize(ctx context.Context, seed store.Seed) (bool, error) {
	var created bool
	err := db.run(ctx, "initialize", store.ErrMissingParent, func(ctx context.Context, conn *pgx.Conn) error {
		created = false
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) // a no-op after Commit
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, initializeLock); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenants)`).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return tx.Commit(ctx)
		}
		if _, err := execBatch(ctx, tx.Conn(), batch(sqlstore.Seed(seed))); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		created = true
		return nil
	})
	return created, err
}
