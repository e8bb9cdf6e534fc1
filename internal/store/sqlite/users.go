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

const delegationCols = `id, tenant, client_id, client_user_id, expires_at, created, updated`

func scanDelegation(s scanner, d *store.Delegation) error {
	var exp, created, updated int64
	if err := s.Scan(&d.ID, &d.Tenant, &d.ClientID, &d.ClientUserID, &exp, &created, &updated); err != nil {
		return err
	}
	d.ExpiresAt, d.Created, d.Updated = fromMicros(exp), fromMicros(created), fromMicros(updated)
	return nil
}

func insertDelegation(tx *wtx, d store.Delegation) error {
	_, err := tx.exec("insert delegation", `INSERT INTO delegations(tenant, client_id, client_user_id, expires_at, created, updated)
		VALUES (?, ?, ?, ?, ?, ?)`,
		d.Tenant, d.ClientID, d.ClientUserID, micros(d.ExpiresAt), micros(d.Created), micros(d.Updated))
	return err
}

// CreateDelegation implements store.DelegationStore.
func (db *DB) CreateDelegation(ctx context.Context, d store.Delegation) error {
	return db.w.do(ctx, func(tx *wtx) error { return insertDelegation(tx, d) })
}

// GetDelegation implements store.DelegationStore.
func (db *DB) GetDelegation(ctx context.Context, tenant string, id int64) (store.Delegation, error) {
	var d store.Delegation
	err := db.getOne(ctx, "get delegation", `SELECT `+delegationCols+` FROM delegations WHERE tenant = ? AND id = ?`,
		func(s scanner) error { return scanDelegation(s, &d) }, tenant, id)
	return d, err
}

// FindDelegation implements store.DelegationStore.
func (db *DB) FindDelegation(ctx context.Context, k store.DelegationKey) (store.Delegation, error) {
	var d store.Delegation
	err := db.getOne(ctx, "find delegation", `SELECT `+delegationCols+` FROM delegations
		WHERE tenant = ? AND client_id = ? AND client_user_id = ?`,
		func(s scanner) error { return scanDelegation(s, &d) }, k.Tenant, k.ClientID, k.ClientUserID)
	return d, err
}

// ListDelegations implements store.DelegationStore.
func (db *DB) ListDelegations(ctx context.Context, tenant string) ([]store.Delegation, error) {
	var out []store.Delegation
	err := db.queryRows(ctx, "list delegations", `SELECT `+delegationCols+` FROM delegations WHERE tenant = ?
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
	return db.writeCount(ctx, "update delegation", `UPDATE delegations SET expires_at = ?, updated = ?
		WHERE tenant = ? AND client_id = ? AND client_user_id = ?`,
		micros(expiresAt), micros(now), k.Tenant, k.ClientID, k.ClientUserID)
}

// DeleteDelegation implements store.DelegationStore.
func (db *DB) DeleteDelegation(ctx context.Context, k store.DelegationKey) (int64, error) {
	return db.writeCount(ctx, "delete delegation", `DELETE FROM delegations WHERE tenant = ? AND client_id = ? AND client_user_id = ?`,
		k.Tenant, k.ClientID, k.ClientUserID)
}

const hostCols = `id, tenant, host, addr, created, updated`

func scanHost(s scanner, h *store.Host) error {
	var created, updated int64
	if err := s.Scan(&h.ID, &h.Tenant, &h.Host, &h.Addr, &created, &updated); err != nil {
		return err
	}
	h.Created, h.Updated = fromMicros(created), fromMicros(updated)
	return nil
}

// CreateHost implements store.HostStore.
func (db *DB) CreateHost(ctx context.Context, h store.Host) error {
	_, err := db.writeCount(ctx, "insert host", `INSERT INTO hosts(tenant, host, addr, created, updated) VALUES (?, ?, ?, ?, ?)`,
		h.Tenant, h.Host, h.Addr, micros(h.Created), micros(h.Updated))
	return err
}

// GetHost implements store.HostStore.
func (db *DB) GetHost(ctx context.Context, tenant string, id int64) (store.Host, error) {
	var h store.Host
	err := db.getOne(ctx, "get host", `SELECT `+hostCols+` FROM hosts WHERE tenant = ? AND id = ?`,
		func(s scanner) error { return scanHost(s, &h) }, tenant, id)
	return h, err
}

// ListHosts implements store.HostStore.
func (db *DB) ListHosts(ctx context.Context, tenant string) ([]store.Host, error) {
	var out []store.Host
	err := db.queryRows(ctx, "list hosts", `SELECT `+hostCols+` FROM hosts WHERE tenant = ? ORDER BY host, addr`, func(s scanner) error {
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
	return db.writeCount(ctx, "delete host", `DELETE FROM hosts WHERE tenant = ? AND host = ? AND addr = ?`, tenant, host, addr)
}
