package tms

import (
	"context"
	"errors"

	"github.com/tmsproject/tms/internal/store"
)

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
