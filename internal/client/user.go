package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// User is an end user who signs in through the browser pages of the device
// flow. TOTP is "none", "pending" (enrolment not confirmed) or "enrolled".
// Origin is where the user signs in: "local", "upstream:<id>" or
// "ldap:<id>".
type User struct {
	Envelope
	ID       int64     `json:"id"`
	Tenant   string    `json:"tenant"`
	Username string    `json:"username"`
	Origin   string    `json:"origin"`
	Enabled  Bool      `json:"enabled"`
	TOTP     string    `json:"totp"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
}

// UserList answers ListUsers.
type UserList struct {
	Envelope
	NumUsers int    `json:"num_users"`
	Users    []User `json:"users"`
}

// UserChange changes a user; nil fields stay.
type UserChange struct {
	Enabled  *bool
	Password *string
}

// TOTPProvision is a new TOTP secret for a user with its otpauth URI.
type TOTPProvision struct {
	Envelope
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
}

// CreateUser registers a user in the credentials' tenant
// (POST /v1/tms/users). It needs administrator credentials.
func (c *Client) CreateUser(ctx context.Context, username, password string) (User, error) {
	body := struct {
		Tenant   string `json:"tenant,omitempty"`
		Username string `json:"username"`
		Password string `json:"password"`
	}{c.Creds.Tenant, username, password}
	return call[User](ctx, c, http.MethodPost, "/v1/tms/users", nil, body)
}

// CreateUserFrom registers a user who signs in through an upstream provider
// or a directory (origin "upstream:<id>" or "ldap:<id>") and has no TMS
// password (POST /v1/tms/users). It needs administrator credentials.
func (c *Client) CreateUserFrom(ctx context.Context, username, origin string) (User, error) {
	body := struct {
		Tenant   string `json:"tenant,omitempty"`
		Username string `json:"username"`
		Origin   string `json:"origin"`
	}{c.Creds.Tenant, username, origin}
	return call[User](ctx, c, http.MethodPost, "/v1/tms/users", nil, body)
}

// GetUser returns a user (GET /v1/tms/users/{username}).
func (c *Client) GetUser(ctx context.Context, username string) (User, error) {
	return call[User](ctx, c, http.MethodGet, pathf("/v1/tms/users/%s", username), nil, nil)
}

// ListUsers lists the tenant's users (GET /v1/tms/users/list).
func (c *Client) ListUsers(ctx context.Context) (UserList, error) {
	return call[UserList](ctx, c, http.MethodGet, "/v1/tms/users/list", nil, nil)
}

// UpdateUser enables or disables a user or sets a new password
// (PATCH /v1/tms/users/upd).
func (c *Client) UpdateUser(ctx context.Context, username string, ch UserChange) (Updated, error) {
	body := struct {
		Tenant   string  `json:"tenant,omitempty"`
		Username string  `json:"username"`
		Enabled  *bool   `json:"enabled,omitempty"`
		Password *string `json:"password,omitempty"`
	}{c.Creds.Tenant, username, ch.Enabled, ch.Password}
	return call[Updated](ctx, c, http.MethodPatch, "/v1/tms/users/upd", nil, body)
}

// DeleteUser deletes a user with the user's sign-ins and tokens
// (DELETE /v1/tms/users/del/{username}).
func (c *Client) DeleteUser(ctx context.Context, username string) (Deleted, error) {
	return call[Deleted](ctx, c, http.MethodDelete, pathf("/v1/tms/users/del/%s", username), nil, nil)
}

// ProvisionTOTP gives a user a new TOTP secret, replacing any earlier one
// (POST /v1/tms/users/{username}/totp).
func (c *Client) ProvisionTOTP(ctx context.Context, username string) (TOTPProvision, error) {
	return call[TOTPProvision](ctx, c, http.MethodPost, pathf("/v1/tms/users/%s/totp", username), nil, nil)
}

// OAuthClient is a public OAuth client of a tenant, such as tms-cli.
type OAuthClient struct {
	Envelope
	ID         int64     `json:"id"`
	Tenant     string    `json:"tenant"`
	ClientID   string    `json:"client_id"`
	AppName    string    `json:"app_name"`
	AppVersion string    `json:"app_version"`
	Builtin    bool      `json:"builtin"`
	Enabled    Bool      `json:"enabled"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
}

// OAuthClientList answers ListOAuthClients.
type OAuthClientList struct {
	Envelope
	NumClients int           `json:"num_clients"`
	Clients    []OAuthClient `json:"clients"`
}

// CreateOAuthClient registers a public OAuth client
// (POST /v1/tms/oauthclients). It needs administrator credentials.
func (c *Client) CreateOAuthClient(ctx context.Context, clientID, appName, appVersion string) (OAuthClient, error) {
	body := struct {
		Tenant     string `json:"tenant,omitempty"`
		ClientID   string `json:"client_id"`
		AppName    string `json:"app_name"`
		AppVersion string `json:"app_version"`
	}{c.Creds.Tenant, clientID, appName, appVersion}
	return call[OAuthClient](ctx, c, http.MethodPost, "/v1/tms/oauthclients", nil, body)
}

// ListOAuthClients lists the tenant's public OAuth clients
// (GET /v1/tms/oauthclients/list).
func (c *Client) ListOAuthClients(ctx context.Context) (OAuthClientList, error) {
	return call[OAuthClientList](ctx, c, http.MethodGet, "/v1/tms/oauthclients/list", nil, nil)
}

// Me is what the signed-in user learns about the login: zero times mean
// that the record is missing.
type Me struct {
	Envelope
	Tenant              string    `json:"tenant"`
	Username            string    `json:"username"`
	ClientID            string    `json:"client_id"`
	MFAEnabled          bool      `json:"mfa_enabled"`
	MFAExpiresAt        time.Time `json:"mfa_expires_at"`
	DelegationExpiresAt time.Time `json:"delegation_expires_at"`
	TokenExpiresAt      time.Time `json:"token_expires_at"`
}

// Me describes the user of the bearer token (GET /v1/tms/user/me).
func (c *Client) Me(ctx context.Context) (Me, error) {
	return call[Me](ctx, c, http.MethodGet, "/v1/tms/user/me", nil, nil)
}

// ListMyKeys lists the keys issued for the user of the bearer token, by
// any client (GET /v1/tms/user/keys).
func (c *Client) ListMyKeys(ctx context.Context) (PubkeyList, error) {
	return call[PubkeyList](ctx, c, http.MethodGet, "/v1/tms/user/keys", nil, nil)
}

// MyKeyRequest asks for a key pair for the user of the bearer token on a
// host and account the user is mapped to.
type MyKeyRequest struct {
	Host    string
	Account string
	// NumUses limits the logins; 0 or less means unlimited.
	NumUses int64
	// TTLMinutes limits the lifetime; 0 or less means the key never expires.
	TTLMinutes int64
	// KeyType is "ed25519" (also when empty), "ecdsa" or "rsa".
	KeyType string
}

// CreateMyKey creates a key pair for the user of the bearer token
// (POST /v1/tms/user/keys).
func (c *Client) CreateMyKey(ctx context.Context, req MyKeyRequest) (IssuedKey, error) {
	body := struct {
		Host        string `json:"host"`
		HostAccount string `json:"host_account"`
		NumUses     int64  `json:"num_uses"`
		TTLMinutes  int64  `json:"ttl_minutes"`
		KeyType     string `json:"key_type,omitempty"`
	}{req.Host, req.Account, req.NumUses, req.TTLMinutes, req.KeyType}
	return call[IssuedKey](ctx, c, http.MethodPost, "/v1/tms/user/keys", nil, body)
}

// DeleteMyKey deletes one of the user's keys
// (DELETE /v1/tms/user/keys/{fingerprint}?host=).
func (c *Client) DeleteMyKey(ctx context.Context, host, fingerprint string) (Deleted, error) {
	return call[Deleted](ctx, c, http.MethodDelete, pathf("/v1/tms/user/keys/%s", fingerprint), url.Values{"host": {host}}, nil)
}

// MyDelegationList answers ListMyDelegations.
type MyDelegationList struct {
	Envelope
	NumDelegations int          `json:"num_delegations"`
	Delegations    []Delegation `json:"delegations"`
}

// ListMyDelegations lists the user's delegations to clients
// (GET /v1/tms/user/delegations).
func (c *Client) ListMyDelegations(ctx context.Context) (MyDelegationList, error) {
	return call[MyDelegationList](ctx, c, http.MethodGet, "/v1/tms/user/delegations", nil, nil)
}

// Revocation answers RevokeMyDelegation.
type Revocation struct {
	Deleted
	// NumKeysDeleted counts the keys issued through the delegation, which
	// were deleted with it.
	NumKeysDeleted int64 `json:"num_keys_deleted"`
	// NumTokensRevoked counts the user's tokens for the client that were
	// revoked.
	NumTokensRevoked int64 `json:"num_tokens_revoked"`
}

// RevokeMyDelegation deletes the user's delegation to a client with the
// keys issued through it and revokes the user's tokens for the client
// (DELETE /v1/tms/user/delegations/{client_id}).
func (c *Client) RevokeMyDelegation(ctx context.Context, clientID string) (Revocation, error) {
	return call[Revocation](ctx, c, http.MethodDelete, pathf("/v1/tms/user/delegations/%s", clientID), nil, nil)
}
