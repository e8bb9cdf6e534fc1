package sqlite

import (
	"context"
	"time"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlstore"
)

const userCols = `id, tenant, username, origin, password_hash, totp_secret, totp_confirmed, totp_last_step, enabled, created, updated`

func scanUser(s scanner, u *store.User) error {
	var created, updated int64
	if err := s.Scan(&u.ID, &u.Tenant, &u.Username, &u.Origin, &u.PasswordHash, &u.TOTPSecret, &u.TOTPConfirmed, &u.TOTPLastStep,
		&u.Enabled, &created, &updated); err != nil {
		return err
	}
	u.Created, u.Updated = fromMicros(created), fromMicros(updated)
	return nil
}

// CreateUser implements store.UserStore.
func (db *DB) CreateUser(ctx context.Context, u store.User) error {
	_, err := db.writeCount(ctx, "insert user", `INSERT INTO users(tenant, username, origin, password_hash, totp_secret, totp_confirmed,
		totp_last_step, enabled, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.Tenant, u.Username, string(u.Origin.Stored()), u.PasswordHash, u.TOTPSecret, boolInt(u.TOTPConfirmed), u.TOTPLastStep, boolInt(u.Enabled),
		micros(u.Created), micros(u.Updated))
	return err
}

// GetUser implements store.UserStore.
func (db *DB) GetUser(ctx context.Context, tenant, username string) (store.User, error) {
	var u store.User
	err := db.getOne(ctx, "get user", `SELECT `+userCols+` FROM users WHERE tenant = ? AND username = ?`,
		func(s scanner) error { return scanUser(s, &u) }, tenant, username)
	return u, err
}

// ListUsers implements store.UserStore.
func (db *DB) ListUsers(ctx context.Context, tenant string) ([]store.User, error) {
	var out []store.User
	err := db.queryRows(ctx, "list users", `SELECT `+userCols+` FROM users WHERE tenant = ? ORDER BY username`, sqlstore.Collect(&out, scanUser), tenant)
	return out, err
}

// UpdateUser implements store.UserStore.
func (db *DB) UpdateUser(ctx context.Context, tenant, username string, upd store.UserUpdate, now time.Time) (int64, error) {
	var n int64
	err := db.w.do(ctx, func(tx *wtx) error {
		n = 0
		change := func(query string, args ...any) error {
			c, err := tx.exec("update user", query, append(args, micros(now), tenant, username)...)
			n = max(n, c)
			return err
		}
		if upd.Enabled != nil {
			if err := change(`UPDATE users SET enabled = ?, updated = ? WHERE tenant = ? AND username = ?`, boolInt(*upd.Enabled)); err != nil {
				return err
			}
		}
		if upd.PasswordHash != nil {
			if err := change(`UPDATE users SET password_hash = ?, updated = ? WHERE tenant = ? AND username = ?`, *upd.PasswordHash); err != nil {
				return err
			}
		}
		if upd.TOTP != nil {
			if err := change(`UPDATE users SET totp_secret = ?, totp_confirmed = ?, totp_last_step = 0, updated = ? WHERE tenant = ? AND username = ?`,
				upd.TOTP.Secret, boolInt(upd.TOTP.Confirmed)); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// StartTOTPEnrollment implements store.UserStore.
func (db *DB) StartTOTPEnrollment(ctx context.Context, tenant, username, secret string, now time.Time) (store.User, error) {
	var u store.User
	err := db.w.do(ctx, func(tx *wtx) error {
		if _, err := tx.exec("start totp enrollment", `UPDATE users SET totp_secret = ?, totp_confirmed = 0, totp_last_step = 0, updated = ?
			WHERE tenant = ? AND username = ? AND totp_secret = ''`, secret, micros(now), tenant, username); err != nil {
			return err
		}
		return tx.queryRow("get user", `SELECT `+userCols+` FROM users WHERE tenant = ? AND username = ?`,
			func(s scanner) error { return scanUser(s, &u) }, tenant, username)
	})
	return u, err
}

// UseTOTPStep implements store.UserStore.
func (db *DB) UseTOTPStep(ctx context.Context, tenant, username, secret string, step int64, now time.Time) (bool, error) {
	n, err := db.writeCount(ctx, "use totp step", `UPDATE users SET totp_last_step = ?, totp_confirmed = 1, updated = ?
		WHERE tenant = ? AND username = ? AND totp_secret = ? AND totp_secret <> '' AND totp_last_step < ?`,
		step, micros(now), tenant, username, secret, step)
	return n == 1, err
}

// DeleteUser implements store.UserStore.
func (db *DB) DeleteUser(ctx context.Context, tenant, username string) (int64, error) {
	return db.writeCount(ctx, "delete user", `DELETE FROM users WHERE tenant = ? AND username = ?`, tenant, username)
}

// RefreshUserMFA implements store.UserStore. The existing record is
// updated by an UPDATE statement, not an upsert, so that the read cache
// sees the change.
func (db *DB) RefreshUserMFA(ctx context.Context, tenant, user string, expiresAt, now time.Time) (store.UserMFA, error) {
	var m store.UserMFA
	err := db.w.do(ctx, func(tx *wtx) error {
		n, err := tx.exec("refresh user mfa", `UPDATE user_mfa SET expires_at = ?, updated = ?
			WHERE tenant = ? AND tms_user_id = ? AND expires_at < ?`, micros(expiresAt), micros(now), tenant, user, micros(expiresAt))
		if err != nil {
			return err
		}
		if n == 0 {
			if _, err := tx.exec("create user mfa", `INSERT INTO user_mfa(tenant, tms_user_id, expires_at, enabled, created, updated)
				VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING`, tenant, user, micros(expiresAt), micros(now), micros(now)); err != nil {
				return err
			}
		}
		return tx.queryRow("get user mfa", `SELECT `+sqlstore.UserMFAColumns+` FROM user_mfa WHERE tenant = ? AND tms_user_id = ?`,
			timeScan(func(s sqlstore.Row) error { return sqlstore.ScanUserMFA(s, &m) }), tenant, user)
	})
	return m, err
}

// ListPubkeysForUser implements store.UserStore.
func (db *DB) ListPubkeysForUser(ctx context.Context, tenant, user string) ([]store.Pubkey, error) {
	var out []store.Pubkey
	err := db.queryRows(ctx, "list user keys", `SELECT `+pubkeyCols+` FROM pubkeys p WHERE p.tenant = ? AND p.client_user_id = ?
		ORDER BY p.host, p.host_account, p.id`, sqlstore.Collect(&out, scanPubkey), tenant, user)
	return out, err
}

// DeletePubkeyForUser implements store.UserStore.
func (db *DB) DeletePubkeyForUser(ctx context.Context, tenant, user, host, fingerprint string) (int64, error) {
	return db.writeCount(ctx, "delete user key", `DELETE FROM pubkeys
		WHERE public_key_fingerprint = ? AND host = ? AND tenant = ? AND client_user_id = ?`, fingerprint, host, tenant, user)
}
