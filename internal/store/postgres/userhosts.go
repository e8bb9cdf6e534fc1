package postgres

import (
	"context"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

const userHostCols = `id, tenant, tms_user_id, host, host_account, expires_at, created, updated`

func scanUserHost(s scanner, h *store.UserHost) error {
	return s.Scan(&h.ID, &h.Tenant, &h.TMSUserID, &h.Host, &h.HostAccount, &h.ExpiresAt, &h.Created, &h.Updated)
}

const insertUserHost = `INSERT INTO user_hosts(tenant, tms_user_id, host, host_account, expires_at, created, updated)
	VALUES ($1, $2, $3, $4, $5, $6, $7)`

func userHostArgs(h store.UserHost) []any {
	return []any{h.Tenant, h.TMSUserID, h.Host, h.HostAccount, store.Micro(h.ExpiresAt), store.Micro(h.Created), store.Micro(h.Updated)}
}

// CreateUserHost implements store.UserHostStore.
func (db *DB) CreateUserHost(ctx context.Context, h store.UserHost) error {
	_, err := db.exec(ctx, "insert user host", insertUserHost, userHostArgs(h)...)
	return err
}

// GetUserHost implements store.UserHostStore.
func (db *DB) GetUserHost(ctx context.Context, tenant string, id int64) (store.UserHost, error) {
	if err := idNotFound("get user host", id); err != nil {
		return store.UserHost{}, err
	}
	var h store.UserHost
	err := db.queryOne(ctx, "get user host", `SELECT `+userHostCols+` FROM user_hosts WHERE tenant = $1 AND id = $2`,
		func(s scanner) error { return scanUserHost(s, &h) }, tenant, id)
	return h, err
}

// FindUserHost implements store.UserHostStore.
func (db *DB) FindUserHost(ctx context.Context, k store.UserHostKey) (store.UserHost, error) {
	var h store.UserHost
	err := db.queryOne(ctx, "find user host", `SELECT `+userHostCols+` FROM user_hosts
		WHERE tenant = $1 AND tms_user_id = $2 AND host = $3 AND host_account = $4`,
		func(s scanner) error { return scanUserHost(s, &h) }, k.Tenant, k.TMSUserID, k.Host, k.HostAccount)
	return h, err
}

// ListUserHosts implements store.UserHostStore.
func (db *DB) ListUserHosts(ctx context.Context, tenant string) ([]store.UserHost, error) {
	var out []store.UserHost
	err := db.queryAll(ctx, "list user hosts", `SELECT `+userHostCols+` FROM user_hosts WHERE tenant = $1
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
	return db.exec(ctx, "update user host", `UPDATE user_hosts SET expires_at = $1, updated = $2
		WHERE tenant = $3 AND tms_user_id = $4 AND host = $5 AND host_account = $6`,
		store.Micro(expiresAt), store.Micro(now), k.Tenant, k.TMSUserID, k.Host, k.HostAccount)
}

// DeleteUserHost implements store.UserHostStore.
func (db *DB) DeleteUserHost(ctx context.Context, k store.UserHostKey) (int64, error) {
	return db.execDelete(ctx, "delete user host", `DELETE FROM user_hosts
		WHERE tenant = $1 AND tms_user_id = $2 AND host = $3 AND host_account = $4`,
		k.Tenant, k.TMSUserID, k.Host, k.HostAccount)
}
