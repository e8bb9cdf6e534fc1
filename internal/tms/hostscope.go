package tms

import (
	"context"
	"slices"

	"github.com/tmsproject/tms/internal/store"
)

// UnregisteredHosts says what key retrieval answers for a host that no
// tenant has registered. A tenant registers a host by creating a host
// credential for it (CreateHostCredential).
type UnregisteredHosts int

const (
	// RefuseUnregisteredHosts refuses every key for a host no tenant has
	// registered. It is the zero value and the server's default.
	RefuseUnregisteredHosts UnregisteredHosts = iota
	// AcceptUnregisteredHosts lets a host no tenant has registered get keys
	// of any tenant, as tms_server 0.3.0 does.
	AcceptUnregisteredHosts
)

// RefusedHostUnregistered is the refusal of a lookup for a host no tenant
// has registered, when such hosts are refused.
const RefusedHostUnregistered Refusal = "host_unregistered"

// hostScope is the set of tenants whose keys a lookup for one host may
// accept.
type hostScope struct {
	anyTenant bool
	tenants   []string
}

// allows tells whether a key of tenant may be accepted.
func (h hostScope) allows(tenant string) bool {
	return h.anyTenant || slices.Contains(h.tenants, tenant)
}

// scopeHost is the rule that keeps tenants apart at retrieval: a host
// registered in some tenants accepts only keys of those tenants, whether
// or not host credentials are required. When they are, the request must
// also present a valid credential, and only the tenants it is valid in
// count. A host registered in no tenant gets keys of any tenant or of
// none, as the service's UnregisteredHosts option says. A failure carries
// the refusal that explains it.
func (s *Service) scopeHost(ctx context.Context, req RetrieveRequest) (hostScope, Refusal, error) {
	if s.opts.RequireHostCredential {
		tenants, refusal, err := s.authenticateHost(ctx, req)
		return hostScope{tenants: tenants}, refusal, err
	}
	creds, err := s.store.HostCredentialsFor(ctx, req.Host)
	if err != nil {
		return hostScope{}, "", storeError(err, "look up host registration")
	}
	if len(creds) > 0 {
		return hostScope{tenants: registeredTenants(creds)}, "", nil
	}
	if s.opts.UnregisteredHosts == AcceptUnregisteredHosts {
		return hostScope{anyTenant: true}, "", nil
	}
	return hostScope{}, RefusedHostUnregistered, newError(KindNotFound, refusedMessage)
}

// registeredTenants returns the tenants of a host's credentials.
func registeredTenants(creds []store.HostCredential) []string {
	tenants := make([]string, len(creds))
	for i, hc := range creds {
		tenants[i] = hc.Tenant
	}
	return tenants
}
