package tms

import (
	"context"

	"github.com/tmsproject/tms/internal/secret"
)

// Credentials are the identity headers of a request.
type Credentials struct {
	// Tenant is the X-TMS-TENANT value; TenantSet reports whether the header
	// was present at all (an empty value counts as present).
	Tenant    string
	TenantSet bool
	// ClientSet reports whether X-TMS-CLIENT-ID was present.
	ClientSet    bool
	ClientID     string
	ClientSecret string
	AdminID      string
	AdminSecret  string
}

// PrincipalKind says how a caller authenticated.
type PrincipalKind int

// The ways a caller can authenticate.
const (
	ClientOwn   PrincipalKind = iota + 1 // a client acting on its own records
	TenantAdmin                          // the tenant's administrator
)

// Principal is an authenticated caller.
type Principal struct {
	Kind   PrincipalKind
	Tenant string
	// ID is the client id or the administrator id.
	ID string
}

// onlyClient returns the client id that restricts what the caller sees:
// the caller's own id for clients, "" (everything) for administrators.
func (p Principal) onlyClient() string {
	if p.Kind == ClientOwn {
		return p.ID
	}
	return ""
}

// allowed is a set of principal kinds.
type allowed uint8

const (
	allowClient allowed = 1 << iota
	allowAdmin
	allowEither = allowClient | allowAdmin
)

// authFacts is what one credential lookup tells: the tenant's state and,
// if the credentials were valid, the principal.
type authFacts struct {
	tenantEnabled  bool
	principal      *Principal
	clientDisabled bool
}

// lookup checks the credentials the allowed kinds accept, client first, and
// learns the tenant's state on the way, with one query per kind tried.
func (s *Service) lookup(ctx context.Context, c Credentials, kinds allowed) (authFacts, error) {
	var facts authFacts
	checked := false
	if kinds&allowClient != 0 && c.ClientID != "" && c.ClientSecret != "" && c.Tenant != "" {
		cred, err := s.store.ClientCredential(ctx, c.Tenant, c.ClientID)
		if err != nil {
			return facts, storeError(err, "check client credentials")
		}
		checked = true
		facts.tenantEnabled = cred.TenantFound && cred.TenantEnabled
		if secret.Verify(c.ClientSecret, cred.SecretHash, cred.Found) {
			if !cred.Enabled {
				facts.clientDisabled = true
			} else {
				facts.principal = &Principal{Kind: ClientOwn, Tenant: c.Tenant, ID: c.ClientID}
				return facts, nil
			}
		}
	}
	if kinds&allowAdmin != 0 && c.AdminID != "" && c.AdminSecret != "" && c.Tenant != "" {
		cred, err := s.store.AdminCredential(ctx, c.Tenant, c.AdminID)
		if err != nil {
			return facts, storeError(err, "check administrator credentials")
		}
		checked = true
		facts.tenantEnabled = cred.TenantFound && cred.TenantEnabled
		if secret.Verify(c.AdminSecret, cred.SecretHash, cred.Found) {
			facts.principal = &Principal{Kind: TenantAdmin, Tenant: c.Tenant, ID: c.AdminID}
			return facts, nil
		}
	}
	if !checked && c.Tenant != "" {
		cred, err := s.store.ClientCredential(ctx, c.Tenant, "")
		if err != nil {
			return facts, storeError(err, "check tenant")
		}
		facts.tenantEnabled = cred.TenantFound && cred.TenantEnabled
	}
	return facts, nil
}

func errTenantHeader() error {
	return newError(KindInvalid, "Required 'X-TMS-TENANT' HTTP header not found")
}

func errClientHeader() error {
	return newError(KindInvalid, "Required 'X-TMS-CLIENT-ID' HTTP header not found")
}

func errTenantDisabled(tenant string) error {
	return newError(KindInvalid, "Tenant not enabled. (tenant %q does not exist or is disabled)", tenant)
}

func errUnauthorized(facts authFacts, c Credentials, action string) error {
	if facts.clientDisabled {
		return newError(KindUnauthorized, "ERROR: NOT AUTHORIZED to %s: client %s in tenant %s is disabled.", action, c.ClientID, c.Tenant)
	}
	return newError(KindUnauthorized, "ERROR: NOT AUTHORIZED to %s: no valid credentials for tenant %s.", action, c.Tenant)
}

// authHeader authorizes a request whose tenant comes from the header: the
// header must be present, the tenant enabled, and the credentials valid
// for one of the allowed kinds, checked in that order.
func (s *Service) authHeader(ctx context.Context, c Credentials, kinds allowed, action string) (Principal, error) {
	if !c.TenantSet {
		return Principal{}, errTenantHeader()
	}
	facts, err := s.lookup(ctx, c, kinds)
	if err != nil {
		return Principal{}, err
	}
	if !facts.tenantEnabled {
		return Principal{}, errTenantDisabled(c.Tenant)
	}
	if facts.principal == nil {
		return Principal{}, errUnauthorized(facts, c, action)
	}
	return *facts.principal, nil
}

// authClientPath is authHeader for routes with a client id in the path: a
// client may act only on itself.
func (s *Service) authClientPath(ctx context.Context, c Credentials, kinds allowed, clientID, action string) (Principal, error) {
	p, err := s.authHeader(ctx, c, kinds, action)
	if err != nil {
		return p, err
	}
	if p.Kind == ClientOwn && p.ID != clientID {
		return Principal{}, newError(KindForbidden, "ERROR: FORBIDDEN - Client %s cannot %s for client %s.", p.ID, action, clientID)
	}
	return p, nil
}

// authBody authorizes an administrator request whose body names a tenant:
// the header tenant must be present and equal the body tenant.
func (s *Service) authBody(ctx context.Context, c Credentials, bodyTenant, action string) (Principal, error) {
	if !c.TenantSet {
		return Principal{}, errTenantHeader()
	}
	if c.Tenant != bodyTenant {
		return Principal{}, newError(KindForbidden,
			"ERROR: FORBIDDEN - The tenant in the X-TMS-TENANT header (%s) does not match the tenant in the request body (%s)", c.Tenant, bodyTenant)
	}
	return s.authHeader(ctx, c, allowAdmin, action)
}

// authKey authorizes a client-only request (key creation, reservations).
func (s *Service) authKey(ctx context.Context, c Credentials, action string) (Principal, error) {
	if !c.ClientSet {
		return Principal{}, errClientHeader()
	}
	return s.authHeader(ctx, c, allowClient, action)
}

// authKeyRecord authorizes pubkey update and delete, whose bodies carry the
// client id and tenant. With checkTenantFirst the tenant header is required
// up front (update); otherwise a missing header surfaces as 401 (delete).
func (s *Service) authKeyRecord(ctx context.Context, c Credentials, bodyClient, bodyTenant, action string, checkTenantFirst bool) (Principal, error) {
	if checkTenantFirst && !c.TenantSet {
		return Principal{}, errTenantHeader()
	}
	facts, err := s.lookup(ctx, c, allowEither)
	if err != nil {
		return Principal{}, err
	}
	if facts.principal == nil {
		return Principal{}, errUnauthorized(facts, c, action)
	}
	p := *facts.principal
	if p.Kind == ClientOwn && p.ID != bodyClient {
		return Principal{}, newError(KindForbidden, "ERROR: FORBIDDEN - Client %s cannot %s of client %s.", p.ID, action, bodyClient)
	}
	if bodyTenant != c.Tenant {
		return Principal{}, newError(KindForbidden,
			"ERROR: FORBIDDEN - The tenant in the X-TMS-TENANT header (%s) does not match the tenant in the request body (%s)", c.Tenant, bodyTenant)
	}
	if !facts.tenantEnabled {
		return Principal{}, errTenantDisabled(c.Tenant)
	}
	return p, nil
}

// tenantEnabled reports whether the tenant exists and is enabled.
func (s *Service) tenantEnabled(ctx context.Context, tenant string) (bool, error) {
	cred, err := s.store.ClientCredential(ctx, tenant, "")
	if err != nil {
		return false, storeError(err, "check tenant")
	}
	return cred.TenantFound && cred.TenantEnabled, nil
}
