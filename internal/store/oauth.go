package store

import (
	"context"
	"time"
)

// PublicClientSecret is the client_secret column of the clients row of a
// public OAuth client. It is not a hex SHA-512 digest, so no secret ever
// hashes to it and the client can never authenticate with a secret.
const PublicClientSecret = "!public-client:no-secret"

// OAuthClient is a public OAuth client (one without a secret, such as the
// tms command line) registered in a tenant. It is also a row of the clients
// table, so that delegations and keys can refer to it.
type OAuthClient struct {
	ID         int64
	Tenant     string
	ClientID   string
	AppName    string
	AppVersion string
	// Builtin marks the standard clients every tenant is created with.
	Builtin bool
	// Enabled is the enabled flag of the clients row.
	Enabled bool
	Created time.Time
	Updated time.Time
}

// OAuthClientStore keeps public OAuth clients.
type OAuthClientStore interface {
	// CreateOAuthClient inserts the client's clients row (with
	// PublicClientSecret, enabled) and its OAuth client record in one
	// transaction. It returns ErrConflict when the client id or the
	// (app_name, app_version) pair is taken and ErrMissingParent for an
	// unknown tenant. Deleting the clients row (DeleteClient) deletes the
	// OAuth client with it.
	CreateOAuthClient(ctx context.Context, c OAuthClient) error
	// GetOAuthClient returns ErrNotFound when the tenant has no public OAuth
	// client with that id.
	GetOAuthClient(ctx context.Context, tenant, clientID string) (OAuthClient, error)
	// ListOAuthClients returns the tenant's public OAuth clients ordered by
	// client id.
	ListOAuthClients(ctx context.Context, tenant string) ([]OAuthClient, error)
}

// DeviceState is the state of a device authorization.
type DeviceState string

// The states of a device authorization: pending until the user approves or
// denies; an approved authorization is redeemed by exactly one token
// request.
const (
	DevicePending  DeviceState = "pending"
	DeviceApproved DeviceState = "approved"
	DeviceDenied   DeviceState = "denied"
	DeviceRedeemed DeviceState = "redeemed"
)

// PollStyle says how a token request authenticated its client; a poll in
// one style right after a poll in another is how a client retries in the
// other style.
type PollStyle string

// The client authentication styles of token requests.
const (
	PollNone   PollStyle = ""
	PollHeader PollStyle = "header"
	PollBody   PollStyle = "body"
)

// DeviceAuthorization is one run of the device authorization grant
// (RFC 8628): a device code, stored only as its SHA-256, and the user code
// shown to the user.
type DeviceAuthorization struct {
	ID             int64
	DeviceCodeHash string
	// UserCode is the normalized user code: upper case, without the dash.
	UserCode string
	Tenant   string
	ClientID string
	Scope    string
	State    DeviceState
	// Username is the user who signed in for this authorization; "" until
	// someone does.
	Username string
	// SessionHash identifies the browser session that signed in.
	SessionHash string
	// SignedInAt is when the user passed MFA for it; zero until then.
	SignedInAt time.Time
	// Days is the lifetime in days the user approved.
	Days            int32
	IntervalSeconds int32
	ExpiresAt       time.Time
	// LastPollAt and LastPollStyle describe the latest token request.
	LastPollAt    time.Time
	LastPollStyle PollStyle
	// FailedSignIns counts the failed sign-ins for this authorization.
	FailedSignIns int32
	Created       time.Time
	Updated       time.Time
}

// DeviceQuota bounds a tenant's device authorizations when one is
// inserted.
type DeviceQuota struct {
	// MaxLive is the most device authorizations of the tenant, in any
	// state, that may be unexpired at Now; 0 means no bound.
	MaxLive int
	Now     time.Time
	// PruneBefore: the tenant's authorizations that expired before it are
	// deleted in the same step; zero deletes none.
	PruneBefore time.Time
}

// DeviceBinding records that a user signed in for a pending authorization.
type DeviceBinding struct {
	UserCode    string
	Username    string
	SessionHash string
	// ExpectSessionHash, when set, lets the binding happen only if the
	// authorization is bound to that session now.
	ExpectSessionHash string
	// SignedInAt is when the user passed MFA; zero while the user still has
	// to enrol TOTP.
	SignedInAt time.Time
	Now        time.Time
}

// DeviceDecision is the user's answer to a pending authorization.
type DeviceDecision struct {
	UserCode    string
	Username    string
	SessionHash string
	Approve     bool
	// Days is the approved lifetime; ignored for a denial.
	Days int32
	// DelegationExpiresAt is the expiry the delegation from the user to the
	// client gets at approval, unless it already expires later.
	DelegationExpiresAt time.Time
	Now                 time.Time
}

// TokenKind is "access" or "refresh".
type TokenKind string

// The kinds of OAuth token.
const (
	AccessToken  TokenKind = "access"
	RefreshToken TokenKind = "refresh"
)

// Token is an issued OAuth token, stored only as the SHA-256 of its value.
type Token struct {
	ID   int64
	Hash string
	Kind TokenKind
	// Family is shared by every token descended from one device
	// authorization through refresh-token rotation.
	Family    string
	Tenant    string
	ClientID  string
	Username  string
	ExpiresAt time.Time
	// RotatedAt is when a refresh token was exchanged; zero if never.
	RotatedAt time.Time
	// RevokedAt is when the token was revoked; zero if never.
	RevokedAt time.Time
	Created   time.Time
}

// NewTokens are the tokens one grant issues. Their tenant, client and user
// come from what is redeemed; Created is the time of the grant.
type NewTokens struct {
	AccessHash       string
	AccessExpiresAt  time.Time
	RefreshHash      string
	RefreshExpiresAt time.Time
	// Family names a new family for a device code redemption; rotation
	// keeps the family of the exchanged token.
	Family string
}

// TokenState is a token with everything that decides whether it may be
// used now.
type TokenState struct {
	Token         Token
	TenantEnabled bool
	ClientEnabled bool
	UserEnabled   bool
	// Delegation is the delegation from the user to the token's client; a
	// missing one has a zero ID.
	Delegation Delegation
}

// Rotation is the outcome of exchanging a refresh token.
type Rotation int

// The outcomes of a refresh token exchange.
const (
	// Rotated: the old token is spent and the new tokens are stored.
	Rotated Rotation = iota + 1
	// RotationNotFound: no refresh token of that client has that hash.
	RotationNotFound
	// RotationExpired: the token expired.
	RotationExpired
	// RotationRevoked: the token was revoked.
	RotationRevoked
	// RotationReused: the token had been exchanged before; its whole
	// family is now revoked.
	RotationReused
)

// DeviceStore keeps device authorizations and OAuth tokens.
type DeviceStore interface {
	// CreateDeviceAuthorization deletes the tenant's authorizations that
	// expired before q.PruneBefore and inserts d, unless the tenant then
	// has q.MaxLive unexpired authorizations already: it returns ErrFull
	// then. The deletion, the count and the insertion are one atomic step,
	// so concurrent insertions never pass the bound. It returns ErrConflict
	// when the device code hash or the user code is taken and
	// ErrMissingParent when the tenant has no such OAuth client.
	CreateDeviceAuthorization(ctx context.Context, d DeviceAuthorization, q DeviceQuota) error
	// GetDeviceAuthorization returns the authorization with this user code,
	// or ErrNotFound.
	GetDeviceAuthorization(ctx context.Context, userCode string) (DeviceAuthorization, error)
	// FailDeviceSignIn counts a failed sign-in for the pending, unexpired
	// authorization with this user code and denies it when the count
	// reaches budget. It returns the authorization as changed, or
	// ErrNotFound (nothing changed) when no authorization met the
	// conditions.
	FailDeviceSignIn(ctx context.Context, userCode string, budget int32, now time.Time) (DeviceAuthorization, error)
	// BindDeviceAuthorization records a sign-in on the pending, unexpired
	// authorization with the binding's user code and returns the number of
	// authorizations changed (0 or 1).
	BindDeviceAuthorization(ctx context.Context, b DeviceBinding) (int64, error)
	// DecideDeviceAuthorization approves or denies the authorization with
	// the decision's user code if it is pending, unexpired and bound to the
	// decision's user and session after MFA. Approval creates the
	// delegation from the user to the authorization's client or extends it
	// to DelegationExpiresAt, in the same transaction. It returns the
	// authorization as changed, or ErrNotFound when no authorization met
	// the conditions (nothing changed then), or ErrMissingParent when the
	// user has no MFA record.
	DecideDeviceAuthorization(ctx context.Context, d DeviceDecision) (DeviceAuthorization, error)
	// TouchDeviceAuthorization reads the authorization of the device code
	// of clientID, calls record with it and, when record reports true,
	// records a token request in the given style at the time record
	// returns (the poll's place in the device's schedule, which need not be
	// the present). The read, the decision and the change are one atomic
	// step, so each concurrent request sees the poll recorded before it. It
	// returns the authorization as it was before, or ErrNotFound. record may
	// be called more than once when the step is retried; it must only
	// decide.
	TouchDeviceAuthorization(ctx context.Context, deviceCodeHash, clientID string, style PollStyle,
		record func(before DeviceAuthorization) (at time.Time, ok bool)) (DeviceAuthorization, error)
	// RedeemDeviceAuthorization marks the approved, unexpired authorization
	// of clientID with this device code redeemed and stores the tokens for
	// its tenant, client and user in the same transaction, so that an
	// authorization is redeemed exactly once. It returns the authorization
	// as redeemed, or ErrNotFound (nothing changed) when no authorization
	// met the conditions.
	RedeemDeviceAuthorization(ctx context.Context, deviceCodeHash, clientID string, tokens NewTokens, now time.Time) (DeviceAuthorization, error)
	// GetToken returns the token with this hash and the state of what it
	// depends on, or ErrNotFound.
	GetToken(ctx context.Context, hash string) (TokenState, error)
	// RotateRefreshToken exchanges the unexpired, unrevoked refresh token of
	// clientID with hash oldHash for the new tokens, which join its family,
	// in one transaction. It returns the outcome and, unless
	// RotationNotFound, the old token as it was before. A token exchanged
	// before revokes its whole family (RotationReused), which is committed
	// although nothing is issued.
	RotateRefreshToken(ctx context.Context, oldHash, clientID string, tokens NewTokens, now time.Time) (Rotation, Token, error)
	// RevokeTokenFamily revokes the token with this hash issued to clientID
	// together with every token of its family, and returns the number of
	// tokens revoked now.
	RevokeTokenFamily(ctx context.Context, hash, clientID string, now time.Time) (int64, error)
	// RevokeUserTokens revokes every token the user holds for clientID and
	// returns the number revoked now.
	RevokeUserTokens(ctx context.Context, tenant, clientID, username string, now time.Time) (int64, error)
	// DeleteExpiredOAuth deletes device authorizations and tokens that
	// expired before cutoff and returns the number of rows deleted.
	DeleteExpiredOAuth(ctx context.Context, cutoff time.Time) (int64, error)
}
