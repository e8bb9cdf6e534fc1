package store

import (
	"context"
	"time"
)

// User is an end user of a tenant who signs in through the browser pages of
// the device flow: with a password kept by TMS, through an upstream OpenID
// Connect provider or through a directory (see Origin), and with a TOTP code
// unless the provider asserts a second factor. A user's TMS user id (the
// tms_user_id of user MFA records, host mappings, delegations and keys) is
// the username.
type User struct {
	ID       int64
	Tenant   string
	Username string
	// Origin says where the user signs in; "" is stored as OriginLocal.
	Origin Origin
	// PasswordHash is the encoded argon2id hash of the password; "" for a
	// user whose origin is not local, who has no TMS password.
	PasswordHash string
	// TOTPSecret is the base32 TOTP secret, or "" when none is set.
	TOTPSecret string
	// TOTPConfirmed reports whether the secret is in use: it was provisioned
	// by an administrator or confirmed with a valid code at enrolment. An
	// unconfirmed secret is an enrolment in progress.
	TOTPConfirmed bool
	// TOTPLastStep is the last TOTP time step accepted for the user, so that
	// a code is never accepted twice; 0 when none.
	TOTPLastStep int64
	Enabled      bool
	Created      time.Time
	Updated      time.Time
}

// Origin is where a user signs in, stored as text: "local" (password and
// TOTP kept by TMS), "upstream:<id>" (the upstream OpenID Connect provider
// configured with that id) or "ldap:<id>" (the directory configured with
// that id).
type Origin string

// OriginLocal is the origin of users with a TMS password.
const OriginLocal Origin = "local"

// The kinds of origin, the part before the colon.
const (
	OriginKindUpstream = "upstream"
	OriginKindLDAP     = "ldap"
)

// UpstreamOrigin is the origin of users of the upstream provider id.
func UpstreamOrigin(id string) Origin { return Origin(OriginKindUpstream + ":" + id) }

// LDAPOrigin is the origin of users of the directory id.
func LDAPOrigin(id string) Origin { return Origin(OriginKindLDAP + ":" + id) }

// Stored is the origin as stored: OriginLocal for "".
func (o Origin) Stored() Origin {
	if o == "" {
		return OriginLocal
	}
	return o
}

// IsLocal reports whether users of this origin sign in with a TMS password.
func (o Origin) IsLocal() bool { return o == OriginLocal || o == "" }

// TOTPSetting is a TOTP secret with its confirmed flag.
type TOTPSetting struct {
	Secret    string
	Confirmed bool
}

// UserUpdate lists the user fields to change; nil fields stay as they are.
type UserUpdate struct {
	Enabled      *bool
	PasswordHash *string
	// TOTP replaces the secret and its confirmed flag and forgets the last
	// accepted time step.
	TOTP *TOTPSetting
}

// UserStore keeps end users.
type UserStore interface {
	// CreateUser returns ErrConflict for a duplicate username and
	// ErrMissingParent for an unknown tenant.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns ErrNotFound when the user does not exist.
	GetUser(ctx context.Context, tenant, username string) (User, error)
	// ListUsers returns the tenant's users ordered by username.
	ListUsers(ctx context.Context, tenant string) ([]User, error)
	// UpdateUser changes the fields set in upd and returns the number of
	// users changed (0 or 1).
	UpdateUser(ctx context.Context, tenant, username string, upd UserUpdate, now time.Time) (int64, error)
	// StartTOTPEnrollment sets secret as the user's unconfirmed TOTP secret
	// if the user has no secret yet, and returns the user as stored
	// afterwards: with secret, or with the secret set before. It returns
	// ErrNotFound when the user does not exist.
	StartTOTPEnrollment(ctx context.Context, tenant, username, secret string, now time.Time) (User, error)
	// UseTOTPStep records step as the user's last accepted TOTP time step
	// and marks the secret confirmed, if, and only if, the user's secret is
	// still secret and step is later than the last accepted step. It
	// reports whether it did; the check and the change are one atomic step.
	UseTOTPStep(ctx context.Context, tenant, username, secret string, step int64, now time.Time) (bool, error)
	// DeleteUser deletes the user with the user's device authorizations and
	// tokens and returns the number of users deleted. User MFA records, host
	// mappings, delegations and keys of the same user id stay.
	DeleteUser(ctx context.Context, tenant, username string) (int64, error)
	// RefreshUserMFA makes the user's MFA record expire no earlier than
	// expiresAt: it creates the record (enabled) when it is missing and
	// extends it otherwise, leaving its enabled flag and any later expiry
	// alone. It returns the record as stored afterwards, or
	// ErrMissingParent for an unknown tenant.
	RefreshUserMFA(ctx context.Context, tenant, user string, expiresAt, now time.Time) (UserMFA, error)
	// ListPubkeysForUser returns the keys issued for the user by any client,
	// ordered by host, account and id.
	ListPubkeysForUser(ctx context.Context, tenant, user string) ([]Pubkey, error)
	// DeletePubkeyForUser deletes the user's key with this host and
	// fingerprint, whichever client issued it, with its reservations, and
	// returns the number of keys deleted.
	DeletePubkeyForUser(ctx context.Context, tenant, user, host, fingerprint string) (int64, error)
	// ListDelegationsForUser returns the delegations of the user to any
	// client, ordered by client id.
	ListDelegationsForUser(ctx context.Context, tenant, user string) ([]Delegation, error)
}
