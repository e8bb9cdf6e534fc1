package sqlite

import (
	"context"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

const userMFACols = `id, tenant, tms_user_id, expires_at, enabled, created, updated`

func scanUserMFA(s scanner, m *store.UserMFA) error {
	var exp, created, updated int64
	if err := s.Scan(&m.ID, &m.Tenant, &m.TMSUserID, &exp, &m.Enabled, &created, &updated); err != nil {
		return err
	}
	m.ExpiresAt, m.Created, m.Updated = fromMicros(exp), fromMicros(created), fromMicros(updated)
	return nil
}

func insertUserMFA(tx *wtx, m store.UserMFA) error {
	_, err := tx.exec("insert user mfa", `INSERT INTO user_mfa(tenant, tms_user_id, expires_at, enabled, created, updated) VALUES (?, ?, ?, ?, ?, ?)`,
		m.Tenant, m.TMSUserID, micros(m.ExpiresAt), boolInt(m.Enabled), micros(m.Created), micros(m.Updated))
	return err
}

// CreateUserMFA implements store.UserMFAStore.
func (db *DB) CreateUserMFA(ctx context.Context, m store.UserMFA) error {
	return db.w.do(ctx, func(tx *wtx) error { return insertUserMFA(tx, m) })
}

// GetUserMFA implements store.UserMFAStore.
func (db *DB) GetUserMFA(ctx context.Context, tenant, user string) (store.UserMFA, error) {
	var m store.UserMFA
	err := db.getOne(ctx, "get user mfa", `SELECT `+userMFACols+` FROM user_mfa WHERE tenant = ? AND tms_user_id = ?`,
		func(s scanner) error { return scanUserMFA(s, &m) }, tenant, user)
	return m, err
}

// ListUserMFA implements store.UserMFAStore.
func (db *DB) ListUserMFA(ctx context.Context, tenant string) ([]store.UserMFA, error) {
	var out []store.UserMFA
	err := db.queryRows(ctx, "list user mfa", `SELECT `+userMFACols+` FROM user_mfa WHERE tenant = ? ORDER BY tms_user_id`, func(s scanner) error {
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
	return db.writeCount(ctx, "update user mfa", `UPDATE user_mfa SET enabled = ?, updated = ? WHERE tenant = ? AND tms_user_id = ?`,
		boolInt(enabled), micros(now), tenant, user)
}

// DeleteUserMFA implements store.UserMFAStore.
func (db *DB) DeleteUserMFA(ctx context.Context, tenant, user string) (int64, error) {
	return db.writeCount(ctx, "delete user mfa", `DELETE FROM user_mfa WHERE tenant = ? AND tms_user_id = ?`, tenant, user)
}

// writeCount runs one write statement and returns the rows it changed.
func (db *DB) writeCount(ctx context.Context, op, query string, args ...any) (int64, error) {
	var n int64
	err := db.w.do(ctx, func(tx *wtx) (err error) {
		n, err = tx.exec(op, query, args...)
		return err
	})
	return n, err
}
