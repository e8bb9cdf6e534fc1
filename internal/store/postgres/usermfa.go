package postgres

import (
	"context"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

const userMFACols = `id, tenant, tms_user_id, expires_at, enabled, created, updated`

func scanUserMFA(s scanner, m *store.UserMFA) error {
	return s.Scan(&m.ID, &m.Tenant, &m.TMSUserID, &m.ExpiresAt, &m.Enabled, &m.Created, &m.Updated)
}

const insertUserMFA = `INSERT INTO user_mfa(tenant, tms_user_id, expires_at, enabled, created, updated) VALUES ($1, $2, $3, $4, $5, $6)`

func userMFAArgs(m store.UserMFA) []any {
	return []any{m.Tenant, m.TMSUserID, store.Micro(m.ExpiresAt), m.Enabled, store.Micro(m.Created), store.Micro(m.Updated)}
}

// CreateUserMFA implements store.UserMFAStore.
func (db *DB) CreateUserMFA(ctx context.Context, m store.UserMFA) error {
	_, err := db.exec(ctx, "insert user mfa", insertUserMFA, userMFAArgs(m)...)
	return err
}

// GetUserMFA implements store.UserMFAStore.
func (db *DB) GetUserMFA(ctx context.Context, tenant, user string) (store.UserMFA, error) {
	var m store.UserMFA
	err := db.queryOne(ctx, "get user mfa", `SELECT `+userMFACols+` FROM user_mfa WHERE tenant = $1 AND tms_user_id = $2`,
		func(s scanner) error { return scanUserMFA(s, &m) }, tenant, user)
	return m, err
}

// ListUserMFA implements store.UserMFAStore.
func (db *DB) ListUserMFA(ctx context.Context, tenant string) ([]store.UserMFA, error) {
	var out []store.UserMFA
	err := db.queryAll(ctx, "list user mfa", `SELECT `+userMFACols+` FROM user_mfa WHERE tenant = $1 ORDER BY tms_user_id`, func(s scanner) error {
		var m store.UserMFA
		if err := scanUserMFA(s, &m); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	}, tenant)
	return out, err
}

// SetUserMFAEnabled implements store.UserMFAStore.
func (db *DB) SetUserMFAEnabled(ctx context.Context, tenant, user string, enabled bool, now time.Time) (int64, error) {
	return db.exec(ctx, "update user mfa", `UPDATE user_mfa SET enabled = $1, updated = $2 WHERE tenant = $3 AND tms_user_id = $4`,
		enabled, store.Micro(now), tenant, user)
}

// DeleteUserMFA implements store.UserMFAStore.
func (db *DB) DeleteUserMFA(ctx context.Context, tenant, user string) (int64, error) {
	return db.execDelete(ctx, "delete user mfa", `DELETE FROM user_mfa WHERE tenant = $1 AND tms_user_id = $2`, tenant, user)
}
