package sqlstore

import (
	"context"

	"github.com/tmsproject/tms/internal/store"
)

const hostCols = `id, tenant, host, addr, created, updated`

func scanHost(s Row, h *store.Host) error {
	return s.Scan(&h.ID, &h.Tenant, &h.Host, &h.Addr, &h.Created, &h.Updated)
}

// CreateHost implements store.HostStore.
func (r Records) CreateHost(ctx context.Context, h store.Host) error {
	_, err := r.write(ctx, "insert host", q(`INSERT INTO hosts(tenant, host, addr, created, updated) VALUES (?, ?, ?, ?, ?)`,
		h.Tenant, h.Host, h.Addr, h.Created, h.Updated))
	return err
}

// GetHost implements store.HostStore.
func (r Records) GetHost(ctx context.Context, tenant string, id int64) (store.Host, error) {
	return get(ctx, r, "get host", id, q(`SELECT `+hostCols+` FROM hosts WHERE tenant = ? AND id = ?`, tenant, id), scanHost)
}

// ListHosts implements store.HostStore.
func (r Records) ListHosts(ctx context.Context, tenant string) ([]store.Host, error) {
	return all(ctx, r, "list hosts", q(`SELECT `+hostCols+` FROM hosts WHERE tenant = ? ORDER BY host, addr`, tenant), scanHost)
}

// DeleteHost implements store.HostStore.
func (r Records) DeleteHost(ctx context.Context, tenant, host, addr string) (int64, error) {
	return r.remove(ctx, "delete host", q(`DELETE FROM hosts WHERE tenant = ? AND host = ? AND addr = ?`, tenant, host, addr))
}
