package sqlite

import (
	"context"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

const delegationCols = `id, tenant, client_id, client_user_id, expires_at, created, updated`

func scanDelegation(s scanner, d *store.Delegation) error {
	var exp, created, updated int64
	if err := s.Scan(&d.ID, &d.Tenant, &d.ClientID, &d.ClientUserID, &exp, &created, &updated); err != nil {
		return err
	}
	d.ExpiresAt, d.Created, d.Updated = fromMicros(exp), fromMicros(created), fromMicros(updated)
	return nil
}

func insertDelegation(tx *wtx, d store.Delegation) error {
	_, err := tx.exec("insert delegation", `INSERT INTO delegations(tenant, client_id, client_user_id, expires_at, created, updated)
		VALUES (?, ?, ?, ?, ?, ?)`,
		d.Tenant, d.ClientID, d.ClientUserID, micros(d.ExpiresAt), micros(d.Created), micros(d.Updated))
	return err
}

// CreateDelegation implements store.DelegationStore.
func (db *DB) CreateDelegation(ctx context.Context, d store.Delegation) error {
	return db.w.do(ctx, func(tx *wtx) error { return insertDelegation(tx, d) })
}

// GetDelegation implements store.DelegationStore.
func (db *DB) GetDelegation(ctx context.Context, tenant string, id int64) (store.Delegation, error) {
	var d store.Delegation
	err := db.getOne(ctx, "get delegation", `SELECT `+delegationCols+` FROM delegations WHERE tenant = ? AND id = ?`,
		func(s scanner) error { return scanDelegation(s, &d) }, tenant, id)
	return d, err
}

// FindDelegation implements store.DelegationStore.
func (db *DB) FindDelegation(ctx context.Context, k store.DelegationKey) (store.Delegation, error) {
	var d store.Delegation
	err := db.getOne(ctx, "find delegation", `SELECT `+delegationCols+` FROM delegations
		WHERE tenant = ? AND client_id = ? AND client_user_id = ?`,
		func(s scanner) error { return scanDelegation(s, &d) }, k.Tenant, k.ClientID, k.ClientUserID)
	return d, err
}

// ListDelegations implements store.DelegationStore.
func (db *DB) ListDelegations(ctx context.Context, tenant string) ([]store.Delegation, error) {
	var out []store.Delegation
	err := db.queryRows(ctx, "list delegations", `SELECT `+delegationCols+` FROM delegations WHERE tenant = ?
		ORDER BY client_id, client_user_id`, func(s scanner) error {
		var d store.Delegation
		if err := scanDelegation(s, &d); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	}, tenant)
	return out, err
}

// SetDelegationExpiry implements store.DelegationStore.
func (db *DB) SetDelegationExpiry(ctx context.Context, k store.DelegationKey, expiresAt, now time.Time) (int64, error) {
	return db.writeCount(ctx, "update delegation", `UPDATE delegations SET expires_at = ?, updated = ?
		WHERE tenant = ? AND client_id = ? AND client_user_id = ?`,
		micros(expiresAt), micros(now), k.Tenant, k.ClientID, k.ClientUserID)
}

// DeleteDelegation implements store.DelegationStore.
func (db *DB) DeleteDelegation(ctx context.Context, k store.DelegationKey) (int64, error) {
	return db.writeCount(ctx, "delete delegation", `DELETE FROM delegations WHERE tenant = ? AND client_id = ? AND client_user_id = ?`,
		k.Tenant, k.ClientID, k.ClientUserID)
}
