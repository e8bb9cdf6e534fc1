package client

import (
	"context"
	"net/http"
	"time"
)

// Tenant is a tenant record.
type Tenant struct {
	Envelope
	ID      int64     `json:"id"`
	Name    string    `json:"tenant"`
	Enabled Bool      `json:"enabled"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// TenantList answers ListTenants.
type TenantList struct {
	Envelope
	NumTenants int      `json:"num_tenants"`
	Tenants    []Tenant `json:"tenants"`
}

// NewTenant answers CreateTenant with the one-time administrator secret.
type NewTenant struct {
	Envelope
	Name        string `json:"tenant"`
	Enabled     bool   `json:"enabled"`
	AdminID     string `json:"admin_id"`
	AdminSecret string `json:"admin_secret"`
}

// CreateTenant creates a tenant and its administrator
// (POST /v1/tms/tenants/{tenant}). Only the administrator of the default
// tenant may, so the credentials must be for tenant "default".
func (c *Client) CreateTenant(ctx context.Context, name string) (NewTenant, error) {
	return call[NewTenant](ctx, c, http.MethodPost, pathf("/v1/tms/tenants/%s", name), nil, nil)
}

// GetTenant returns a tenant (GET /v1/tms/tenants/{tenant}); it needs no
// credentials.
func (c *Client) GetTenant(ctx context.Context, name string) (Tenant, error) {
	return call[Tenant](ctx, c, http.MethodGet, pathf("/v1/tms/tenants/%s", name), nil, nil)
}

// ListTenants lists tenants (GET /v1/tms/tenants/list) with administrator
// credentials: every tenant for the default tenant's administrator, their
// own for any other.
func (c *Client) ListTenants(ctx context.Context) (TenantList, error) {
	return call[TenantList](ctx, c, http.MethodGet, "/v1/tms/tenants/list", nil, nil)
}

// UpdateTenant enables or disables the credentials' own tenant
// (PATCH /v1/tms/tenants/upd).
func (c *Client) UpdateTenant(ctx context.Context, name string, enabled bool) (Updated, error) {
	body := struct {
		Tenant  string `json:"tenant"`
		Enabled bool   `json:"enabled"`
	}{name, enabled}
	return call[Updated](ctx, c, http.MethodPatch, "/v1/tms/tenants/upd", nil, body)
}

// DeleteTenant deletes an empty tenant and its administrator
// (DELETE /v1/tms/tenants/del/{tenant}).
func (c *Client) DeleteTenant(ctx context.Context, name string) (Deleted, error) {
	return call[Deleted](ctx, c, http.MethodDelete, pathf("/v1/tms/tenants/del/%s", name), nil, nil)
}

// WipeTenant deletes a tenant with everything in it
// (DELETE /v1/tms/tenants/wipe/{tenant}).
func (c *Client) WipeTenant(ctx context.Context, name string) (Deleted, error) {
	return call[Deleted](ctx, c, http.MethodDelete, pathf("/v1/tms/tenants/wipe/%s", name), nil, nil)
}
