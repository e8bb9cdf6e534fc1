package client

import (
	"context"
	"net/http"
	"time"
)

// HostCredential is a login host's credential as listed; the secret itself
// is never listed.
type HostCredential struct {
	ID      int64     `json:"id"`
	Tenant  string    `json:"tenant"`
	Host    string    `json:"host"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// HostSecret answers CreateHostCredential: the only time the secret is sent.
type HostSecret struct {
	Envelope
	Tenant     string `json:"tenant"`
	Host       string `json:"host"`
	HostSecret string `json:"host_secret"`
}

// HostCredentialList answers ListHostCredentials.
type HostCredentialList struct {
	Envelope
	NumCredentials int              `json:"num_credentials"`
	Credentials    []HostCredential `json:"credentials"`
}

type hostCredentialBody struct {
	Tenant string `json:"tenant"`
	Host   string `json:"host"`
}

// CreateHostCredential creates the credential a login host sends with its
// key lookups and returns its secret (POST /v1/tms/hosts/credentials).
func (c *Client) CreateHostCredential(ctx context.Context, host string) (HostSecret, error) {
	return call[HostSecret](ctx, c, http.MethodPost, "/v1/tms/hosts/credentials", nil, hostCredentialBody{c.Creds.Tenant, host})
}

// ListHostCredentials lists the tenant's host credentials
// (GET /v1/tms/hosts/credentials/list).
func (c *Client) ListHostCredentials(ctx context.Context) (HostCredentialList, error) {
	return call[HostCredentialList](ctx, c, http.MethodGet, "/v1/tms/hosts/credentials/list", nil, nil)
}

// DeleteHostCredential deletes a host's credential
// (DELETE /v1/tms/hosts/credentials/del).
func (c *Client) DeleteHostCredential(ctx context.Context, host string) (Deleted, error) {
	return call[Deleted](ctx, c, http.MethodDelete, "/v1/tms/hosts/credentials/del", nil, hostCredentialBody{c.Creds.Tenant, host})
}
