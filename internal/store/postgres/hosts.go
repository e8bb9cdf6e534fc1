package postgres

import (
	"context"

	"github.com/tmsproject/tms/internal/store"
)

const hostCols = `id, tenant, host, addr, created, updated`

func scanHost(s scanner, h *store.Host) error {
	return s.Scan(&h.ID, &h.Tenant, &h.Host, &h.Addr, &h.Created, &h.Updated)
}

// CreateHost implements store.HostStore.
func (db *DB) CreateHost(ctx context.Context, h store.Host) error {
	_, err := db.exec(ctx, "insert host", `INSERT INTO hosts(tenant, host, addr, created, updated) VALUES ($1, $2, $3, $4, $5)`,
		h.Tenant, h.Host, h.Addr, store.Micro(h.Created), store.Micro(h.Updated))
	return err
}

// GetHost implements store.HostStore.
func (db *DB) GetHost(ctx context.Context, tenant string, id int64) (store.Host, error) {
	if err := idNotFound("get host", id); err != nil {
		return store.Host{}, err
	}
	var h store.Host
	err := db.queryOne(ctx, "get host", `SELECT `+hostCols+` FROM hosts WHERE tenant = $1 AND id = $2`,
		func(s scanner) error { return scanHost(s, &h) }, tenant, id)
	return h, err
}

// ListHosts implements store.HostStore.
func (db *DB) ListHosts(ctx context.Context, tenant string) ([]store.Host, error) {
	var out []store.Host
	err := db.queryAll(ctx, "list hosts", `SELECT `+hostCols+` FROM hosts WHERE tenant = $1 ORDER BY host, addr`, func(s scanner) error {
		var h store.Host
		if err := scanHost(s, &h); err != nil {
			return err
		}
		out = append(out, h)
		return nil
	}, tenant)
	return out, err
}

// DeleteHost implements store.HostStore.
func (db *DB) DeleteHost(ctx context.Context, tenant, host, addr string) (int64, error) {
	return db.execDelete(ctx, "delete host", `DELETE FROM hosts WHERE tenant = $1 AND host = $2 AND addr = $3`, tenant, host, addr)
}
