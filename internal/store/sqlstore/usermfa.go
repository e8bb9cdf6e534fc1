package sqlstore

import (
	"context"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

// UserMFAColumns are the columns of a user_mfa row that ScanUserMFA reads.
const UserMFAColumns = `id, tenant, tms_user_id, expires_at, enabled, created, updated`

// ScanUserMFA reads the columns of a user_mfa row in the order of
// UserMFAColumns.
func ScanUserMFA(s Row, m *store.UserMFA) error {
	return s.Scan(&m.ID, &m.Tenant, &m.TMSUserID, &m.ExpiresAt, &m.Enabled, &m.Created, &m.Updated)
}

func insertUserMFA(m store.UserMFA) Stmt {
	return q(`INSERT INTO user_mfa(tenant, tms_user_id, expires_at, enabled, created, updated) VALUES (?, ?, ?, ?, ?, ?)`,
		m.Tenant, m.TMSUserID, m.ExpiresAt, m.Enabled, m.Created, m.Updated)
}

// CreateUserMFA implements store.UserMFAStore.
func (r Records) CreateUserMFA(ctx context.Context, m store.UserMFA) error {
	_, err := r.write(ctx, "insert user mfa", insertUserMFA(m))
	return err
}

// GetUserMFA implements store.UserMFAStore.
func (r Records) GetUserMFA(ctx context.Context, tenant, user string) (store.UserMFA, error) {
	return one(ctx, r, "get user mfa", q(`SELECT `+UserMFAColumns+` FROM user_mfa WHERE tenant = ? AND tms_user_id = ?`, tenant, user),
		ScanUserMFA)
}

// ListUserMFA implements store.UserMFAStore.
func (r Records) ListUserMFA(ctx context.Context, tenant string) ([]store.UserMFA, error) {
	return all(ctx, r, "list user mfa", q(`SELECT `+UserMFAColumns+` FROM user_mfa WHERE tenant = ? ORDER BY tms_user_id`, tenant),
		ScanUserMFA)
}

// SetUserMFAEnabled implements store.UserMFAStore.
func (r Records) SetUserMFAEnabled(ctx context.Context, tenant, user string, enabled bool, now time.Time) (int64, error) {
	return r.write(ctx, "update user mfa", q(`UPDATE user_mfa SET enabled = ?, updated = ? WHERE tenant = ? AND tms_user_id = ?`,
		enabled, now, tenant, user))
}

// DeleteUserMFA implements store.UserMFAStore.
func (r Records) DeleteUserMFA(ctx context.Context, tenant, user string) (int64, error) {
	return r.remove(ctx, "delete user mfa", q(`DELETE FROM user_mfa WHERE tenant = ? AND tms_user_id = ?`, tenant, user))
}
