package store

import (
	"context"
	"time"
)

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
