package store

import (
	"context"
	"time"
)

// Client is a trusted application registered in a tenant.
type Client struct {
	ID         int64
	Tenant     string
	ClientID   string
	AppName    string
	AppVersion string
	SecretHash string
	Enabled    bool
	Created    time.Time
	Updated    time.Time
}

// ClientUpdate lists the client fields to change; nil fields stay as they are.
type ClientUpdate struct {
	AppVersion *string
	Enabled    *bool
}

// ClientStore keeps client applications.
type ClientStore interface {
	// CreateClient returns ErrConflict for a duplicate client id or
	// (app_name, app_version), and ErrMissingParent for an unknown tenant.
	CreateClient(ctx context.Context, c Client) error
	// GetClient returns ErrNotFound when the client does not exist.
	GetClient(ctx context.Context, tenant, clientID string) (Client, error)
	// ListClients returns the tenant's clients ordered by client id; a
	// non-empty onlyClientID restricts the list to that client.
	ListClients(ctx context.Context, tenant, onlyClientID string) ([]Client, error)
	// UpdateClient returns the number of clients changed (0 or 1). A new
	// app_version that collides with another client gives ErrConflict.
	UpdateClient(ctx context.Context, tenant, clientID string, upd ClientUpdate, now time.Time) (int64, error)
	// SetClientSecret returns the number of clients changed (0 or 1).
	SetClientSecret(ctx context.Context, tenant, clientID, secretHash string, now time.Time) (int64, error)
	// DeleteClient deletes the client with its delegations, keys and
	// reservations and returns the number of clients deleted.
	DeleteClient(ctx context.Context, tenant, clientID string) (int64, error)
}
