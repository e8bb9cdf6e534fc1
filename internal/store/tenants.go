package store

import (
	"context"
	"time"
)

// Tenant is an isolated set of clients, users and keys.
type Tenant struct {
	ID      int64
	Name    string
	Enabled bool
	Created time.Time
	Updated time.Time
}

// Admin is a tenant administrator account.
type Admin struct {
	ID         int64
	Tenant     string
	AdminUser  string
	SecretHash string
	Privilege  string
	Created    time.Time
	Updated    time.Time
}

// TenantStore keeps tenants and their administrators.
type TenantStore interface {
	// Initialize inserts the seed in one transaction if, and only if, no
	// tenant exists yet. It reports whether it inserted anything.
	Initialize(ctx context.Context, seed Seed) (bool, error)
	// CreateTenant inserts a new tenant together with the rest of the seed
	// (its administrator and any standard records) in one transaction.
	// It returns ErrConflict when the tenant exists.
	CreateTenant(ctx context.Context, seed Seed) error
	// GetTenant returns ErrNotFound when the tenant does not exist.
	GetTenant(ctx context.Context, name string) (Tenant, error)
	// ListTenants returns every tenant ordered by id.
	ListTenants(ctx context.Context) ([]Tenant, error)
	// SetTenantEnabled returns the number of tenants changed (0 or 1).
	SetTenantEnabled(ctx context.Context, name string, enabled bool, now time.Time) (int64, error)
	// DeleteTenant deletes the tenant's administrators, its builtin OAuth
	// clients (with their pending device authorizations) and then the
	// tenant. It returns the number of rows deleted, or ErrInUse (and
	// deletes nothing) when other records still belong to the tenant.
	DeleteTenant(ctx context.Context, name string) (int64, error)
	// WipeTenant deletes the tenant and everything that belongs to it and
	// returns the number of rows deleted.
	WipeTenant(ctx context.Context, name string) (int64, error)
}

// Credential is what authorization needs to know about a caller: whether
// its tenant exists and is enabled, and the stored hash of its secret.
type Credential struct {
	TenantFound   bool
	TenantEnabled bool
	// Found reports whether the client or administrator exists.
	Found      bool
	SecretHash string
	// Enabled is the client's enabled flag (always true for administrators).
	Enabled bool
}

// CredentialStore answers authorization lookups with one query each.
type CredentialStore interface {
	// ClientCredential looks up a tenant and a client of that tenant.
	ClientCredential(ctx context.Context, tenant, clientID string) (Credential, error)
	// AdminCredential looks up a tenant and an administrator of that tenant.
	AdminCredential(ctx context.Context, tenant, adminUser string) (Credential, error)
	// SetAdminSecret replaces an administrator's secret hash and returns the
	// number of administrators changed (0 or 1).
	SetAdminSecret(ctx context.Context, tenant, adminUser, secretHash string, now time.Time) (int64, error)
}
