package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

const tenantCols = `id, tenant, enabled, created, updated`

func scanTenant(s Row, t *store.Tenant) error {
	return s.Scan(&t.ID, &t.Name, &t.Enabled, &t.Created, &t.Updated)
}

// Seed returns the inserts of a seed, parents first, to run in one
// transaction.
func Seed(s store.Seed) []Stmt {
	var out []Stmt
	for _, t := range s.Tenants {
		out = append(out, q(`INSERT INTO tenants(tenant, enabled, created, updated) VALUES (?, ?, ?, ?)`,
			t.Name, t.Enabled, t.Created, t.Updated))
	}
	for _, a := range s.Admins {
		out = append(out, q(`INSERT INTO admin(tenant, admin_user, admin_secret, privilege, created, updated) VALUES (?, ?, ?, ?, ?, ?)`,
			a.Tenant, a.AdminUser, a.SecretHash, a.Privilege, a.Created, a.Updated))
	}
	for _, c := range s.Clients {
		out = append(out, insertClient(c))
	}
	for _, c := range s.OAuthClients {
		out = append(out, insertOAuthClient(c)...)
	}
	for _, m := range s.UserMFA {
		out = append(out, insertUserMFA(m))
	}
	for _, h := range s.UserHosts {
		out = append(out, insertUserHost(h))
	}
	for _, d := range s.Delegations {
		out = append(out, insertDelegation(d))
	}
	return out
}

// CreateTenant implements store.TenantStore.
func (r Records) CreateTenant(ctx context.Context, seed store.Seed) error {
	_, err := r.c.Exec(ctx, "create tenant", store.ErrMissingParent, Seed(seed)...)
	return err
}

// GetTenant implements store.TenantStore.
func (r Records) GetTenant(ctx context.Context, name string) (store.Tenant, error) {
	return one(ctx, r, "get tenant", q(`SELECT `+tenantCols+` FROM tenants WHERE tenant = ?`, name), scanTenant)
}

// ListTenants implements store.TenantStore.
func (r Records) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	return all(ctx, r, "list tenants", q(`SELECT `+tenantCols+` FROM tenants ORDER BY id`), scanTenant)
}

// SetTenantEnabled implements store.TenantStore.
func (r Records) SetTenantEnabled(ctx context.Context, name string, enabled bool, now time.Time) (int64, error) {
	return r.write(ctx, "update tenant", q(`UPDATE tenants SET enabled = ?, updated = ? WHERE tenant = ?`, enabled, now, name))
}

// DeleteTenant implements store.TenantStore: the tenant goes with its
// administrators and built-in clients, and only when nothing else of it is
// left.
func (r Records) DeleteTenant(ctx context.Context, name string) (int64, error) {
	return r.remove(ctx, "delete tenant",
		q(`DELETE FROM admin WHERE tenant = ?`, name),
		q(`DELETE FROM clients WHERE tenant = ? AND client_id IN
			(SELECT client_id FROM oauth_clients WHERE tenant = ? AND builtin)`, name, name),
		q(`DELETE FROM tenants WHERE tenant = ?`, name))
}

// WipeTenant implements store.TenantStore.
func (r Records) WipeTenant(ctx context.Context, name string) (int64, error) {
	stmts := make([]Stmt, 0, len(wipeOrder))
	for _, table := range wipeOrder {
		stmts = append(stmts, q(`DELETE FROM `+table+` WHERE tenant = ?`, name))
	}
	return r.remove(ctx, "wipe tenant", stmts...)
}

// wipeOrder lists the tables a tenant wipe empties, children first.
var wipeOrder = [...]string{"reservations", "pubkeys", "oauth_tokens", "device_authorizations", "delegations", "user_hosts",
	"user_mfa", "users", "oauth_clients", "clients", "hosts", "host_credentials", "admin", "tenants"}

// ClientCredential implements store.CredentialStore.
func (r Records) ClientCredential(ctx context.Context, tenant, clientID string) (store.Credential, error) {
	return r.credential(ctx, "client credential", q(`SELECT t.enabled, c.client_secret, c.enabled
		FROM tenants t LEFT JOIN clients c ON c.tenant = t.tenant AND c.client_id = ?
		WHERE t.tenant = ?`, clientID, tenant))
}

// AdminCredential implements store.CredentialStore.
func (r Records) AdminCredential(ctx context.Context, tenant, adminUser string) (store.Credential, error) {
	return r.credential(ctx, "admin credential", q(`SELECT t.enabled, a.admin_secret, a.id IS NOT NULL
		FROM tenants t LEFT JOIN admin a ON a.tenant = t.tenant AND a.admin_user = ?
		WHERE t.tenant = ?`, adminUser, tenant))
}

// credential reads a tenant's enabled flag with a secret and its enabled
// flag, both NULL when the tenant has no such client or administrator.
func (r Records) credential(ctx context.Context, op string, s Stmt) (store.Credential, error) {
	var (
		c       store.Credential
		secret  *string
		enabled *bool
	)
	err := r.c.QueryOne(ctx, op, s, func(row Row) error { return row.Scan(&c.TenantEnabled, &secret, &enabled) })
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
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
func (r Records) SetAdminSecret(ctx context.Context, tenant, adminUser, secretHash string, now time.Time) (int64, error) {
	return r.write(ctx, "set admin secret", q(`UPDATE admin SET admin_secret = ?, updated = ? WHERE tenant = ? AND admin_user = ?`,
		secretHash, now, tenant, adminUser))
}
