package sqlstore

import (
	"context"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

const userHostCols = `id, tenant, tms_user_id, host, host_account, expires_at, created, updated`

func scanUserHost(s Row, h *store.UserHost) error {
	return s.Scan(&h.ID, &h.Tenant, &h.TMSUserID, &h.Host, &h.HostAccount, &h.ExpiresAt, &h.Created, &h.Updated)
}

func insertUserHost(h store.UserHost) Stmt {
	return q(`INSERT INTO user_hosts(tenant, tms_user_id, host, host_account, expires_at, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, h.Tenant, h.TMSUserID, h.Host, h.HostAccount, h.ExpiresAt, h.Created, h.Updated)
}

// userHostKey is the WHERE clause that names one mapping, with its arguments.
const userHostKey = `tenant = ? AND tms_user_id = ? AND host = ? AND host_account = ?`

func userHostKeyArgs(k store.UserHostKey) []any {
	return []any{k.Tenant, k.TMSUserID, k.Host, k.HostAccount}
}

// CreateUserHost implements store.UserHostStore.
func (r Records) CreateUserHost(ctx context.Context, h store.UserHost) error {
	_, err := r.write(ctx, "insert user host", insertUserHost(h))
	return err
}

// GetUserHost implements store.UserHostStore.
func (r Records) GetUserHost(ctx context.Context, tenant string, id int64) (store.UserHost, error) {
	return get(ctx, r, "get user host", id, q(`SELECT `+userHostCols+` FROM user_hosts WHERE tenant = ? AND id = ?`, tenant, id),
		scanUserHost)
}

// FindUserHost implements store.UserHostStore.
func (r Records) FindUserHost(ctx context.Context, k store.UserHostKey) (store.UserHost, error) {
	return one(ctx, r, "find user host", q(`SELECT `+userHostCols+` FROM user_hosts WHERE `+userHostKey, userHostKeyArgs(k)...),
		scanUserHost)
}

// ListUserHosts implements store.UserHostStore.
func (r Records) ListUserHosts(ctx context.Context, tenant string) ([]store.UserHost, error) {
	return all(ctx, r, "list user hosts", q(`SELECT `+userHostCols+` FROM user_hosts WHERE tenant = ?
		ORDER BY tms_user_id, host, host_account`, tenant), scanUserHost)
}

// SetUserHostExpiry implements store.UserHostStore.
func (r Records) SetUserHostExpiry(ctx context.Context, k store.UserHostKey, expiresAt, now time.Time) (int64, error) {
	return r.write(ctx, "update user host", q(`UPDATE user_hosts SET expires_at = ?, updated = ? WHERE `+userHostKey,
		append([]any{expiresAt, now}, userHostKeyArgs(k)...)...))
}

// DeleteUserHost implements store.UserHostStore.
func (r Records) DeleteUserHost(ctx context.Context, k store.UserHostKey) (int64, error) {
	return r.remove(ctx, "delete user host", q(`DELETE FROM user_hosts WHERE `+userHostKey, userHostKeyArgs(k)...))
}
