package client

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// UserHost maps a user to an account on a host. The creation answer fills
// only TMSUserID, Host, HostAccount and ExpiresAt.
type UserHost struct {
	Envelope
	ID          int64     `json:"id"`
	Tenant      string    `json:"tenant"`
	TMSUserID   string    `json:"tms_user_id"`
	Host        string    `json:"host"`
	HostAccount string    `json:"host_account"`
	ExpiresAt   time.Time `json:"expires_at"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// UserHostList answers ListUserHosts.
type UserHostList struct {
	Envelope
	NumUsers int `json:"num_users"`
	// Mappings is the field "users" on the wire.
	Mappings []UserHost `json:"users"`
}

// UserHostRef names a mapping: user, host and account.
type UserHostRef struct {
	User    string
	Host    string
	Account string
}

type userHostBody struct {
	Tenant      string `json:"tenant"`
	TMSUserID   string `json:"tms_user_id"`
	Host        string `json:"host"`
	HostAccount string `json:"host_account"`
	TTLMinutes  *int64 `json:"ttl_minutes,omitempty"`
}

func (c *Client) userHostBody(ref UserHostRef, ttlMinutes *int64) userHostBody {
	return userHostBody{c.Creds.Tenant, ref.User, ref.Host, ref.Account, ttlMinutes}
}

// CreateUserHost lets a user log in to an account on a host
// (POST /v1/tms/userhosts); ttlMinutes < 0 means it never expires.
func (c *Client) CreateUserHost(ctx context.Context, ref UserHostRef, ttlMinutes int64) (UserHost, error) {
	return call[UserHost](ctx, c, http.MethodPost, "/v1/tms/userhosts", nil, c.userHostBody(ref, &ttlMinutes))
}

// GetUserHost returns a mapping by its id (GET /v1/tms/userhosts/{id}).
func (c *Client) GetUserHost(ctx context.Context, id int64) (UserHost, error) {
	return call[UserHost](ctx, c, http.MethodGet, "/v1/tms/userhosts/"+strconv.FormatInt(id, 10), nil, nil)
}

// ListUserHosts lists the tenant's mappings (GET /v1/tms/userhosts/list).
func (c *Client) ListUserHosts(ctx context.Context) (UserHostList, error) {
	return call[UserHostList](ctx, c, http.MethodGet, "/v1/tms/userhosts/list", nil, nil)
}

// UpdateUserHost sets a mapping to expire ttlMinutes from now
// (PATCH /v1/tms/userhosts/upd).
func (c *Client) UpdateUserHost(ctx context.Context, ref UserHostRef, ttlMinutes int64) (Updated, error) {
	return call[Updated](ctx, c, http.MethodPatch, "/v1/tms/userhosts/upd", nil, c.userHostBody(ref, &ttlMinutes))
}

// DeleteUserHost deletes a mapping and the keys that depend on it
// (DELETE /v1/tms/userhosts/del).
func (c *Client) DeleteUserHost(ctx context.Context, ref UserHostRef) (Deleted, error) {
	return call[Deleted](ctx, c, http.MethodDelete, "/v1/tms/userhosts/del", nil, c.userHostBody(ref, nil))
}
