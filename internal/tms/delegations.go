package tms

import (
	"context"
	"errors"

	"github.com/tmsproject/tms/internal/store"
)

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
