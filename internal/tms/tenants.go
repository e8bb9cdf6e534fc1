package tms

import (
	"context"
	"errors"
	"slices"

	"github.com/tmsproject/tms/internal/secret"
	"github.com/tmsproject/tms/internal/store"
)

// The standard tenants and the administrator id every tenant has.
const (
	DefaultTenant = "default"
	TestTenant    = "test"
	AdminID       = "~~admin"
	adminPriv     = "PERM_ADMIN"
)

// The well-known test data of the test tenant.
const (
	TestClientID     = "testclient1"
	TestClientSecret = "secret1"
	TestUser         = "testuser1"
	TestHost         = "testhost1"
	TestHostAccount  = "testhostaccount1"
	testAppName      = "testapp1"
	testAppVersion   = "1.0"
)

// AdminSecret is the one-time secret of a tenant administrator.
type AdminSecret struct {
	Tenant  string
	AdminID string
	Secret  string
}

// tenantSeed returns the records a new tenant starts with and its admin secret.
func (s *Service) tenantSeed(name string) (store.Seed, AdminSecret) {
	now := s.now()
	sec := secret.New()
	seed := store.Seed{
		Tenants: []store.Tenant{{Name: name, Enabled: true, Created: now, Updated: now}},
		Admins: []store.Admin{{Tenant: name, AdminUser: AdminID, SecretHash: secret.Hash(sec), Privilege: adminPriv,
			Created: now, Updated: now}},
		OAuthClients: []store.OAuthClient{cliClient(name, now)},
	}
	return seed, AdminSecret{Tenant: name, AdminID: AdminID, Secret: sec}
}

// Initialize creates the tenants "default" and "test", an administrator for
// each and the test data, if the database has no tenant yet. It returns the
// administrator secrets when it created them, and nil otherwise.
func (s *Service) Initialize(ctx context.Context) ([]AdminSecret, error) {
	seed, defaultAdmin := s.tenantSeed(DefaultTenant)
	test, testAdmin := s.tenantSeed(TestTenant)
	seed.Tenants = append(seed.Tenants, test.Tenants...)
	seed.Admins = append(seed.Admins, test.Admins...)
	seed.OAuthClients = append(seed.OAuthClients, test.OAuthClients...)
	now := s.now()
	seed.Clients = []store.Client{{Tenant: TestTenant, ClientID: TestClientID, AppName: testAppName, AppVersion: testAppVersion,
		SecretHash: secret.Hash(TestClientSecret), Enabled: true, Created: now, Updated: now}}
	seed.UserMFA = []store.UserMFA{{Tenant: TestTenant, TMSUserID: TestUser, ExpiresAt: store.Never, Enabled: true, Created: now, Updated: now}}
	seed.UserHosts = []store.UserHost{{Tenant: TestTenant, TMSUserID: TestUser, Host: TestHost, HostAccount: TestHostAccount,
		ExpiresAt: store.Never, Created: now, Updated: now}}
	seed.Delegations = []store.Delegation{{Tenant: TestTenant, ClientID: TestClientID, ClientUserID: TestUser,
		ExpiresAt: store.Never, Created: now, Updated: now}}
	created, err := s.store.Initialize(ctx, seed)
	if err != nil {
		// Another server sharing the database may have initialized it first.
		if errors.Is(err, store.ErrConflict) {
			return nil, nil
		}
		return nil, storeError(err, "initialize database")
	}
	if !created {
		return nil, nil
	}
	return []AdminSecret{defaultAdmin, testAdmin}, nil
}

// SetTestTenantEnabled sets the enabled flag of the test tenant, as the
// server does at every start from enable_test_tenant.
func (s *Service) SetTestTenantEnabled(ctx context.Context, enabled bool) error {
	_, err := s.store.SetTenantEnabled(ctx, TestTenant, enabled, s.now())
	return storeError(err, "set test tenant")
}

// EnableTenant enables a tenant again. It is for local operators with
// access to the database: a disabled tenant refuses every API request,
// including the one that would enable it. It returns a KindNotFound error
// when the tenant does not exist.
func (s *Service) EnableTenant(ctx context.Context, tenant string) error {
	n, err := s.store.SetTenantEnabled(ctx, tenant, true, s.now())
	if err != nil {
		return storeError(err, "enable tenant "+tenant)
	}
	if n == 0 {
		return newError(KindNotFound, "tenant %s does not exist", tenant)
	}
	return nil
}

// RotateAdminSecret gives a tenant's administrator a new secret and returns
// it. It is for local operators with access to the database, not the API.
func (s *Service) RotateAdminSecret(ctx context.Context, tenant string) (AdminSecret, error) {
	sec := secret.New()
	n, err := s.store.SetAdminSecret(ctx, tenant, AdminID, secret.Hash(sec), s.now())
	if err != nil {
		return AdminSecret{}, storeError(err, "rotate administrator secret")
	}
	if n == 0 {
		return AdminSecret{}, newError(KindNotFound, "tenant %q has no administrator %s", tenant, AdminID)
	}
	return AdminSecret{Tenant: tenant, AdminID: AdminID, Secret: sec}, nil
}

// CreateTenant creates a tenant with its administrator. Only the
// administrator of the default tenant may do it.
func (s *Service) CreateTenant(ctx context.Context, c Credentials, name string) (AdminSecret, error) {
	if !c.TenantSet {
		return AdminSecret{}, errTenantHeader()
	}
	if c.Tenant != DefaultTenant {
		return AdminSecret{}, newError(KindForbidden, "ERROR: FORBIDDEN - Only admin users in the 'default' tenant can create new tenants.")
	}
	if _, err := s.authHeader(ctx, c, allowAdmin, "create tenants"); err != nil {
		return AdminSecret{}, err
	}
	if err := checkTenantName(name); err != nil {
		return AdminSecret{}, err
	}
	seed, admin := s.tenantSeed(name)
	if err := s.store.CreateTenant(ctx, seed); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return AdminSecret{}, &Error{Kind: KindConflict, Message: "Tenant " + name + " already exists.", Err: err}
		}
		return AdminSecret{}, storeError(err, "create tenant")
	}
	return admin, nil
}

// GetTenant returns a tenant. It needs no credentials.
func (s *Service) GetTenant(ctx context.Context, name string) (store.Tenant, error) {
	t, err := s.store.GetTenant(ctx, name)
	return t, storeError(err, "get tenant")
}

// ListTenants lists tenants to a tenant administrator: the administrator
// of the default tenant, who creates tenants, sees every one; any other
// sees only their own.
func (s *Service) ListTenants(ctx context.Context, c Credentials) ([]store.Tenant, error) {
	p, err := s.authHeader(ctx, c, allowAdmin, "list tenants")
	if err != nil {
		return nil, err
	}
	list, err := s.store.ListTenants(ctx)
	if err != nil {
		return nil, storeError(err, "list tenants")
	}
	if p.Tenant == DefaultTenant {
		return list, nil
	}
	own := slices.DeleteFunc(list, func(t store.Tenant) bool { return t.Name != p.Tenant })
	return own, nil
}

// UpdateTenant enables or disables a tenant; only its administrator may.
// Unlike other calls it works on a disabled tenant, so that the
// administrator can enable it again.
func (s *Service) UpdateTenant(ctx context.Context, c Credentials, tenant string, enabled bool) (int64, error) {
	if !c.TenantSet {
		return 0, errTenantHeader()
	}
	if c.Tenant != tenant {
		return 0, newError(KindForbidden,
			"ERROR: FORBIDDEN - The tenant in the X-TMS-TENANT header (%s) does not match the tenant in the request body (%s)", c.Tenant, tenant)
	}
	facts, err := s.lookup(ctx, c, allowAdmin)
	if err != nil {
		return 0, err
	}
	if facts.principal == nil {
		return 0, errUnauthorized(facts, c, "update tenant "+tenant)
	}
	n, err := s.store.SetTenantEnabled(ctx, tenant, enabled, s.now())
	return n, storeError(err, "update tenant")
}

// authTenantPath authorizes delete and wipe of the tenant named in the path.
func (s *Service) authTenantPath(ctx context.Context, c Credentials, tenant, action string) error {
	if !c.TenantSet {
		return errTenantHeader()
	}
	if c.Tenant != tenant {
		return newError(KindForbidden,
			"ERROR: FORBIDDEN - The tenant in the X-TMS-TENANT header (%s) does not match the tenant in the request path (%s)", c.Tenant, tenant)
	}
	_, err := s.authHeader(ctx, c, allowAdmin, action)
	return err
}

// DeleteTenant deletes an empty tenant and its administrator and returns
// the number of rows deleted.
func (s *Service) DeleteTenant(ctx context.Context, c Credentials, tenant string) (int64, error) {
	if err := s.authTenantPath(ctx, c, tenant, "delete tenant "+tenant); err != nil {
		return 0, err
	}
	n, err := s.store.DeleteTenant(ctx, tenant)
	if errors.Is(err, store.ErrInUse) {
		return 0, &Error{Kind: KindConflict, Err: err,
			Message: "Tenant " + tenant + " still has clients, users, keys or hosts; delete them first or wipe the tenant (DELETE /v1/tms/tenants/wipe/" + tenant + ")."}
	}
	return n, storeError(err, "delete tenant")
}

// WipeTenant deletes a tenant with everything in it and returns the number
// of rows deleted.
func (s *Service) WipeTenant(ctx context.Context, c Credentials, tenant string) (int64, error) {
	if err := s.authTenantPath(ctx, c, tenant, "wipe tenant "+tenant); err != nil {
		return 0, err
	}
	n, err := s.store.WipeTenant(ctx, tenant)
	return n, storeError(err, "wipe tenant")
}
