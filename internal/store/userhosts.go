package store

import (
	"context"
	"time"
)

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
