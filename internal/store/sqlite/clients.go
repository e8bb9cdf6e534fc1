package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

const clientCols = `id, tenant, client_id, app_name, app_version, client_secret, enabled, created, updated`

func scanClient(s scanner, c *store.Client) error {
	var created, updated int64
	if err := s.Scan(&c.ID, &c.Tenant, &c.ClientID, &c.AppName, &c.AppVersion, &c.SecretHash, &c.Enabled, &created, &updated); err != nil {
		return err
	}
	c.Created, c.Updated = fromMicros(created), fromMicros(updated)
	return nil
}

func insertClient(tx *wtx, c store.Client) error {
	_, err := tx.exec("insert client", `INSERT INTO clients(tenant, app_name, app_version, client_id, client_secret, enabled, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Tenant, c.AppName, c.AppVersion, c.ClientID, c.SecretHash, boolInt(c.Enabled), micros(c.Created), micros(c.Updated))
	return err
}

// CreateClient implements store.ClientStore.
func (db *DB) CreateClient(ctx context.Context, c store.Client) error {
	return db.w.do(ctx, func(tx *wtx) error { return insertClient(tx, c) })
}

// GetClient implements store.ClientStore.
func (db *DB) GetClient(ctx context.Context, tenant, clientID string) (store.Client, error) {
	var c store.Client
	err := db.getOne(ctx, "get client", `SELECT `+clientCols+` FROM clients WHERE tenant = ? AND client_id = ?`,
		func(s scanner) error { return scanClient(s, &c) }, tenant, clientID)
	return c, err
}

// ListClients implements store.ClientStore.
func (db *DB) ListClients(ctx context.Context, tenant, onlyClientID string) ([]store.Client, error) {
	query, args := `SELECT `+clientCols+` FROM clients WHERE tenant = ? ORDER BY client_id`, []any{tenant}
	if onlyClientID != "" {
		query, args = `SELECT `+clientCols+` FROM clients WHERE tenant = ? AND client_id = ? ORDER BY client_id`, []any{tenant, onlyClientID}
	}
	var out []store.Client
	err := db.queryRows(ctx, "list clients", query, func(s scanner) error {
		var c store.Client
		if err := scanClient(s, &c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	}, args...)
	return out, err
}

// UpdateClient implements store.ClientStore.
func (db *DB) UpdateClient(ctx context.Context, tenant, clientID string, upd store.ClientUpdate, now time.Time) (int64, error) {
	var n int64
	err := db.w.do(ctx, func(tx *wtx) error {
		n = 0
		if upd.AppVersion != nil {
			c, err := tx.exec("update client", `UPDATE clients SET app_version = ?, updated = ? WHERE tenant = ? AND client_id = ?`,
				*upd.AppVersion, micros(now), tenant, clientID)
			if err != nil {
				return err
			}
			n = max(n, c)
		}
		if upd.Enabled != nil {
			c, err := tx.exec("update client", `UPDATE clients SET enabled = ?, updated = ? WHERE tenant = ? AND client_id = ?`,
				boolInt(*upd.Enabled), micros(now), tenant, clientID)
			if err != nil {
				return err
			}
			n = max(n, c)
		}
		return nil
	})
	return n, err
}

// SetClientSecret implements store.ClientStore.
func (db *DB) SetClientSecret(ctx context.Context, tenant, clientID, secretHash string, now time.Time) (int64, error) {
	var n int64
	err := db.w.do(ctx, func(tx *wtx) (err error) {
		n, err = tx.exec("set client secret", `UPDATE clients SET client_secret = ?, updated = ? WHERE tenant = ? AND client_id = ?`,
			secretHash, micros(now), tenant, clientID)
		return err
	})
	return n, err
}

// DeleteClient implements store.ClientStore.
func (db *DB) DeleteClient(ctx context.Context, tenant, clientID string) (int64, error) {
	var n int64
	err := db.w.do(ctx, func(tx *wtx) (err error) {
		n, err = tx.exec("delete client", `DELETE FROM clients WHERE tenant = ? AND client_id = ?`, tenant, clientID)
		return err
	})
	return n, err
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
