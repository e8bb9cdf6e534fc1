package sqlite

import (
	"context"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

const tenantCols = `id, tenant, enabled, created, updated`

func scanTenant(s scanner, t *store.Tenant) error {
	var created, updated int64
	if err := s.Scan(&t.ID, &t.Name, &t.Enabled, &created, &updated); err != nil {
		return err
	}
	t.Created, t.Updated = fromMicros(created), fromMicros(updated)
	return nil
}

// Initialize implements store.TenantStore.
func (db *DB) Initialize(ctx context.Context, seed store.Seed) (bool, error) {
	created := false
	err := db.w.do(ctx, func(tx *wtx) error {
		var n int
		if err := tx.queryRow("count tenants", `SELECT COUNT(*) FROM tenants`, func(s scanner) error { return s.Scan(&n) }); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		created = true
		return insertSeed(tx, seed)
	})
	return created, err
}

// CreateTenant implements store.TenantStore.
func (db *DB) CreateTenant(ctx context.Context, seed store.Seed) error {
	return db.w.do(ctx, func(tx *wtx) error { return insertSeed(tx, seed) })
}

func insertSeed(tx *wtx, s store.Seed) error {
	for _, t := range s.Tenants {
		if _, err := tx.exec("insert tenant", `INSERT INTO tenants(tenant, enabled, created, updated) VALUES (?, ?, ?, ?)`,
			t.Name, boolInt(t.Enabled), micros(t.Created), micros(t.Updated)); err != nil {
			return err
		}
	}
	for _, a := range s.Admins {
		if _, err := tx.exec("insert admin", `INSERT INTO admin(tenant, admin_user, admin_secret, privilege, created, updated) VALUES (?, ?, ?, ?, ?, ?)`,
			a.Tenant, a.AdminUser, a.SecretHash, a.Privilege, micros(a.Created), micros(a.Updated)); err != nil {
			return err
		}
	}
	for _, c := range s.Clients {
		if err := insertClient(tx, c); err != nil {
			return err
		}
	}
	for _, c := range s.OAuthClients {
		if err := insertOAuthClient(tx, c); err != nil {
			return err
		}
	}
	for _, m := range s.UserMFA {
		if err := insertUserMFA(tx, m); err != nil {
			return err
		}
	}
	for _, h := range s.UserHosts {
		if err := insertUserHost(tx, h); err != nil {
			return err
		}
	}
	for _, d := range s.Delegations {
		if err := insertDelegation(tx, d); err != nil {
			return err
		}
	}
	return nil
}

// GetTenant implements store.TenantStore.
func (db *DB) GetTenant(ctx context.Context, name string) (store.Tenant, error) {
	var t store.Tenant
	err := db.getOne(ctx, "get tenant", `SELECT `+tenantCols+` FROM tenants WHERE tenant = ?`,
		func(s scanner) error { return scanTenant(s, &t) }, name)
	return t, err
}

// ListTenants implements store.TenantStore.
func (db *DB) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	var out []store.Tenant
	err := db.queryRows(ctx, "list tenants", `SELECT `+tenantCols+` FROM tenants ORDER BY id`, func(s scanner) error {
		var t store.Tenant
		if err := scanTenant(s, &t); err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	return out, err
}

// SetTenantEnabled implements store.TenantStore.
func (db *DB) SetTenantEnabled(ctx context.Context, name string, enabled bool, now time.Time) (int64, error) {
	var n int64
	err := db.w.do(ctx, func(tx *wtx) (err error) {
		n, err = tx.exec("update tenant", `UPDATE tenants SET enabled = ?, updated = ? WHERE tenant = ?`, boolInt(enabled), micros(now), name)
		return err
	})
	return n, err
}

// DeleteTenant implements store.TenantStore.
func (db *DB) DeleteTenant(ctx context.Context, name string) (int64, error) {
	var total int64
	err := db.w.do(ctx, func(tx *wtx) error {
		total = 0
		for _, q := range []string{
			`DELETE FROM admin WHERE tenant = ?`,
			`DELETE FROM clients WHERE tenant = ?1 AND client_id IN (SELECT client_id FROM oauth_clients WHERE tenant = ?1 AND builtin = 1)`,
			`DELETE FROM tenants WHERE tenant = ?`,
		} {
			n, err := tx.exec("delete tenant", q, name)
			if err != nil {
				return inUse(err)
			}
			total += n
		}
		return nil
	})
	return total, err
}

// WipeTenant implements store.TenantStore.
func (db *DB) WipeTenant(ctx context.Context, name string) (int64, error) {
	var total int64
	err := db.w.do(ctx, func(tx *wtx) error {
		total = 0
		for _, table := range wipeOrder {
			n, err := tx.exec("wipe tenant", `DELETE FROM `+table+` WHERE tenant = ?`, name)
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	return total, err
}

// wipeOrder lists the tables a tenant wipe empties, children first.
var wipeOrder = []string{"reservations", "pubkeys", "oauth_tokens", "device_authorizations", "delegations", "user_hosts", "user_mfa", "users", "oauth_clients", "clients", "hosts", "host_credentials", "admin", "tenants"}

// ClientCredential implements store.CredentialStore.
func (db *DB) ClientCredential(ctx context.Context, tenant, clientID string) (store.Credential, error) {
	return db.credential(ctx, "client credential", `SELECT t.enabled, c.client_secret, c.enabled
		FROM tenants t LEFT JOIN clients c ON c.tenant = t.tenant AND c.client_id = ?
		WHERE t.tenant = ?`, clientID, tenant)
}

// AdminCredential implements store.CredentialStore.
func (db *DB) AdminCredential(ctx context.Context, tenant, adminUser string) (store.Credential, error) {
	return db.credential(ctx, "admin credential", `SELECT t.enabled, a.admin_secret, CASE WHEN a.id IS NULL THEN NULL ELSE 1 END
		FROM tenants t LEFT JOIN admin a ON a.tenant = t.tenant AND a.admin_user = ?
		WHERE t.tenant = ?`, adminUser, tenant)
}

func (db *DB) credential(ctx context.Context, op, query string, args ...any) (store.Credential, error) {
	var (
		c       store.Credential
		secret  *string
		enabled *bool
	)
	err := db.getOne(ctx, op, query, func(s scanner) error { return s.Scan(&c.TenantEnabled, &secret, &enabled) }, args...)
	switch {
	case err == nil:
	case isNotFound(err):
		return store.Credential{}, nil
	default:
		return store.Credential{}, err
	}
	c.TenantFound = true
	if secret != nil {
		c.Found = true
		c.SecretHash = *secret
		c.Enabled = enabled != nil && *enabled
	}
	return c, nil
}

// SetAdminSecret implements store.CredentialStore.
func (db *DB) SetAdminSecret(ctx context.Context, tenant, adminUser, secretHash string, now time.Time) (int64, error) {
	var n int64
	err := db.w.do(ctx, func(tx *wtx) (err error) {
		n, err = tx.exec("set admin secret", `UPDATE admin SET admin_secret = ?, updated = ? WHERE tenant = ? AND admin_user = ?`,
			secretHash, micros(now), tenant, adminUser)
		return err
	})
	return n, err
}
