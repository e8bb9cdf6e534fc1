package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlstore"
)

const userCols = `id, tenant, username, origin, password_hash, totp_secret, totp_confirmed, totp_last_step, enabled, created, updated`

func scanUser(s scanner, u *store.User) error {
	return s.Scan(&u.ID, &u.Tenant, &u.Username, &u.Origin, &u.PasswordHash, &u.TOTPSecret, &u.TOTPConfirmed, &u.TOTPLastStep,
		&u.Enabled, &u.Created, &u.Updated)
}

// CreateUser implements store.UserStore.
func (db *DB) CreateUser(ctx context.Context, u store.User) error {
	_, err := db.exec(ctx, "insert user", `INSERT INTO users(tenant, username, origin, password_hash, totp_secret, totp_confirmed,
		totp_last_step, enabled, created, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		u.Tenant, u.Username, string(u.Origin.Stored()), u.PasswordHash, u.TOTPSecret, u.TOTPConfirmed, u.TOTPLastStep, u.Enabled,
		store.Micro(u.Created), store.Micro(u.Updated))
	return err
}

// GetUser implements store.UserStore.
func (db *DB) GetUser(ctx context.Context, tenant, username string) (store.User, error) {
	var u store.User
	err := db.queryOne(ctx, "get user", `SELECT `+userCols+` FROM users WHERE tenant = $1 AND username = $2`,
		func(s scanner) error { return scanUser(s, &u) }, tenant, username)
	return u, err
}

// ListUsers implements store.UserStore.
func (db *DB) ListUsers(ctx context.Context, tenant string) ([]store.User, error) {
	var out []store.User
	err := db.queryAll(ctx, "list users", `SELECT `+userCols+` FROM users WHERE tenant = $1 ORDER BY username`, sqlstore.Collect(&out, scanUser), tenant)
	return out, err
}

// UpdateUser implements store.UserStore. The changes travel as one batch,
// which runs as one transaction.
func (db *DB) UpdateUser(ctx context.Context, tenant, username string, upd store.UserUpdate, now time.Time) (int64, error) {
	build := func() *pgx.Batch {
		b := &pgx.Batch{}
		if upd.Enabled != nil {
			b.Queue(`UPDATE users SET enabled = $1, updated = $2 WHERE tenant = $3 AND username = $4`,
				*upd.Enabled, store.Micro(now), tenant, username)
		}
		if upd.PasswordHash != nil {
			b.Queue(`UPDATE users SET password_hash = $1, updated = $2 WHERE tenant = $3 AND username = $4`,
				*upd.PasswordHash, store.Micro(now), tenant, username)
		}
		if upd.TOTP != nil {
			b.Queue(`UPDATE users SET totp_secret = $1, totp_confirmed = $2, totp_last_step = 0, updated = $3
				WHERE tenant = $4 AND username = $5`, upd.TOTP.Secret, upd.TOTP.Confirmed, store.Micro(now), tenant, username)
		}
		return b
	}
	if build().Len() == 0 {
		return 0, nil
	}
	var changed int64
	err := db.run(ctx, "update user", store.ErrMissingParent, func(ctx context.Context, conn *pgx.Conn) error {
		counts, err := execBatch(ctx, conn, build())
		changed = 0
		for _, n := range counts {
			changed = max(changed, n)
		}
		return err
	})
	return changed, err
}

// StartTOTPEnrollment implements store.UserStore.
func (db *DB) StartTOTPEnrollment(ctx context.Context, tenant, username, secret string, now time.Time) (store.User, error) {
	var u store.User
	err := db.changeThenRead(ctx, "start totp enrollment",
		func(b *pgx.Batch) {
			b.Queue(`UPDATE users SET totp_secret = $3, totp_confirmed = false, totp_last_step = 0, updated = $4
				WHERE tenant = $1 AND username = $2 AND totp_secret = ''`, tenant, username, secret, store.Micro(now))
			b.Queue(`SELECT `+userCols+` FROM users WHERE tenant = $1 AND username = $2`, tenant, username)
		},
		func(s scanner) error { return scanUser(s, &u) })
	return u, err
}

// changeThenRead sends the statements queue adds as one batch (one round
// trip, one transaction) and scans the single row of the last one, which
// must be a query. Under READ COMMITTED each statement of the batch reads
// the rows committed before it starts, so the final read sees what a
// concurrent transaction that the change waited for has committed.
func (db *DB) changeThenRead(ctx context.Context, op string, queue func(*pgx.Batch), scan func(scanner) error) error {
	return db.run(ctx, op, store.ErrMissingParent, func(ctx context.Context, conn *pgx.Conn) error {
		b := &pgx.Batch{}
		queue(b)
		results := conn.SendBatch(ctx, b)
		defer results.Close()
		for range b.Len() - 1 {
			if _, err := results.Exec(); err != nil {
				return err
			}
		}
		if err := scan(results.QueryRow()); err != nil {
			return err
		}
		return results.Close()
	})
}

// UseTOTPStep implements store.UserStore.
func (db *DB) UseTOTPStep(ctx context.Context, tenant, username, secret string, step int64, now time.Time) (bool, error) {
	n, err := db.exec(ctx, "use totp step", `UPDATE users SET totp_last_step = $1, totp_confirmed = true, updated = $2
		WHERE tenant = $3 AND username = $4 AND totp_secret = $5 AND totp_secret <> '' AND totp_last_step < $1`,
		step, store.Micro(now), tenant, username, secret)
	return n == 1, err
}

// DeleteUser implements store.UserStore.
func (db *DB) DeleteUser(ctx context.Context, tenant, username string) (int64, error) {
	return db.execDelete(ctx, "delete user", `DELETE FROM users WHERE tenant = $1 AND username = $2`, tenant, username)
}

// RefreshUserMFA implements store.UserStore.
func (db *DB) RefreshUserMFA(ctx context.Context, tenant, user string, expiresAt, now time.Time) (store.UserMFA, error) {
	var m store.UserMFA
	err := db.changeThenRead(ctx, "refresh user mfa",
		func(b *pgx.Batch) {
			b.Queue(`INSERT INTO user_mfa(tenant, tms_user_id, expires_at, enabled, created, updated)
				VALUES ($1, $2, $3, true, $4, $4)
				ON CONFLICT (tenant, tms_user_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, updated = EXCLUDED.updated
				WHERE user_mfa.expires_at < EXCLUDED.expires_at`, tenant, user, store.Micro(expiresAt), store.Micro(now))
			b.Queue(`SELECT `+sqlstore.UserMFAColumns+` FROM user_mfa WHERE tenant = $1 AND tms_user_id = $2`, tenant, user)
		},
		func(s scanner) error { return sqlstore.ScanUserMFA(s, &m) })
	return m, err
}

// ListPubkeysForUser implements store.UserStore.
func (db *DB) ListPubkeysForUser(ctx context.Context, tenant, user string) ([]store.Pubkey, error) {
	var out []store.Pubkey
	err := db.queryAll(ctx, "list user keys", `SELECT `+pubkeyCols+` FROM pubkeys p WHERE p.tenant = $1 AND p.client_user_id = $2
		ORDER BY p.host, p.host_account, p.id`, sqlstore.Collect(&out, scanPubkey), tenant, user)
	return out, err
}

// DeletePubkeyForUser implements store.UserStore.
func (db *DB) DeletePubkeyForUser(ctx context.Context, tenant, user, host, fingerprint string) (int64, error) {
	return db.execDelete(ctx, "delete user key", `DELETE FROM pubkeys
		WHERE public_key_fingerprint = $1 AND host = $2 AND tenant = $3 AND client_user_id = $4`, fingerprint, host, tenant, user)
}
