package tms

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tmsproject/tms/internal/secret"
	"github.com/tmsproject/tms/internal/store"
)

// HostSecret is a newly created host credential together with its secret,
// which exists only in this value: the store keeps its hash.
type HostSecret struct {
	Credential store.HostCredential
	Secret     string
}

// The reasons retrieval refuses a lookup for its host.
const (
	RefusedHostCredentialMissing Refusal = "host_credential_missing"
	RefusedHostCredentialInvalid Refusal = "host_credential_invalid"
	// RefusedHostMismatch: the host credential names another host.
	RefusedHostMismatch Refusal = "host_credential_mismatch"
	// RefusedOtherTenant: the key belongs to a tenant the host is not
	// registered in.
	RefusedOtherTenant Refusal = "other_tenant"
)

// checkHeaderText returns a 400 error naming field unless value can travel
// unchanged in an HTTP header: printable ASCII without spaces at either end.
func checkHeaderText(field, value string) error {
	for i := 0; i < len(value); i++ {
		if value[i] < 0x20 || value[i] > 0x7e {
			return newError(KindInvalid, "%s: %q must be printable ASCII, as login hosts send it in the X-TMS-HOST-ID header", field, value)
		}
	}
	if value != strings.TrimSpace(value) {
		return newError(KindInvalid, "%s: %q has leading or trailing spaces", field, value)
	}
	return nil
}

// CreateHostCredential creates the credential a login host presents when it
// looks keys up, and returns it with its secret. The tenant administrator of
// tenant must call it. A tenant has at most one credential per host; to
// replace a lost or leaked secret, delete the credential and create it again.
func (s *Service) CreateHostCredential(ctx context.Context, c Credentials, tenant, host string) (HostSecret, error) {
	if err := checkTexts("tenant", tenant, "host", host); err != nil {
		return HostSecret{}, err
	}
	if err := checkHeaderText("host", host); err != nil {
		return HostSecret{}, err
	}
	if _, err := s.authBody(ctx, c, tenant, "create host credentials"); err != nil {
		return HostSecret{}, err
	}
	sec := secret.New()
	now := s.now()
	hc := store.HostCredential{Tenant: tenant, Host: host, SecretHash: secret.Hash(sec), Created: now, Updated: now}
	err := s.store.CreateHostCredential(ctx, hc)
	if errors.Is(err, store.ErrConflict) {
		return HostSecret{}, &Error{Kind: KindConflict, Err: err, Message: fmt.Sprintf("Host %s already has a credential in tenant %s; "+
			"to replace it, delete it first (tms hosts credentials delete --host %s) and create a new one.", host, tenant, host)}
	}
	if err != nil {
		return HostSecret{}, storeError(err, "create host credential")
	}
	return HostSecret{Credential: hc, Secret: sec}, nil
}

// ListHostCredentials lists the tenant's host credentials (without their
// secrets, which are not stored). Only the tenant administrator may call it.
func (s *Service) ListHostCredentials(ctx context.Context, c Credentials) ([]store.HostCredential, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "list host credentials"); err != nil {
		return nil, err
	}
	list, err := s.store.ListHostCredentials(ctx, c.Tenant)
	return list, storeError(err, "list host credentials")
}

// DeleteHostCredential deletes the tenant's credential for host and returns
// the number deleted. While host credentials are required, the host cannot
// look keys up until it has a new one.
func (s *Service) DeleteHostCredential(ctx context.Context, c Credentials, tenant, host string) (int64, error) {
	if err := checkTexts("tenant", tenant, "host", host); err != nil {
		return 0, err
	}
	if _, err := s.authBody(ctx, c, tenant, "delete host credentials"); err != nil {
		return 0, err
	}
	n, err := s.store.DeleteHostCredential(ctx, tenant, host)
	return n, storeError(err, "delete host credential")
}

// authenticateHost checks the host credential a retrieval carries and
// returns the tenants it is valid in. The credential must name the host the
// request asks about. A failure is a 401 with the refusal that explains it.
func (s *Service) authenticateHost(ctx context.Context, req RetrieveRequest) ([]string, Refusal, error) {
	const action = "ERROR: NOT AUTHORIZED to retrieve keys: "
	switch {
	case req.HostID == "" || req.HostSecret == "":
		return nil, RefusedHostCredentialMissing, newError(KindUnauthorized, action+
			"this server requires a host credential in the X-TMS-HOST-ID and X-TMS-HOST-SECRET headers "+
			"(host_secret_file in tms_keycmd.toml).")
	case req.HostID != req.Host:
		return nil, RefusedHostMismatch, newError(KindUnauthorized, action+
			"the host credential is for host %q, but the request asks about host %q.", req.HostID, req.Host)
	}
	creds, err := s.store.HostCredentialsFor(ctx, req.HostID)
	if err != nil {
		return nil, "", storeError(err, "check host credential")
	}
	var tenants []string
	for _, hc := range creds {
		if secret.Matches(req.HostSecret, hc.SecretHash) {
			tenants = append(tenants, hc.Tenant)
		}
	}
	if len(creds) == 0 {
		// A host no tenant registered costs what a wrong secret does.
		secret.Verify(req.HostSecret, "", false)
	}
	if len(tenants) == 0 {
		return nil, RefusedHostCredentialInvalid, newError(KindUnauthorized, action+"no valid host credential for host %q.", req.HostID)
	}
	return tenants, "", nil
}
