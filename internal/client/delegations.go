package client

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Delegation lets a client obtain keys for a user. The creation answer
// fills only ClientID, ClientUserID and ExpiresAt.
type Delegation struct {
	Envelope
	ID           int64     `json:"id"`
	Tenant       string    `json:"tenant"`
	ClientID     string    `json:"client_id"`
	ClientUserID string    `json:"client_user_id"`
	ExpiresAt    time.Time `json:"expires_at"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
}

// DelegationList answers ListDelegations.
type DelegationList struct {
	Envelope
	NumUsers int `json:"num_users"`
	// Delegations is the field "users" on the wire.
	Delegations []Delegation `json:"users"`
}

// DelegationRef names a delegation: the client and the user.
type DelegationRef struct {
	ClientID string
	User     string
}

type delegationBody struct {
	Tenant       string `json:"tenant"`
	ClientID     string `json:"client_id"`
	ClientUserID string `json:"client_user_id"`
	TTLMinutes   *int64 `json:"ttl_minutes,omitempty"`
}

func (c *Client) delegationBody(ref DelegationRef, ttlMinutes *int64) delegationBody {
	return delegationBody{c.Creds.Tenant, ref.ClientID, ref.User, ttlMinutes}
}

// CreateDelegation lets a client obtain keys for a user
// (POST /v1/tms/delegations); ttlMinutes < 0 means it never expires.
func (c *Client) CreateDelegation(ctx context.Context, ref DelegationRef, ttlMinutes int64) (Delegation, error) {
	return call[Delegation](ctx, c, http.MethodPost, "/v1/tms/delegations", nil, c.delegationBody(ref, &ttlMinutes))
}

// GetDelegation returns a delegation by its id (GET /v1/tms/delegations/{id}).
func (c *Client) GetDelegation(ctx context.Context, id int64) (Delegation, error) {
	return call[Delegation](ctx, c, http.MethodGet, "/v1/tms/delegations/"+strconv.FormatInt(id, 10), nil, nil)
}

// ListDelegations lists the tenant's delegations (GET /v1/tms/delegations/list).
func (c *Client) ListDelegations(ctx context.Context) (DelegationList, error) {
	return call[DelegationList](ctx, c, http.MethodGet, "/v1/tms/delegations/list", nil, nil)
}

// UpdateDelegation sets a delegation to expire ttlMinutes from now
// (PATCH /v1/tms/delegations/upd).
func (c *Client) UpdateDelegation(ctx context.Context, ref DelegationRef, ttlMinutes int64) (Updated, error) {
	return call[Updated](ctx, c, http.MethodPatch, "/v1/tms/delegations/upd", nil, c.delegationBody(ref, &ttlMinutes))
}

// DeleteDelegation deletes a delegation and the keys that depend on it
// (DELETE /v1/tms/delegations/del).
func (c *Client) DeleteDelegation(ctx context.Context, ref DelegationRef) (Deleted, error) {
	return call[Deleted](ctx, c, http.MethodDelete, "/v1/tms/delegations/del", nil, c.delegationBody(ref, nil))
}
