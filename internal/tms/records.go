package tms

import (
	"context"
	"errors"

	"github.com/tmsproject/tms/internal/store"
)

// CreateUserMFA records that a user passed MFA, valid for ttlMinutes
// (negative: never expires).
func (s *Service) CreateUserMFA(ctx context.Context, c Credentials, tenant, user string, ttlMinutes int64) (store.UserMFA, error) {
	if err := checkTexts("tenant", tenant, "tms_user_id", user); err != nil {
		return store.UserMFA{}, err
	}
	if _, err := s.authBody(ctx, c, tenant, "create user MFA records"); err != nil {
		return store.UserMFA{}, err
	}
	now := s.now()
	m := store.UserMFA{Tenant: tenant, TMSUserID: user, ExpiresAt: expiryAfter(now, ttlMinutes), Enabled: true, Created: now, Updated: now}
	err := s.store.CreateUserMFA(ctx, m)
	if errors.Is(err, store.ErrConflict) {
		return store.UserMFA{}, &Error{Kind: KindConflict, Err: err, Message: "User MFA record for " + user + " already exists in tenant " + tenant + "."}
	}
	return m, storeError(err, "create user MFA record")
}

// GetUserMFA returns a user's MFA record.
func (s *Service) GetUserMFA(ctx context.Context, c Credentials, user string) (store.UserMFA, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "get user MFA records"); err != nil {
		return store.UserMFA{}, err
	}
	m, err := s.store.GetUserMFA(ctx, c.Tenant, user)
	return m, storeError(err, "get user MFA record")
}

// ListUserMFA lists the tenant's MFA records.
func (s *Service) ListUserMFA(ctx context.Context, c Credentials) ([]store.UserMFA, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "list user MFA records"); err != nil {
		return nil, err
	}
	list, err := s.store.ListUserMFA(ctx, c.Tenant)
	return list, storeError(err, "list user MFA records")
}

// SetUserMFAEnabled enables or disables a user's MFA record and returns the
// number of records changed.
func (s *Service) SetUserMFAEnabled(ctx context.Context, c Credentials, tenant, user string, enabled bool) (int64, error) {
	if err := checkTexts("tenant", tenant, "tms_user_id", user); err != nil {
		return 0, err
	}
	if _, err := s.authBody(ctx, c, tenant, "update user MFA records"); err != nil {
		return 0, err
	}
	n, err := s.store.SetUserMFAEnabled(ctx, tenant, user, enabled, s.now())
	return n, storeError(err, "update user MFA record")
}

// DeleteUserMFA deletes a user's MFA record, which revokes everything that
// depends on it, and returns the number of records deleted.
func (s *Service) DeleteUserMFA(ctx context.Context, c Credentials, user string) (int64, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "delete user MFA records"); err != nil {
		return 0, err
	}
	n, err := s.store.DeleteUserMFA(ctx, c.Tenant, user)
	return n, storeError(err, "delete user MFA record")
}

func checkUserHostKey(k store.UserHostKey) error {
	return checkTexts("tenant", k.Tenant, "tms_user_id", k.TMSUserID, "host", k.Host, "host_account", k.HostAccount)
}

// CreateUserHost maps a user to an account on a host for ttlMinutes
// (negative: never expires).
func (s *Service) CreateUserHost(ctx context.Context, c Credentials, k store.UserHostKey, ttlMinutes int64) (store.UserHost, error) {
	if err := checkUserHostKey(k); err != nil {
		return store.UserHost{}, err
	}
	if _, err := s.authBody(ctx, c, k.Tenant, "create user host mappings"); err != nil {
		return store.UserHost{}, err
	}
	now := s.now()
	h := store.UserHost{Tenant: k.Tenant, TMSUserID: k.TMSUserID, Host: k.Host, HostAccount: k.HostAccount,
		ExpiresAt: expiryAfter(now, ttlMinutes), Created: now, Updated: now}
	err := s.store.CreateUserHost(ctx, h)
	switch {
	case errors.Is(err, store.ErrConflict):
		return store.UserHost{}, &Error{Kind: KindConflict, Err: err, Message: "User " + k.TMSUserID + " is already mapped to account " +
			k.HostAccount + " on host " + k.Host + "."}
	case errors.Is(err, store.ErrMissingParent):
		return store.UserHost{}, &Error{Kind: KindNotFound, Err: err, Message: "User " + k.TMSUserID + " has no MFA record in tenant " +
			k.Tenant + "; create it first with POST /v1/tms/usermfa (tms usermfa create --user " + k.TMSUserID + ")."}
	}
	return h, storeError(err, "create user host mapping")
}

// GetUserHost returns a host mapping by id.
func (s *Service) GetUserHost(ctx context.Context, c Credentials, id int64) (store.UserHost, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "get user host mappings"); err != nil {
		return store.UserHost{}, err
	}
	h, err := s.store.GetUserHost(ctx, c.Tenant, id)
	return h, storeError(err, "get user host mapping")
}

// ListUserHosts lists the tenant's host mappings.
func (s *Service) ListUserHosts(ctx context.Context, c Credentials) ([]store.UserHost, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "list user host mappings"); err != nil {
		return nil, err
	}
	list, err := s.store.ListUserHosts(ctx, c.Tenant)
	return list, storeError(err, "list user host mappings")
}

// UpdateUserHost sets a mapping to expire ttlMinutes from now and returns
// the number of mappings changed and the new expiry.
func (s *Service) UpdateUserHost(ctx context.Context, c Credentials, k store.UserHostKey, ttlMinutes int64) (int64, store.UserHost, error) {
	if err := checkUserHostKey(k); err != nil {
		return 0, store.UserHost{}, err
	}
	if _, err := s.authBody(ctx, c, k.Tenant, "update user host mappings"); err != nil {
		return 0, store.UserHost{}, err
	}
	now := s.now()
	exp := expiryAfter(now, ttlMinutes)
	n, err := s.store.SetUserHostExpiry(ctx, k, exp, now)
	return n, store.UserHost{ExpiresAt: exp}, storeError(err, "update user host mapping")
}

// DeleteUserHost deletes a mapping and the keys that depend on it.
func (s *Service) DeleteUserHost(ctx context.Context, c Credentials, k store.UserHostKey) (int64, error) {
	if err := checkUserHostKey(k); err != nil {
		return 0, err
	}
	if _, err := s.authBody(ctx, c, k.Tenant, "delete user host mappings"); err != nil {
		return 0, err
	}
	n, err := s.store.DeleteUserHost(ctx, k)
	return n, storeError(err, "delete user host mapping")
}

func checkDelegationKey(k store.DelegationKey) error {
	return checkTexts("tenant", k.Tenant, "client_id", k.ClientID, "client_user_id", k.ClientUserID)
}

// CreateDelegation lets a client act for a user for ttlMinutes (negative:
// never expires).
func (s *Service) CreateDelegation(ctx context.Context, c Credentials, k store.DelegationKey, ttlMinutes int64) (store.Delegation, error) {
	if err := checkDelegationKey(k); err != nil {
		return store.Delegation{}, err
	}
	if _, err := s.authBody(ctx, c, k.Tenant, "create delegations"); err != nil {
		return store.Delegation{}, err
	}
	now := s.now()
	d := store.Delegation{Tenant: k.Tenant, ClientID: k.ClientID, ClientUserID: k.ClientUserID,
		ExpiresAt: expiryAfter(now, ttlMinutes), Created: now, Updated: now}
	err := s.store.CreateDelegation(ctx, d)
	switch {
	case errors.Is(err, store.ErrConflict):
		return store.Delegation{}, &Error{Kind: KindConflict, Err: err, Message: "Client " + k.ClientID +
			" already has a delegation from user " + k.ClientUserID + "; extend it with PATCH /v1/tms/delegations/upd."}
	case errors.Is(err, store.ErrMissingParent):
		return store.Delegation{}, &Error{Kind: KindNotFound, Err: err, Message: "Client " + k.ClientID +
			" or the MFA record of user " + k.ClientUserID + " does not exist in tenant " + k.Tenant +
			"; create the MFA record with POST /v1/tms/usermfa (tms usermfa create --user " + k.ClientUserID + ")."}
	}
	return d, storeError(err, "create delegation")
}

// GetDelegation returns a delegation by id.
func (s *Service) GetDelegation(ctx context.Context, c Credentials, id int64) (store.Delegation, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "get delegations"); err != nil {
		return store.Delegation{}, err
	}
	d, err := s.store.GetDelegation(ctx, c.Tenant, id)
	return d, storeError(err, "get delegation")
}

// ListDelegations lists the tenant's delegations.
func (s *Service) ListDelegations(ctx context.Context, c Credentials) ([]store.Delegation, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "list delegations"); err != nil {
		return nil, err
	}
	list, err := s.store.ListDelegations(ctx, c.Tenant)
	return list, storeError(err, "list delegations")
}

// UpdateDelegation sets a delegation to expire ttlMinutes from now and
// returns the number changed and the new expiry.
func (s *Service) UpdateDelegation(ctx context.Context, c Credentials, k store.DelegationKey, ttlMinutes int64) (int64, store.Delegation, error) {
	if err := checkDelegationKey(k); err != nil {
		return 0, store.Delegation{}, err
	}
	if _, err := s.authBody(ctx, c, k.Tenant, "update delegations"); err != nil {
		return 0, store.Delegation{}, err
	}
	now := s.now()
	exp := expiryAfter(now, ttlMinutes)
	n, err := s.store.SetDelegationExpiry(ctx, k, exp, now)
	return n, store.Delegation{ExpiresAt: exp}, storeError(err, "update delegation")
}

// DeleteDelegation deletes a delegation and the keys that depend on it.
func (s *Service) DeleteDelegation(ctx context.Context, c Credentials, k store.DelegationKey) (int64, error) {
	if err := checkDelegationKey(k); err != nil {
		return 0, err
	}
	if _, err := s.authBody(ctx, c, k.Tenant, "delete delegations"); err != nil {
		return 0, err
	}
	n, err := s.store.DeleteDelegation(ctx, k)
	return n, storeError(err, "delete delegation")
}

// CreateHost records an address of a host.
func (s *Service) CreateHost(ctx context.Context, c Credentials, tenant, host, addr string) (store.Host, error) {
	if err := checkTexts("tenant", tenant, "host", host, "addr", addr); err != nil {
		return store.Host{}, err
	}
	if _, err := s.authBody(ctx, c, tenant, "create hosts"); err != nil {
		return store.Host{}, err
	}
	now := s.now()
	h := store.Host{Tenant: tenant, Host: host, Addr: addr, Created: now, Updated: now}
	err := s.store.CreateHost(ctx, h)
	if errors.Is(err, store.ErrConflict) {
		return store.Host{}, &Error{Kind: KindConflict, Err: err, Message: "Host " + host + " with address " + addr + " already exists."}
	}
	return h, storeError(err, "create host")
}

// GetHost returns a host record by id.
func (s *Service) GetHost(ctx context.Context, c Credentials, id int64) (store.Host, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "get hosts"); err != nil {
		return store.Host{}, err
	}
	h, err := s.store.GetHost(ctx, c.Tenant, id)
	return h, storeError(err, "get host")
}

// ListHosts lists the tenant's host records.
func (s *Service) ListHosts(ctx context.Context, c Credentials) ([]store.Host, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "list hosts"); err != nil {
		return nil, err
	}
	list, err := s.store.ListHosts(ctx, c.Tenant)
	return list, storeError(err, "list hosts")
}

// DeleteHost deletes a host record.
func (s *Service) DeleteHost(ctx context.Context, c Credentials, tenant, host, addr string) (int64, error) {
	if err := checkTexts("tenant", tenant, "host", host, "addr", addr); err != nil {
		return 0, err
	}
	if _, err := s.authBody(ctx, c, tenant, "delete hosts"); err != nil {
		return 0, err
	}
	n, err := s.store.DeleteHost(ctx, tenant, host, addr)
	return n, storeError(err, "delete host")
}
