package store

import (
	"context"
	"time"
)

// HostCredential is the secret a login host presents when it asks for the
// key sshd may accept. A tenant administrator creates one per host name; the
// host then proves it is that host in that tenant.
type HostCredential struct {
	ID     int64
	Tenant string
	// Host is the host name as keys and host mappings name it.
	Host string
	// SecretHash is the stored hash of the secret (see package secret).
	SecretHash string
	Created    time.Time
	Updated    time.Time
}

// HostCredentialStore keeps host credentials.
type HostCredentialStore interface {
	// CreateHostCredential returns ErrConflict when the tenant already has a
	// credential for the host and ErrMissingParent for an unknown tenant.
	CreateHostCredential(ctx context.Context, c HostCredential) error
	// ListHostCredentials returns the tenant's credentials ordered by host.
	ListHostCredentials(ctx context.Context, tenant string) ([]HostCredential, error)
	// HostCredentialsFor returns the credentials of every tenant for the host
	// name, ordered by tenant; none is an empty list, not an error.
	HostCredentialsFor(ctx context.Context, host string) ([]HostCredential, error)
	// DeleteHostCredential deletes the tenant's credential for the host and
	// returns the number deleted (0 or 1).
	DeleteHostCredential(ctx context.Context, tenant, host string) (int64, error)
}
