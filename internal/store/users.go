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

// UserHost maps a user to an account on a host.
type UserHost struct {
	ID          int64
	Tenant      string
	TMSUserID   string
	Host        string
	HostAccount string
	ExpiresAt   time.Time
	Created     time.Time
	Updated     time.Time
}

// UserHostKey identifies a host mapping.
type UserHostKey struct {
	Tenant      string
	TMSUserID   string
	Host        string
	HostAccount string
}

// UserHostStore keeps user-to-host-account mappings.
type UserHostStore interface {
	// CreateUserHost returns ErrConflict for a duplicate mapping and
	// ErrMissingParent when the user has no MFA record.
	CreateUserHost(ctx context.Context, h UserHost) error
	// GetUserHost returns ErrNotFound when no mapping has that id in the tenant.
	GetUserHost(ctx context.Context, tenant string, id int64) (UserHost, error)
	// FindUserHost returns ErrNotFound when the mapping does not exist.
	FindUserHost(ctx context.Context, key UserHostKey) (UserHost, error)
	// ListUserHosts returns the tenant's mappings ordered by user, host and account.
	ListUserHosts(ctx context.Context, tenant string) ([]UserHost, error)
	// SetUserHostExpiry returns the number of mappings changed (0 or 1).
	SetUserHostExpiry(ctx context.Context, key UserHostKey, expiresAt, now time.Time) (int64, error)
	// DeleteUserHost deletes the mapping with the keys that depend on it and
	// returns the number of mappings deleted.
	DeleteUserHost(ctx context.Context, key UserHostKey) (int64, error)
}

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

// Host records a network address of a named host.
type Host struct {
	ID      int64
	Tenant  string
	Host    string
	Addr    string
	Created time.Time
	Updated time.Time
}

// HostStore keeps host address records.
type HostStore interface {
	// CreateHost returns ErrConflict for a duplicate (host, addr).
	CreateHost(ctx context.Context, h Host) error
	// GetHost returns ErrNotFound when no host record has that id in the tenant.
	GetHost(ctx context.Context, tenant string, id int64) (Host, error)
	// ListHosts returns the tenant's host records ordered by host and address.
	ListHosts(ctx context.Context, tenant string) ([]Host, error)
	// DeleteHost returns the number of host records deleted.
	DeleteHost(ctx context.Context, tenant, host, addr string) (int64, error)
}
