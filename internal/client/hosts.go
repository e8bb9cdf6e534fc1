package client

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Host records an address of a host. The creation answer fills only
// Tenant, Host and Addr.
type Host struct {
	Envelope
	ID      int64     `json:"id"`
	Tenant  string    `json:"tenant"`
	Host    string    `json:"host"`
	Addr    string    `json:"addr"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// HostList answers ListHosts.
type HostList struct {
	Envelope
	NumMappings int `json:"num_mappings"`
	// Hosts is the field "users" on the wire.
	Hosts []Host `json:"users"`
}

type hostBody struct {
	Tenant string `json:"tenant"`
	Host   string `json:"host"`
	Addr   string `json:"addr"`
}

// CreateHost records an address of a host (POST /v1/tms/hosts).
func (c *Client) CreateHost(ctx context.Context, host, addr string) (Host, error) {
	return call[Host](ctx, c, http.MethodPost, "/v1/tms/hosts", nil, hostBody{c.Creds.Tenant, host, addr})
}

// GetHost returns a host record by its id (GET /v1/tms/hosts/{id}).
func (c *Client) GetHost(ctx context.Context, id int64) (Host, error) {
	return call[Host](ctx, c, http.MethodGet, "/v1/tms/hosts/"+strconv.FormatInt(id, 10), nil, nil)
}

// ListHosts lists the tenant's host records (GET /v1/tms/hosts/list).
func (c *Client) ListHosts(ctx context.Context) (HostList, error) {
	return call[HostList](ctx, c, http.MethodGet, "/v1/tms/hosts/list", nil, nil)
}

// DeleteHost deletes a host record (DELETE /v1/tms/hosts/del).
func (c *Client) DeleteHost(ctx context.Context, host, addr string) (Deleted, error) {
	return call[Deleted](ctx, c, http.MethodDelete, "/v1/tms/hosts/del", nil, hostBody{c.Creds.Tenant, host, addr})
}
