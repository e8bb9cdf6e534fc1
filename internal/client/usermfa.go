package client

import (
	"context"
	"net/http"
	"time"
)

// UserMFA is a user's MFA record, which every key of the user depends on.
// The creation answer fills only TMSUserID, ExpiresAt and Enabled.
type UserMFA struct {
	Envelope
	ID        int64     `json:"id"`
	Tenant    string    `json:"tenant"`
	TMSUserID string    `json:"tms_user_id"`
	ExpiresAt time.Time `json:"expires_at"`
	Enabled   Bool      `json:"enabled"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
}

// UserMFAList answers ListUserMFA.
type UserMFAList struct {
	Envelope
	NumUsers int       `json:"num_users"`
	Users    []UserMFA `json:"users"`
}

// CreateUserMFA creates an enabled MFA record for user in the credentials'
// tenant (POST /v1/tms/usermfa); ttlMinutes < 0 means it never expires.
func (c *Client) CreateUserMFA(ctx context.Context, user string, ttlMinutes int64) (UserMFA, error) {
	body := struct {
		Tenant     string `json:"tenant"`
		TMSUserID  string `json:"tms_user_id"`
		TTLMinutes int64  `json:"ttl_minutes"`
	}{c.Creds.Tenant, user, ttlMinutes}
	return call[UserMFA](ctx, c, http.MethodPost, "/v1/tms/usermfa", nil, body)
}

// GetUserMFA returns a user's MFA record (GET /v1/tms/usermfa/{tms_user_id}).
func (c *Client) GetUserMFA(ctx context.Context, user string) (UserMFA, error) {
	return call[UserMFA](ctx, c, http.MethodGet, pathf("/v1/tms/usermfa/%s", user), nil, nil)
}

// ListUserMFA lists the tenant's MFA records (GET /v1/tms/usermfa/list).
func (c *Client) ListUserMFA(ctx context.Context) (UserMFAList, error) {
	return call[UserMFAList](ctx, c, http.MethodGet, "/v1/tms/usermfa/list", nil, nil)
}

// UpdateUserMFA enables or disables a user's MFA record
// (PATCH /v1/tms/usermfa/upd).
func (c *Client) UpdateUserMFA(ctx context.Context, user string, enabled bool) (Updated, error) {
	body := struct {
		TMSUserID string `json:"tms_user_id"`
		Tenant    string `json:"tenant"`
		Enabled   bool   `json:"enabled"`
	}{user, c.Creds.Tenant, enabled}
	return call[Updated](ctx, c, http.MethodPatch, "/v1/tms/usermfa/upd", nil, body)
}

// DeleteUserMFA deletes a user's MFA record with the user's host mappings,
// delegations and keys (DELETE /v1/tms/usermfa/del/{tms_user_id}).
func (c *Client) DeleteUserMFA(ctx context.Context, user string) (Deleted, error) {
	return call[Deleted](ctx, c, http.MethodDelete, pathf("/v1/tms/usermfa/del/%s", user), nil, nil)
}
