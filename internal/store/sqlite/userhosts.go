package sqlite

import (
	"context"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

const userHostCols = `id, tenant, tms_user_id, host, host_account, expires_at, created, updated`

func scanUserHost(s scanner, h *store.UserHost) error {
	var exp, created, updated int64
	if err := s.Scan(&h.ID, &h.Tenant, &h.TMSUserID, &h.Host, &h.HostAccount, &exp, &created, &updated); err != nil {
		return err
	}
	h.ExpiresAt, h.Created, h.Updated = fromMicros(exp), fromMicros(created), fromMicros(updated)
	return nil
}

func insertUserHost(tx *wtx, h store.UserHost) error {
	_, err := tx.exec("insert user host", `INSERT INTO user_hosts(tenant, tms_user_id, host, host_account, expires_at, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		h.Tenant, h.TMSUserID, h.Host, h.HostAccount, micros(h.ExpiresAt), micros(h.Created), micros(h.Updated))
	return err
}

// CreateUserHost implements store.UserHostStore.
func (db *DB) CreateUserHost(ctx context.Context, h store.UserHost) error {
	return db.w.do(ctx, func(tx *wtx) error { return insertUserHost(tx, h) })
}

// GetUserHost implements store.UserHostStore.
func (db *DB) GetUserHost(ctx context.Context, tenant string, id int64) (store.UserHost, error) {
	var h store.UserHost
	err := db.getOne(ctx, "get user host", `SELECT `+userHostCols+` FROM user_hosts WHERE tenant = ? AND id = ?`,
		func(s scanner) error { return scanUserHost(s, &h) }, tenant, id)
	return h, err
}

// FindUserHost implements store.UserHostStore.
func (db *DB) FindUserHost(ctx context.Context, k store.UserHostKey) (store.UserHost, error) {
	var h store.UserHost
	err := db.getOne(ctx, "find user host", `SELECT `+userHostCols+` FROM user_hosts
		WHERE tenant = ? AND tms_user_id = ? AND host = ? AND host_account = ?`,
		func(s scanner) error { return scanUserHost(s, &h) }, k.Tenant, k.TMSUserID, k.Host, k.HostAccount)
	return h, err
}

// ListUserHosts implements store.UserHostStore.
func (db *DB) ListUserHosts(ctx context.Context, tenant string) ([]store.UserHost, error) {
	var out []store.UserHost
	err := db.queryRows(ctx, "list user hosts", `SELECT `+userHostCols+` FROM user_hosts WHERE tenant = ?
		ORDER BY tms_user_id, host, host_account`, func(s scanner) error {
		var h store.UserHost
		if err := scanUserHost(s, &h); err != nil {
			return err
		}
		out = append(out, h)
		return nil
	}, tenant)
	return out, err
}

// SetUserHostExpiry implements store.UserHostStore.
func (db *DB) SetUserHostExpiry(ctx context.Context, k store.UserHostKey, expiresAt, now time.Time) (int64, error) {
	return db.writeCount(ctx, "update user host", `UPDATE user_hosts SET expires_at = ?, updated = ?
		WHERE tenant = ? AND tms_user_id = ? AND host = ? AND host_account = ?`,
		micros(expiresAt), micros(now), k.Tenant, k.TMSUserID, k.Host, k.HostAccount)
}

// DeleteUserHost implements store.UserHostStore.
func (db *DB) DeleteUserHost(ctx context.Context, k store.UserHostKey) (int64, error) {
	return db.writeCount(ctx, "delete user host", `DELETE FROM user_hosts WHERE tenant = ? AND tms_user_id = ? AND host = ? AND host_account = ?`,
		k.Tenant, k.TMSUserID, k.Host, k.HostAccount)
}
