package tms

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/totp"
)

// Password length limits. The upper bound keeps hashing cost bounded.
const (
	minPasswordLen = 8
	maxPasswordLen = 1024
)

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

// checkUsername validates a username, which is also the user's TMS user id.
func checkUsername(name string) error {
	if !usernamePattern.MatchString(name) {
		return newError(KindInvalid, "username: %q is not a valid username (1-64 letters, digits, '.', '_', '@', '+' or '-', starting with a letter or digit)", name)
	}
	return nil
}

// checkPassword validates a new password.
func checkPassword(password string) error {
	switch {
	case utf8.RuneCountInString(password) < minPasswordLen:
		return newError(KindInvalid, "password: must be at least %d characters", minPasswordLen)
	case len(password) > maxPasswordLen:
		return newError(KindInvalid, "password: longer than %d bytes", maxPasswordLen)
	case !utf8.ValidString(password):
		return newError(KindInvalid, "password: not valid UTF-8")
	case strings.IndexFunc(password, unicode.IsControl) >= 0:
		return newError(KindInvalid, "password: contains control characters")
	}
	return nil
}

// NewUser is a user registration request. An empty Tenant means the tenant
// of the X-TMS-TENANT header.
type NewUser struct {
	Tenant   string
	Username string
	// Password is required for a local user and refused for the others.
	Password string
	// Origin is where the user signs in; "" means local. A user of an
	// upstream provider or a directory of the tenant has no TMS password.
	Origin store.Origin
}

// passwordError converts a hashing failure into an *Error.
func passwordError(err error) error {
	if errors.Is(err, errPasswordsBusy) {
		return &Error{Kind: KindUnavailable, Message: "Password hashing is at capacity; retry shortly.", Err: err}
	}
	return storeError(err, "hash password")
}

// authUsers authorizes the user administration of the header's tenant; a
// non-empty bodyTenant must equal it.
func (s *Service) authUsers(ctx context.Context, c Credentials, bodyTenant, action string) (string, error) {
	if bodyTenant != "" {
		if err := checkText("tenant", bodyTenant); err != nil {
			return "", err
		}
		_, err := s.authBody(ctx, c, bodyTenant, action)
		return bodyTenant, err
	}
	_, err := s.authHeader(ctx, c, allowAdmin, action)
	return c.Tenant, err
}

// CreateUser registers a user who signs in through the device flow's
// browser pages: with a TMS password, or, with an Origin, through one of
// the tenant's upstream providers or its directory (for a provider that
// does not create users itself). The tenant administrator must call it.
// The user enrols TOTP at the first sign-in unless an administrator
// provisions it first or the provider asserts a second factor.
func (s *Service) CreateUser(ctx context.Context, c Credentials, req NewUser) (store.User, error) {
	if err := checkUsername(req.Username); err != nil {
		return store.User{}, err
	}
	if req.Origin.IsLocal() {
		if req.Password == "" {
			return store.User{}, newError(KindInvalid, "password: missing; a local user needs one")
		}
		if err := checkPassword(req.Password); err != nil {
			return store.User{}, err
		}
	} else if req.Password != "" {
		return store.User{}, newError(KindInvalid, "password: a user who signs in through %s has no TMS password", req.Origin)
	}
	tenant, err := s.authUsers(ctx, c, req.Tenant, "create users")
	if err != nil {
		return store.User{}, err
	}
	if err := s.checkOrigin(tenant, req.Origin); err != nil {
		return store.User{}, err
	}
	hash := ""
	if req.Origin.IsLocal() {
		if hash, err = s.accounts.passwords.hash(ctx, req.Password); err != nil {
			return store.User{}, passwordError(err)
		}
	}
	now := s.now()
	u := store.User{Tenant: tenant, Username: req.Username, Origin: req.Origin.Stored(), PasswordHash: hash, Enabled: true,
		Created: now, Updated: now}
	err = s.store.CreateUser(ctx, u)
	if errors.Is(err, store.ErrConflict) {
		return store.User{}, &Error{Kind: KindConflict, Err: err, Message: "User " + req.Username + " already exists in tenant " + tenant + "."}
	}
	if err != nil {
		return store.User{}, storeError(err, "create user")
	}
	return s.store.GetUser(ctx, tenant, req.Username)
}

// GetUser returns a user of the header's tenant.
func (s *Service) GetUser(ctx context.Context, c Credentials, username string) (store.User, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "get users"); err != nil {
		return store.User{}, err
	}
	u, err := s.store.GetUser(ctx, c.Tenant, username)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, &Error{Kind: KindNotFound, Err: err, Message: fmt.Sprintf("%s: user %s does not exist in tenant %s", notFound, username, c.Tenant)}
	}
	return u, storeError(err, "get user")
}

// ListUsers lists the users of the header's tenant.
func (s *Service) ListUsers(ctx context.Context, c Credentials) ([]store.User, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "list users"); err != nil {
		return nil, err
	}
	list, err := s.store.ListUsers(ctx, c.Tenant)
	return list, storeError(err, "list users")
}

// UserChange changes a user; nil fields stay as they are. An empty Tenant
// means the tenant of the X-TMS-TENANT header.
type UserChange struct {
	Tenant   string
	Username string
	Enabled  *bool
	Password *string
}

// UpdateUser enables or disables a user or sets a new password, and
// returns the number of fields changed. A missing user is a 404.
func (s *Service) UpdateUser(ctx context.Context, c Credentials, ch UserChange) (int64, error) {
	if err := checkText("username", ch.Username); err != nil {
		return 0, err
	}
	if ch.Password != nil {
		if err := checkPassword(*ch.Password); err != nil {
			return 0, err
		}
	}
	tenant, err := s.authUsers(ctx, c, ch.Tenant, "update users")
	if err != nil {
		return 0, err
	}
	upd := store.UserUpdate{Enabled: ch.Enabled}
	fields := int64(0)
	if ch.Enabled != nil {
		fields++
	}
	if ch.Password != nil {
		if u, err := s.store.GetUser(ctx, tenant, ch.Username); err == nil && !u.Origin.IsLocal() {
			return 0, newError(KindInvalid, "password: user %s signs in through %s and has no TMS password", ch.Username, u.Origin)
		}
		hash, err := s.accounts.passwords.hash(ctx, *ch.Password)
		if err != nil {
			return 0, passwordError(err)
		}
		upd.PasswordHash = &hash
		fields++
	}
	n, err := s.store.UpdateUser(ctx, tenant, ch.Username, upd, s.now())
	if err != nil {
		return 0, storeError(err, "update user")
	}
	if n == 0 {
		if _, err := s.store.GetUser(ctx, tenant, ch.Username); errors.Is(err, store.ErrNotFound) {
			return 0, &Error{Kind: KindNotFound, Err: err, Message: fmt.Sprintf("%s: user %s does not exist in tenant %s", notFound, ch.Username, tenant)}
		}
	}
	return n * fields, nil
}

// DeleteUser deletes a user with the user's pending sign-ins and tokens and
// returns the number of users deleted. The user's MFA record, host
// mappings, delegations and keys stay; delete them with their own routes.
func (s *Service) DeleteUser(ctx context.Context, c Credentials, username string) (int64, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "delete users"); err != nil {
		return 0, err
	}
	n, err := s.store.DeleteUser(ctx, c.Tenant, username)
	return n, storeError(err, "delete user")
}

// TOTPProvision is a TOTP secret an administrator hands to a user, with
// the otpauth URI that authenticator apps read from a QR code.
type TOTPProvision struct {
	Secret string
	URI    string
}

// ProvisionTOTP gives a user a new TOTP secret, replacing any earlier one,
// and returns it. The secret counts as enrolled: the user signs in with its
// codes and is not asked to enrol in the browser.
func (s *Service) ProvisionTOTP(ctx context.Context, c Credentials, username string) (TOTPProvision, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "provision TOTP"); err != nil {
		return TOTPProvision{}, err
	}
	sec := totp.NewSecret()
	n, err := s.store.UpdateUser(ctx, c.Tenant, username, store.UserUpdate{TOTP: &store.TOTPSetting{Secret: sec, Confirmed: true}}, s.now())
	if err != nil {
		return TOTPProvision{}, storeError(err, "provision TOTP")
	}
	if n == 0 {
		return TOTPProvision{}, newError(KindNotFound, "%s: user %s does not exist in tenant %s", notFound, username, c.Tenant)
	}
	return TOTPProvision{Secret: sec, URI: totpURI(c.Tenant, username, sec)}, nil
}

// NewOAuthClient registers a public OAuth client (one without a secret).
type NewOAuthClient struct {
	Tenant     string
	ClientID   string
	AppName    string
	AppVersion string
}

// CreateOAuthClient registers a public OAuth client in the tenant, which
// users can then approve in the device flow. The tenant administrator must
// call it. It is deleted like any client (DELETE /v1/tms/client/del/{id}).
func (s *Service) CreateOAuthClient(ctx context.Context, c Credentials, req NewOAuthClient) (store.OAuthClient, error) {
	if err := checkTexts("client_id", req.ClientID, "app_name", req.AppName); err != nil {
		return store.OAuthClient{}, err
	}
	tenant, err := s.authUsers(ctx, c, req.Tenant, "create public clients")
	if err != nil {
		return store.OAuthClient{}, err
	}
	if s.opts.DisallowNewClients {
		return store.OAuthClient{}, newError(KindForbidden, "ERROR: FORBIDDEN - Client registration is disabled on this server (new_clients = \"disallow\").")
	}
	if err := checkVersionReq("app_version", req.AppVersion); err != nil {
		return store.OAuthClient{}, err
	}
	now := s.now()
	oc := store.OAuthClient{Tenant: tenant, ClientID: req.ClientID, AppName: req.AppName, AppVersion: req.AppVersion, Created: now, Updated: now}
	err = s.store.CreateOAuthClient(ctx, oc)
	if errors.Is(err, store.ErrConflict) {
		return store.OAuthClient{}, &Error{Kind: KindConflict, Err: err, Message: "Client " + req.ClientID + " or application " + req.AppName + " " +
			req.AppVersion + " is already registered in tenant " + tenant + "."}
	}
	if err != nil {
		return store.OAuthClient{}, storeError(err, "create public client")
	}
	return s.store.GetOAuthClient(ctx, tenant, req.ClientID)
}

// ListOAuthClients lists the public OAuth clients of the header's tenant.
func (s *Service) ListOAuthClients(ctx context.Context, c Credentials) ([]store.OAuthClient, error) {
	if _, err := s.authHeader(ctx, c, allowAdmin, "list public clients"); err != nil {
		return nil, err
	}
	list, err := s.store.ListOAuthClients(ctx, c.Tenant)
	return list, storeError(err, "list public clients")
}

// DevUser is the test user a development server creates, with the secrets
// a developer needs to sign in.
type DevUser struct {
	Tenant     string
	Username   string
	Password   string
	TOTPSecret string
}

// EnsureDevUser makes the test tenant's user TestUser sign in with password
// and TOTP secret, creating the user if needed; empty values are replaced
// by new random ones. It returns what the user now signs in with.
func (s *Service) EnsureDevUser(ctx context.Context, password, totpSecret string) (DevUser, error) {
	if password == "" || checkPassword(password) != nil {
		password = randomToken("")[:24]
	}
	if _, err := totp.ParseSecret(totpSecret); err != nil {
		totpSecret = totp.NewSecret()
	}
	hash, err := s.accounts.passwords.hash(ctx, password)
	if err != nil {
		return DevUser{}, passwordError(err)
	}
	now := s.now()
	err = s.store.CreateUser(ctx, store.User{Tenant: TestTenant, Username: TestUser, PasswordHash: hash, TOTPSecret: totpSecret,
		TOTPConfirmed: true, Enabled: true, Created: now, Updated: now})
	if errors.Is(err, store.ErrConflict) {
		_, err = s.store.UpdateUser(ctx, TestTenant, TestUser, store.UserUpdate{Enabled: new(true), PasswordHash: &hash,
			TOTP: &store.TOTPSetting{Secret: totpSecret, Confirmed: true}}, now)
	}
	if err != nil {
		return DevUser{}, storeError(err, "create the development user")
	}
	return DevUser{Tenant: TestTenant, Username: TestUser, Password: password, TOTPSecret: totpSecret}, nil
}
