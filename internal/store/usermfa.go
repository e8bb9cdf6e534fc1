package store

import (
	"context"
	"time"
)

// UserMFA records that a user passed multi-factor authentication and until
// when that counts.
type UserMFA struct {
	ID        int64
	Tenant    string
	TMSUserID string
	ExpiresAt time.Time
	Enabled   bool
	Created   time.Time
	Updated   time.Time
}

// UserMFAStore keeps user MFA records.
type UserMFAStore interface {
	// CreateUserMFA returns ErrConflict for a duplicate user and
	// ErrMissingParent for an unknown tenant.
	CreateUserMFA(ctx context.Context, m UserMFA) error
	// GetUserMFA returns ErrNotFound when the record does not exist.
	GetUserMFA(ctx context.Context, tenant, user string) (UserMFA, error)
	// ListUserMFA returns the tenant's records ordered by user id.
	ListUserMFA(ctx context.Context, tenant string) ([]UserMFA, error)
	// SetUserMFAEnabled returns the number of records changed (0 or 1).
	SetUserMFAEnabled(ctx context.Context, tenant, user string, enabled bool, now time.Time) (int64, error)
	// DeleteUserMFA deletes the record with the user's host mappings,
	// delegations, keys and reservations, and returns the number of MFA
	// records deleted.
	DeleteUserMFA(ctx context.Context, tenant, user string) (int64, error)
}
