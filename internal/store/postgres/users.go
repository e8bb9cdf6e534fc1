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

const hostCols = `id, tenant, host, addr, created, updated`

func scanHost(s scanner, h *store.Host) error {
	return s.Scan(&h.ID, &h.Tenant, &h.Host, &h.Addr, &h.Created, &h.Updated)
}

// CreateHost implements store.HostStore.
func (db *DB) CreateHost(ctx context.Context, h store.Host) error {
	_, err := db.exec(ctx, "insert host", `INSERT INTO hosts(tenant, host, addr, created, updated) VALUES ($1, $2, $3, $4, $5)`,
		h.Tenant, h.Host, h.Addr, store.Micro(h.Created), store.Micro(h.Updated))
	return err
}

// GetHost implements store.HostStore.
func (db *DB) GetHost(ctx context.Context, tenant string, id int64) (store.Host, error) {
	if err := idNotFound("get host", id); err != nil {
		return store.Host{}, err
	}
	var h store.Host
	err := db.queryOne(ctx, "get host", `SELECT `+hostCols+` FROM hosts WHERE tenant = $1 AND id = $2`,
		func(s scanner) error { return scanHost(s, &h) }, tenant, id)
	return h, err
}

// ListHosts implements store.HostStore.
func (db *DB) ListHosts(ctx context.Context, tenant string) ([]store.Host, error) {
	var out []store.Host
	err := db.queryAll(ctx, "list hosts", `SELECT `+hostCols+` FROM hosts WHERE tenant = $1 ORDER BY host, addr`, func(s scanner) error {
		var h store.Host
		if err := scanHost(s, &h); err != nil {
			return err
		}
		out = append(out, h)
		return nil
	}, tenant)
	return out, err
}

// DeleteHost implements store.HostStore.
func (db *DB) DeleteHost(ctx context.Context, tenant, host, addr string) (int64, error) {
	return db.execDelete(ctx, "delete host", `DELETE FROM hosts WHERE tenant = $1 AND host = $2 AND addr = $3`, tenant, host, addr)
}
