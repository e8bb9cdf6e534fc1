package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmsproject/tms/internal/store"
)

const tenantCols = `id, tenant, enabled, created, updated`

func scanTenant(s scanner, t *store.Tenant) error {
	return s.Scan(&t.ID, &t.Name, &t.Enabled, &t.Created, &t.Updated)
}

// Initialize implements store.TenantStore. Servers that start at once on an
// empty database serialize on an advisory lock, so exactly one seeds it.
func (db *DB) Initialize(ctx context.Context, seed store.Seed) (bool, error) {
	var created bool
	err := db.run(ctx, "initialize", store.ErrMissingParent, func(ctx context.Context, conn *pgx.Conn) error {
		created = false
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) // a no-op after Commit
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, initializeLock); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenants)`).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return tx.Commit(ctx)
		}
		if _, err := execBatch(ctx, tx.Conn(), seedBatch(seed)); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		created = true
		return nil
	})
	return created, err
}

// CreateTenant implements store.TenantStore.
func (db *DB) CreateTenant(ctx context.Context, seed store.Seed) error {
	_, err := db.runBatch(ctx, "create tenant", store.ErrMissingParent, func() *pgx.Batch { return seedBatch(seed) })
	return err
}

// seedBatch queues the inserts of a seed, parents first.
func seedBatch(s store.Seed) *pgx.Batch {
	b := &pgx.Batch{}
	for _, t := range s.Tenants {
		b.Queue(`INSERT INTO tenants(tenant, enabled, created, updated) VALUES ($1, $2, $3, $4)`,
			t.Name, t.Enabled, store.Micro(t.Created), store.Micro(t.Updated))
	}
	for _, a := range s.Admins {
		b.Queue(`INSERT INTO admin(tenant, admin_user, admin_secret, privilege, created, updated) VALUES ($1, $2, $3, $4, $5, $6)`,
			a.Tenant, a.AdminUser, a.SecretHash, a.Privilege, store.Micro(a.Created), store.Micro(a.Updated))
	}
	for _, c := range s.Clients {
		b.Queue(insertClient, clientArgs(c)...)
	}
	for _, c := range s.OAuthClients {
		queueOAuthClient(b, c)
	}
	for _, m := range s.UserMFA {
		b.Queue(insertUserMFA, userMFAArgs(m)...)
	}
	for _, h := range s.UserHosts {
		b.Queue(insertUserHost, userHostArgs(h)...)
	}
	for _, d := range s.Delegations {
		b.Queue(insertDelegation, delegationArgs(d)...)
	}
	return b
}

// GetTenant implements store.TenantStore.
func (db *DB) GetTenant(ctx context.Context, name string) (store.Tenant, error) {
	var t store.Tenant
	err := db.queryOne(ctx, "get tenant", `SELECT `+tenantCols+` FROM tenants WHERE tenant = $1`,
		func(s scanner) error { return scanTenant(s, &t) }, name)
	return t, err
}

// ListTenants implements store.TenantStore.
func (db *DB) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	var out []store.Tenant
	err := db.queryAll(ctx, "list tenants", `SELECT `+tenantCols+` FROM tenants ORDER BY id`, func(s scanner) error {
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
	return db.exec(ctx, "update tenant", `UPDATE tenants SET enabled = $1, updated = $2 WHERE tenant = $3`,
		enabled, store.Micro(now), name)
}

// DeleteTenant implements store.TenantStore.
func (db *DB) DeleteTenant(ctx context.Context, name string) (int64, error) {
	return db.runBatch(ctx, "delete tenant", store.ErrInUse, func() *pgx.Batch {
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM admin WHERE tenant = $1`, name)
		b.Queue(`DELETE FROM clients WHERE tenant = $1
			AND client_id IN (SELECT client_id FROM oauth_clients WHERE tenant = $1 AND builtin)`, name)
		b.Queue(`DELETE FROM tenants WHERE tenant = $1`, name)
		return b
	})
}

// WipeTenant implements store.TenantStore.
func (db *DB) WipeTenant(ctx context.Context, name string) (int64, error) {
	return db.runBatch(ctx, "wipe tenant", store.ErrInUse, func() *pgx.Batch {
		b := &pgx.Batch{}
		for _, table := range wipeOrder {
			b.Queue(`DELETE FROM `+table+` WHERE tenant = $1`, name)
		}
		return b
	})
}

// wipeOrder lists the tables a tenant wipe empties, children first.
var wipeOrder = [...]string{"reservations", "pubkeys", "oauth_tokens", "device_authorizations", "delegations", "user_hosts", "user_mfa", "users", "oauth_clients", "clients", "hosts", "host_credentials", "admin", "tenants"}

// ClientCredential implements store.CredentialStore.
func (db *DB) ClientCredential(ctx context.Context, tenant, clientID string) (store.Credential, error) {
	return db.credential(ctx, "client credential", `SELECT t.enabled, c.client_secret, c.enabled
		FROM tenants t LEFT JOIN clients c ON c.tenant = t.tenant AND c.client_id = $1
		WHERE t.tenant = $2`, clientID, tenant)
}

// AdminCredential implements store.CredentialStore.
func (db *DB) AdminCredential(ctx context.Context, tenant, adminUser string) (store.Credential, error) {
	return db.credential(ctx, "admin credential", `SELECT t.enabled, a.admin_secret, a.id IS NOT NULL
		FROM tenants t LEFT JOIN admin a ON a.tenant = t.tenant AND a.admin_user = $1
		WHERE t.tenant = $2`, adminUser, tenant)
}

func (db *DB) credential(ctx context.Context, op, query string, args ...any) (store.Credential, error) {
	var (
		c       store.Credential
		secret  *string
		enabled *bool
	)
	err := db.queryOne(ctx, op, query, func(s scanner) error { return s.Scan(&c.TenantEnabled, &secret, &enabled) }, args...)
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
	return db.exec(ctx, "set admin secret", `UPDATE admin SET admin_secret = $1, updated = $2 WHERE tenant = $3 AND admin_user = $4`,
		secretHash, store.Micro(now), tenant, adminUser)
}
