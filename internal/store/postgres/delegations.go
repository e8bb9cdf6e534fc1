package postgres

import (
	"context"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

const delegationCols = `id, tenant, client_id, client_user_id, expires_at, created, updated`

func scanDelegation(s scanner, d *store.Delegation) error {
	return s.Scan(&d.ID, &d.Tenant, &d.ClientID, &d.ClientUserID, &d.ExpiresAt, &d.Created, &d.Updated)
}

const insertDelegation = `INSERT INTO delegations(tenant, client_id, client_user_id, expires_at, created, updated)
	VALUES ($1, $2, $3, $4, $5, $6)`

func delegationArgs(d store.Delegation) []any {
	return []any{d.Tenant, d.ClientID, d.ClientUserID, store.Micro(d.ExpiresAt), store.Micro(d.Created), store.Micro(d.Updated)}
}

// CreateDelegation implements store.DelegationStore.
func (db *DB) CreateDelegation(ctx context.Context, d store.Delegation) error {
	_, err := db.exec(ctx, "insert delegation", insertDelegation, delegationArgs(d)...)
	return err
}

// GetDelegation implements store.DelegationStore.
func (db *DB) GetDelegation(ctx context.Context, tenant string, id int64) (store.Delegation, error) {
	if err := idNotFound("get delegation", id); err != nil {
		return store.Delegation{}, err
	}
	var d store.Delegation
	err := db.queryOne(ctx, "get delegation", `SELECT `+delegationCols+` FROM delegations WHERE tenant = $1 AND id = $2`,
		func(s scanner) error { return scanDelegation(s, &d) }, tenant, id)
	return d, err
}

// FindDelegation implements store.DelegationStore.
func (db *DB) FindDelegation(ctx context.Context, k store.DelegationKey) (store.Delegation, error) {
	var d store.Delegation
	err := db.queryOne(ctx, "find delegation", `SELECT `+delegationCols+` FROM delegations
		WHERE tenant = $1 AND client_id = $2 AND client_user_id = $3`,
		func(s scanner) error { return scanDelegation(s, &d) }, k.Tenant, k.ClientID, k.ClientUserID)
	return d, err
}

// ListDelegations implements store.DelegationStore.
func (db *DB) ListDelegations(ctx context.Context, tenant string) ([]store.Delegation, error) {
	var out []store.Delegation
	err := db.queryAll(ctx, "list delegations", `SELECT `+delegationCols+` FROM delegations WHERE tenant = $1
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
	return db.exec(ctx, "update delegation", `UPDATE delegations SET expires_at = $1, updated = $2
		WHERE tenant = $3 AND client_id = $4 AND client_user_id = $5`,
		store.Micro(expiresAt), store.Micro(now), k.Tenant, k.ClientID, k.ClientUserID)
}

// DeleteDelegation implements store.DelegationStore.
func (db *DB) DeleteDelegation(ctx context.Context, k store.DelegationKey) (int64, error) {
	return db.execDelete(ctx, "delete delegation", `DELETE FROM delegations WHERE tenant = $1 AND client_id = $2 AND client_user_id = $3`,
		k.Tenant, k.ClientID, k.ClientUserID)
}
