package sqlstore

import (
	"context"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

const delegationCols = `id, tenant, client_id, client_user_id, expires_at, created, updated`

func scanDelegation(s Row, d *store.Delegation) error {
	return s.Scan(&d.ID, &d.Tenant, &d.ClientID, &d.ClientUserID, &d.ExpiresAt, &d.Created, &d.Updated)
}

func insertDelegation(d store.Delegation) Stmt {
	return q(`INSERT INTO delegations(tenant, client_id, client_user_id, expires_at, created, updated) VALUES (?, ?, ?, ?, ?, ?)`,
		d.Tenant, d.ClientID, d.ClientUserID, d.ExpiresAt, d.Created, d.Updated)
}

// delegationKey is the WHERE clause that names one delegation.
const delegationKey = `tenant = ? AND client_id = ? AND client_user_id = ?`

// CreateDelegation implements store.DelegationStore.
func (r Records) CreateDelegation(ctx context.Context, d store.Delegation) error {
	_, err := r.write(ctx, "insert delegation", insertDelegation(d))
	return err
}

// GetDelegation implements store.DelegationStore.
func (r Records) GetDelegation(ctx context.Context, tenant string, id int64) (store.Delegation, error) {
	return get(ctx, r, "get delegation", id, q(`SELECT `+delegationCols+` FROM delegations WHERE tenant = ? AND id = ?`, tenant, id),
		scanDelegation)
}

// FindDelegation implements store.DelegationStore.
func (r Records) FindDelegation(ctx context.Context, k store.DelegationKey) (store.Delegation, error) {
	return one(ctx, r, "find delegation", q(`SELECT `+delegationCols+` FROM delegations WHERE `+delegationKey,
		k.Tenant, k.ClientID, k.ClientUserID), scanDelegation)
}

// ListDelegations implements store.DelegationStore.
func (r Records) ListDelegations(ctx context.Context, tenant string) ([]store.Delegation, error) {
	return all(ctx, r, "list delegations", q(`SELECT `+delegationCols+` FROM delegations WHERE tenant = ?
		ORDER BY client_id, client_user_id`, tenant), scanDelegation)
}

// ListDelegationsForUser implements store.UserStore.
func (r Records) ListDelegationsForUser(ctx context.Context, tenant, user string) ([]store.Delegation, error) {
	return all(ctx, r, "list user delegations", q(`SELECT `+delegationCols+` FROM delegations
		WHERE tenant = ? AND client_user_id = ? ORDER BY client_id`, tenant, user), scanDelegation)
}

// SetDelegationExpiry implements store.DelegationStore.
func (r Records) SetDelegationExpiry(ctx context.Context, k store.DelegationKey, expiresAt, now time.Time) (int64, error) {
	return r.write(ctx, "update delegation", q(`UPDATE delegations SET expires_at = ?, updated = ? WHERE `+delegationKey,
		expiresAt, now, k.Tenant, k.ClientID, k.ClientUserID))
}

// DeleteDelegation implements store.DelegationStore.
func (r Records) DeleteDelegation(ctx context.Context, k store.DelegationKey) (int64, error) {
	return r.remove(ctx, "delete delegation", q(`DELETE FROM delegations WHERE `+delegationKey, k.Tenant, k.ClientID, k.ClientUserID))
}
