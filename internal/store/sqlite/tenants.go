package sqlite

import (
	"context"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlstore"
)

// Initialize implements store.TenantStore.
func (db *DB) Initialize(ctx context.Context, seed store.Seed) (bool, error) {
	created := false
	err := db.w.do(ctx, func(tx *wtx) error {
		var n int
		if err := tx.queryRow("count tenants", `SELECT COUNT(*) FROM tenants`, func(s scanner) error { return s.Scan(&n) }); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		created = true
		for _, s := range sqlstore.Seed(seed) {
			if _, err := tx.exec("initialize", s.Query, args(s.Args)...); err != nil {
				return err
			}
		}
		return nil
	})
	return created, err
}
