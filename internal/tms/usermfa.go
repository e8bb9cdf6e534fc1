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
