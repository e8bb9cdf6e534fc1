package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmsproject/tms/internal/store"
)

const clientCols = `id, tenant, client_id, app_name, app_version, client_secret, enabled, created, updated`

func scanClient(s scanner, c *store.Client) error {
	return s.Scan(&c.ID, &c.Tenant, &c.ClientID, &c.AppName, &c.AppVersion, &c.SecretHash, &c.Enabled, &c.Created, &c.Updated)
}

const insertClient = `INSERT INTO clients(tenant, app_name, app_version, client_id, client_secret, enabled, created, updated)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

func clientArgs(c store.Client) []any {
	return []any{c.Tenant, c.AppName, c.AppVersion, c.ClientID, c.SecretHash, c.Enabled, store.Micro(c.Created), store.Micro(c.Updated)}
}

// CreateClient implements store.ClientStore.
func (db *DB) CreateClient(ctx context.Context, c store.Client) error {
	_, err := db.exec(ctx, "insert client", insertClient, clientArgs(c)...)
	return err
}

// GetClient implements store.ClientStore.
func (db *DB) GetClient(ctx context.Context, tenant, clientID string) (store.Client, error) {
	var c store.Client
	err := db.queryOne(ctx, "get client", `SELECT `+clientCols+` FROM clients WHERE tenant = $1 AND client_id = $2`,
		func(s scanner) error { return scanClient(s, &c) }, tenant, clientID)
	return c, err
}

// ListClients implements store.ClientStore.
func (db *DB) ListClients(ctx context.Context, tenant, onlyClientID string) ([]store.Client, error) {
	query, args := `SELECT `+clientCols+` FROM clients WHERE tenant = $1 ORDER BY client_id`, []any{tenant}
	if onlyClientID != "" {
		query, args = `SELECT `+clientCols+` FROM clients WHERE tenant = $1 AND client_id = $2 ORDER BY client_id`, []any{tenant, onlyClientID}
	}
	var out []store.Client
	err := db.queryAll(ctx, "list clients", query, func(s scanner) error {
		var c store.Client
		if err := scanClient(s, &c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	}, args...)
	return out, err
}

// UpdateClient implements store.ClientStore. Both changes happen in one
// transaction.
func (db *DB) UpdateClient(ctx context.Context, tenant, clientID string, upd store.ClientUpdate, now time.Time) (int64, error) {
	if upd.AppVersion == nil && upd.Enabled == nil {
		return 0, nil
	}
	var changed int64
	err := db.run(ctx, "update client", store.ErrMissingParent, func(ctx context.Context, conn *pgx.Conn) error {
		b := &pgx.Batch{}
		if upd.AppVersion != nil {
			b.Queue(`UPDATE clients SET app_version = $1, updated = $2 WHERE tenant = $3 AND client_id = $4`,
				*upd.AppVersion, store.Micro(now), tenant, clientID)
		}
		if upd.Enabled != nil {
			b.Queue(`UPDATE clients SET enabled = $1, updated = $2 WHERE tenant = $3 AND client_id = $4`,
				*upd.Enabled, store.Micro(now), tenant, clientID)
		}
		counts, err := execBatch(ctx, conn, b)
		changed = 0
		for _, n := range counts {
			changed = max(changed, n)
		}
		return err
	})
	return changed, err
}

// SetClientSecret implements store.ClientStore.
func (db *DB) SetClientSecret(ctx context.Context, tenant, clientID, secretHash string, now time.Time) (int64, error) {
	return db.exec(ctx, "set client secret", `UPDATE clients SET client_secret = $1, updated = $2 WHERE tenant = $3 AND client_id = $4`,
		secretHash, store.Micro(now), tenant, clientID)
}

// DeleteClient implements store.ClientStore.
func (db *DB) DeleteClient(ctx context.Context, tenant, clientID string) (int64, error) {
	return db.execDelete(ctx, "delete client", `DELETE FROM clients WHERE tenant = $1 AND client_id = $2`, tenant, clientID)
}
