package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ClientRecord is a registered client application. The secret is never
// returned.
type ClientRecord struct {
	Envelope
	ID         int64     `json:"id"`
	Tenant     string    `json:"tenant"`
	ClientID   string    `json:"client_id"`
	AppName    string    `json:"app_name"`
	AppVersion string    `json:"app_version"`
	Enabled    Bool      `json:"enabled"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
}

// ClientList answers ListClients.
type ClientList struct {
	Envelope
	NumClients int            `json:"num_clients"`
	Clients    []ClientRecord `json:"clients"`
}

// ClientSecret answers client creation and secret rotation with the
// one-time client secret.
type ClientSecret struct {
	Envelope
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// Tenant is set by rotation only.
	Tenant string `json:"tenant,omitempty"`
}

// NewClient describes a client application to register.
type NewClient struct {
	ClientID   string
	AppName    string
	AppVersion string
}

// ClientUpdate lists the client fields to change; nil fields stay.
type ClientUpdate struct {
	AppVersion *string
	Enabled    *bool
}

// CreateClient registers a client application in the credentials' tenant
// (POST /v1/tms/client). It needs administrator credentials.
func (c *Client) CreateClient(ctx context.Context, nc NewClient) (ClientSecret, error) {
	body := struct {
		ClientID   string `json:"client_id"`
		Tenant     string `json:"tenant"`
		AppName    string `json:"app_name"`
		AppVersion string `json:"app_version"`
	}{nc.ClientID, c.Creds.Tenant, nc.AppName, nc.AppVersion}
	return call[ClientSecret](ctx, c, http.MethodPost, "/v1/tms/client", nil, body)
}

// GetClient returns a client (GET /v1/tms/client/{client_id}). A client may
// read only itself; an administrator any client of the tenant.
func (c *Client) GetClient(ctx context.Context, clientID string) (ClientRecord, error) {
	return call[ClientRecord](ctx, c, http.MethodGet, pathf("/v1/tms/client/%s", clientID), nil, nil)
}

// ListClients lists the tenant's clients (GET /v1/tms/client/list); a
// client sees only itself.
func (c *Client) ListClients(ctx context.Context) (ClientList, error) {
	return call[ClientList](ctx, c, http.MethodGet, "/v1/tms/client/list", nil, nil)
}

// UpdateClient changes a client's app version or enabled flag
// (PATCH /v1/tms/client/upd/{client_id}).
func (c *Client) UpdateClient(ctx context.Context, clientID string, upd ClientUpdate) (Updated, error) {
	q := url.Values{}
	if upd.AppVersion != nil {
		q.Set("app_version", *upd.AppVersion)
	}
	if upd.Enabled != nil {
		q.Set("enabled", strconv.FormatBool(*upd.Enabled))
	}
	return call[Updated](ctx, c, http.MethodPatch, pathf("/v1/tms/client/upd/%s", clientID), q, nil)
}

// RotateClientSecret gives a client a new secret and returns it
// (PATCH /v1/tms/client/secret/{client_id}).
func (c *Client) RotateClientSecret(ctx context.Context, clientID string) (ClientSecret, error) {
	return call[ClientSecret](ctx, c, http.MethodPatch, pathf("/v1/tms/client/secret/%s", clientID), nil, nil)
}

// DeleteClient deletes a client with its delegations, keys and
// reservations (DELETE /v1/tms/client/del/{client_id}).
func (c *Client) DeleteClient(ctx context.Context, clientID string) (Deleted, error) {
	return call[Deleted](ctx, c, http.MethodDelete, pathf("/v1/tms/client/del/%s", clientID), nil, nil)
}
