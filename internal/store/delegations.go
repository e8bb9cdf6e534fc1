package store

import (
	"context"
	"time"
)

// Delegation lets a client act for a user.
type Delegation struct {
	ID           int64
	Tenant       string
	ClientID     string
	ClientUserID string
	ExpiresAt    time.Time
	Created      time.Time
	Updated      time.Time
}

// DelegationKey identifies a delegation.
type DelegationKey struct {
	Tenant       string
	ClientID     string
	ClientUserID string
}

// DelegationStore keeps delegations.
type DelegationStore interface {
	// CreateDelegation returns ErrConflict for a duplicate and
	// ErrMissingParent when the client or the user's MFA record is missing.
	CreateDelegation(ctx context.Context, d Delegation) error
	// GetDelegation returns ErrNotFound when no delegation has that id in the tenant.
	GetDelegation(ctx context.Context, tenant string, id int64) (Delegation, error)
	// FindDelegation returns ErrNotFound when the delegation does not exist.
	FindDelegation(ctx context.Context, key DelegationKey) (Delegation, error)
	// ListDelegations returns the tenant's delegations ordered by client and user.
	ListDelegations(ctx context.Context, tenant string) ([]Delegation, error)
	// SetDelegationExpiry returns the number of delegations changed (0 or 1).
	SetDelegationExpiry(ctx context.Context, key DelegationKey, expiresAt, now time.Time) (int64, error)
	// DeleteDelegation deletes the delegation with the keys that depend on it
	// and returns the number of delegations deleted.
	DeleteDelegation(ctx context.Context, key DelegationKey) (int64, error)
}
