package tms

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/totp"
)

// LocalTOTP says when a user who signed in through an upstream provider
// must also enter the TMS TOTP code.
type LocalTOTP string

// The values of LocalTOTP.
const (
	// LocalTOTPWhenNoMFA asks for the code unless the provider asserted a
	// second factor.
	LocalTOTPWhenNoMFA LocalTOTP = "when-no-mfa"
	// LocalTOTPAlways asks for the code after every upstream sign-in.
	LocalTOTPAlways LocalTOTP = "always"
	// LocalTOTPNever never asks; a sign-in without a second factor
	// asserted by the provider is refused.
	LocalTOTPNever LocalTOTP = "never"
)

// UpstreamRule is how the users of one tenant sign in through one upstream
// OpenID Connect provider.
type UpstreamRule struct {
	// ID names the provider; its users' origin is "upstream:<ID>".
	ID     string
	Tenant string
	// CreateUsers creates a TMS user at the first sign-in of a username
	// the tenant does not have.
	CreateUsers bool
	LocalTOTP   LocalTOTP
	// MFAAMR and MFAACR are the amr and acr values that count as a second
	// factor.
	MFAAMR []string
	MFAACR []string
}

// assertsMFA reports whether the provider's amr or acr counts as a
// second factor under the rule.
func (r UpstreamRule) assertsMFA(amr []string, acr string) bool {
	for _, v := range amr {
		if slices.Contains(r.MFAAMR, v) {
			return true
		}
	}
	return acr != "" && slices.Contains(r.MFAACR, acr)
}

// upstreamRule returns the rule of the provider id.
func (s *Service) upstreamRule(id string) (UpstreamRule, bool) {
	for _, r := range s.accounts.opts.Upstreams {
		if r.ID == id {
			return r, true
		}
	}
	return UpstreamRule{}, false
}

// PasswordSignIn reports whether the tenant lets users sign in with a
// password: its sign-in page shows the password form.
func (s *Service) PasswordSignIn(tenant string) bool {
	return !slices.Contains(s.accounts.opts.NoPasswordTenants, tenant)
}

// checkOrigin accepts local and the origins of the tenant's upstream
// providers and directory.
func (s *Service) checkOrigin(tenant string, o store.Origin) error {
	if o.IsLocal() {
		return nil
	}
	for _, r := range s.accounts.opts.Upstreams {
		if r.Tenant == tenant && o == store.UpstreamOrigin(r.ID) {
			return nil
		}
	}
	if d, ok := s.directoryOf(tenant); ok && o == store.LDAPOrigin(d.ID) {
		return nil
	}
	return newError(KindInvalid, "origin: %q is not \"local\" nor an upstream provider or directory of tenant %s", truncate(string(o), 80), tenant)
}

// UpstreamSignIn is a sign-in for a device authorization that an upstream
// provider has verified.
type UpstreamSignIn struct {
	// Upstream is the id of the provider.
	Upstream string
	UserCode string
	// SessionHash identifies the browser session.
	SessionHash string
	// Username is the value of the provider's username claim.
	Username string
	// AMR and ACR are what the provider's ID token asserts.
	AMR []string
	ACR string
}

// UpstreamStep is what a user does after an upstream sign-in.
type UpstreamStep int

// The steps after an upstream sign-in.
const (
	// UpstreamDone: the sign-in counts as MFA; on to the consent page.
	UpstreamDone UpstreamStep = iota + 1
	// UpstreamTOTP: the user enters the TMS TOTP code (ConfirmEnrollment
	// checks it).
	UpstreamTOTP
	// UpstreamEnroll: the user first enrols a TOTP secret
	// (PendingEnrollment shows it, ConfirmEnrollment confirms it).
	UpstreamEnroll
)

// UpstreamResult is the outcome of SignInUpstream.
type UpstreamResult struct {
	View DeviceView
	Next UpstreamStep
	// MFA reports whether the provider asserted a second factor.
	MFA bool
	// Created reports whether the user was created now.
	Created bool
}

// SignInUpstream applies the rules of an upstream sign-in to a pending
// device authorization: which TMS user the provider's username is
// (creating it when the rule allows), and whether the sign-in counts as
// MFA, needs the user's TMS TOTP code, or is refused. A sign-in that counts
// as MFA refreshes the user's MFA record and binds the authorization as a
// TOTP sign-in does; one that needs the code binds it to the user and
// session until ConfirmEnrollment checks the code.
func (s *Service) SignInUpstream(ctx context.Context, in UpstreamSignIn) (UpstreamResult, error) {
	rule, ok := s.upstreamRule(in.Upstream)
	if !ok {
		return UpstreamResult{}, flowError(FlowBadInput, "That sign-in provider is not configured.")
	}
	_, view, err := s.pendingDevice(ctx, in.UserCode)
	res := UpstreamResult{View: view}
	if err != nil {
		return res, err
	}
	if view.Tenant != rule.Tenant {
		return res, flowError(FlowBadInput, "This sign-in provider is for tenant %s; the request with code %s is for tenant %s.",
			rule.Tenant, view.UserCode, view.Tenant)
	}
	if err := checkUsername(in.Username); err != nil {
		return res, flowError(FlowRefused, "Your identity provider names you %q, which is not a valid TMS username. Ask your administrator.",
			truncate(in.Username, 80))
	}
	u, created, err := s.upstreamUser(ctx, rule, in.Username)
	if err != nil {
		return res, err
	}
	res.Created = created
	if !u.Enabled {
		return res, flowError(FlowRefused, "The account %s is disabled. Ask your administrator.", u.Username)
	}
	res.MFA = rule.assertsMFA(in.AMR, in.ACR)
	now := s.now()
	switch {
	case res.MFA && rule.LocalTOTP != LocalTOTPAlways:
		if err := s.signedIn(ctx, view, u.Username, in.SessionHash, "", now); err != nil {
			return res, err
		}
		res.Next = UpstreamDone
	case rule.LocalTOTP == LocalTOTPNever:
		return res, flowError(FlowNoSecondFactor, "Your identity provider did not confirm a second factor (such as a one-time "+
			"code or a security key) for this sign-in, and this server requires one. Sign in at your provider with a second "+
			"factor, or ask your administrator.")
	case !u.TOTPConfirmed:
		if u, err = s.store.StartTOTPEnrollment(ctx, u.Tenant, u.Username, totp.NewSecret(), now); err != nil {
			return res, flowStoreError(err)
		}
		if err := s.bind(ctx, view, u.Username, in.SessionHash, "", time.Time{}); err != nil {
			return res, err
		}
		res.Next = UpstreamEnroll
		if u.TOTPConfirmed { // confirmed meanwhile by a concurrent sign-in
			res.Next = UpstreamTOTP
		}
	default:
		if err := s.bind(ctx, view, u.Username, in.SessionHash, "", time.Time{}); err != nil {
			return res, err
		}
		res.Next = UpstreamTOTP
	}
	res.View.Username = u.Username
	return res, nil
}

// upstreamUser returns the TMS user of a provider's username, creating it
// when the rule allows. A user who signs in another way is refused: a
// provider must not take over a local or another provider's account.
func (s *Service) upstreamUser(ctx context.Context, rule UpstreamRule, username string) (store.User, bool, error) {
	origin := store.UpstreamOrigin(rule.ID)
	u, err := s.store.GetUser(ctx, rule.Tenant, username)
	created := false
	if errors.Is(err, store.ErrNotFound) {
		if !rule.CreateUsers {
			return u, false, flowError(FlowRefused, "There is no TMS account %s in tenant %s. Ask your administrator to create it.",
				username, rule.Tenant)
		}
		now := s.now()
		err = s.store.CreateUser(ctx, store.User{Tenant: rule.Tenant, Username: username, Origin: origin, Enabled: true,
			Created: now, Updated: now})
		created = err == nil
		if err == nil || errors.Is(err, store.ErrConflict) { // a concurrent first sign-in created it
			u, err = s.store.GetUser(ctx, rule.Tenant, username)
		}
	}
	if err != nil {
		return u, false, flowStoreError(err)
	}
	if u.Origin.Stored() != origin {
		return u, false, flowError(FlowRefused, "The TMS account %s of tenant %s does not sign in through this provider. Ask your administrator.",
			username, rule.Tenant)
	}
	return u, created, nil
}

// SecondFactorView returns the pending request of a user code that this
// session signed in for with an upstream provider and that waits for the
// user's TMS TOTP code.
func (s *Service) SecondFactorView(ctx context.Context, userCode, sessionHash string) (DeviceView, error) {
	d, view, err := s.boundDevice(ctx, userCode, sessionHash, false)
	if err == nil {
		view.Username = d.Username
	}
	return view, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
