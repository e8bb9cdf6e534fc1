package sqlite

import (
	"context"

	"github.com/tmsproject/tms/internal/store"
)

const hostCols = `id, tenant, host, addr, created, updated`

func scanHost(s scanner, h *store.Host) error {
	var created, updated int64
	if err := s.Scan(&h.ID, &h.Tenant, &h.Host, &h.Addr, &created, &updated); err != nil {
		return err
	}
	h.Created, h.Updated = fromMicros(created), fromMicros(updated)
	return nil
}

// CreateHost implements store.HostStore.
func (db *DB) CreateHost(ctx context.Context, h store.Host) error {
	_, err := db.writeCount(ctx, "insert host", `INSERT INTO hosts(tenant, host, addr, created, updated) VALUES (?, ?, ?, ?, ?)`,
		h.Tenant, h.Host, h.Addr, micros(h.Created), micros(h.Updated))
	return err
}

// GetHost implements store.HostStore.
func (db *DB) GetHost(ctx context.Context, tenant string, id int64) (store.Host, error) {
	var h store.Host
	err := db.getOne(ctx, "get host", `SELECT `+hostCols+` FROM hosts WHERE tenant = ? AND id = ?`,
		func(s scanner) error { return scanHost(s, &h) }, tenant, id)
	return h, err
}

// ListHosts implements store.HostStore.
func (db *DB) ListHosts(ctx context.Context, tenant string) ([]store.Host, error) {
	var out []store.Host
	err := db.queryRows(ctx, "list hosts", `SELECT `+hostCols+` FROM hosts WHERE tenant = ? ORDER BY host, addr`, func(s scanner) error {
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
	return db.writeCount(ctx, "delete host", `DELETE FROM hosts WHERE tenant = ? AND host = ? AND addr = ?`, tenant, host, addr)
}
