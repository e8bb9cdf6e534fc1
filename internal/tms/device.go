package tms

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/totp"
)

// User codes (RFC 8628 §6.1): 8 characters from 20 consonants, about 34.6
// bits, shown as XXXX-XXXX and entered with or without the dash in any case.
const (
	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	userCodeLen      = 8
)

// newUserCode returns a random user code in its stored form.
func newUserCode() string {
	const limit = 256 - 256%len(userCodeAlphabet) // reject bytes above it: no bias
	out := make([]byte, 0, userCodeLen)
	var b [16]byte
	for len(out) < userCodeLen {
		rand.Read(b[:])
		for _, v := range b {
			if int(v) < limit && len(out) < userCodeLen {
				out = append(out, userCodeAlphabet[int(v)%len(userCodeAlphabet)])
			}
		}
	}
	return string(out)
}

// NormalizeUserCode returns the stored form of a typed user code: upper
// case without dashes and spaces. It reports false when what remains is not
// a well-formed code.
func NormalizeUserCode(typed string) (string, bool) {
	code := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, typed)
	if len(code) != userCodeLen {
		return "", false
	}
	for i := range len(code) {
		if !strings.ContainsRune(userCodeAlphabet, rune(code[i])) {
			return "", false
		}
	}
	return code, true
}

// FormatUserCode writes a stored user code as XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != userCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// DeviceRequest starts a device authorization (RFC 8628 §3.1).
type DeviceRequest struct {
	// Tenant is the tenant to sign in to; "" means the default tenant.
	Tenant   string
	ClientID string
	// Scope is a space-separated list; "" means ScopeKeys.
	Scope string
}

// DeviceGrant is the answer to a device authorization request.
type DeviceGrant struct {
	DeviceCode string
	// UserCode is formatted XXXX-XXXX.
	UserCode  string
	ExpiresIn time.Duration
	Interval  time.Duration
	Tenant    string
}

// StartDeviceAuthorization issues a device code and a user code for a
// public client of the tenant.
func (s *Service) StartDeviceAuthorization(ctx context.Context, req DeviceRequest) (DeviceGrant, error) {
	tenant := req.Tenant
	if tenant == "" {
		tenant = DefaultTenant
	}
	if err := checkText("tenant", tenant); err != nil {
		return DeviceGrant{}, oauthError(OAuthInvalidRequest, err.Error())
	}
	if req.ClientID == "" {
		return DeviceGrant{}, oauthError(OAuthInvalidRequest, "client_id: required")
	}
	scope, err := checkScope(req.Scope)
	if err != nil {
		return DeviceGrant{}, err
	}
	enabled, err := s.tenantEnabled(ctx, tenant)
	if err != nil {
		return DeviceGrant{}, oauthStoreError(err)
	}
	if !enabled {
		return DeviceGrant{}, oauthError(OAuthInvalidRequest, fmt.Sprintf("tenant: %q does not exist or is disabled", tenant))
	}
	if err := s.checkPublicClient(ctx, tenant, req.ClientID); err != nil {
		return DeviceGrant{}, err
	}
	now := s.now()
	s.purgeExpired(ctx, now)
	opts := s.accounts.opts
	for attempt := 0; ; attempt++ {
		deviceCode, userCode := randomToken(deviceCodePrefix), newUserCode()
		err := s.store.CreateDeviceAuthorization(ctx, store.DeviceAuthorization{
			DeviceCodeHash: hashToken(deviceCode), UserCode: userCode, Tenant: tenant, ClientID: req.ClientID, Scope: scope,
			State: store.DevicePending, IntervalSeconds: int32(opts.PollInterval / time.Second),
			ExpiresAt: now.Add(opts.DeviceCodeLifetime), Created: now, Updated: now,
		}, store.DeviceQuota{MaxLive: opts.MaxLiveDeviceCodes, Now: now, PruneBefore: now.Add(-deviceCodeKeep)})
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			continue // a user code in use: draw another
		}
		if errors.Is(err, store.ErrFull) {
			return DeviceGrant{}, &OAuthError{Code: OAuthTemporarilyUnavailable,
				Description: "Too many logins are waiting in this tenant; retry later.", Err: err}
		}
		if err != nil {
			return DeviceGrant{}, oauthStoreError(err)
		}
		return DeviceGrant{DeviceCode: deviceCode, UserCode: FormatUserCode(userCode), ExpiresIn: opts.DeviceCodeLifetime,
			Interval: opts.PollInterval, Tenant: tenant}, nil
	}
}

// TenantIssuer reports whether a tenant serves its own OAuth endpoints:
// whether it exists and is enabled. A name that no tenant can have is
// answered false without a look-up.
func (s *Service) TenantIssuer(ctx context.Context, tenant string) (bool, error) {
	if checkText("tenant", tenant) != nil {
		return false, nil
	}
	enabled, err := s.tenantEnabled(ctx, tenant)
	if err != nil {
		return false, oauthStoreError(err)
	}
	return enabled, nil
}

// checkScope returns the scope to store, or invalid_scope.
func checkScope(scope string) (string, error) {
	fields := strings.Fields(scope)
	if len(fields) == 0 {
		return ScopeKeys, nil
	}
	for _, f := range fields {
		if f != ScopeKeys {
			return "", oauthError(OAuthInvalidScope, fmt.Sprintf("scope: %q is not offered; the only scope is %q", f, ScopeKeys))
		}
	}
	return ScopeKeys, nil
}

// checkPublicClient returns invalid_client unless clientID is an enabled
// public client of the tenant.
func (s *Service) checkPublicClient(ctx context.Context, tenant, clientID string) error {
	oc, err := s.store.GetOAuthClient(ctx, tenant, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return oauthError(OAuthInvalidClient, fmt.Sprintf("client_id: %q is not a public client of tenant %s", clientID, tenant))
	}
	if err != nil {
		return oauthStoreError(err)
	}
	if !oc.Enabled {
		return oauthError(OAuthInvalidClient, fmt.Sprintf("client_id: %q is disabled in tenant %s", clientID, tenant))
	}
	return nil
}

// TokenGrant is a successful token response (RFC 6749 §5.1).
type TokenGrant struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
	Scope        string
	// TokenOwner names whose login the request concerned, when that is
	// known, also when the request failed; it is for the audit log.
	TokenOwner
}

// TokenOwner names the user a device authorization or a token belongs to.
// Username is empty until a user has signed in.
type TokenOwner struct {
	Tenant   string
	Username string
}

// DevicePoll is a token request with the device_code grant.
type DevicePoll struct {
	// Tenant, when set, is the tenant whose token endpoint was asked: a
	// device code issued in another tenant is refused as unknown.
	Tenant     string
	ClientID   string
	DeviceCode string
	// Style is how the request authenticated its client.
	Style store.PollStyle
}

// pollTolerance is the share of the interval a poll may come early (the
// delays of two requests differ) before it is answered slow_down.
const pollTolerance = 5 // 1/5 of the interval

// PollDeviceToken answers a token request of the device_code grant
// (RFC 8628 §3.4-3.5): tokens once the user approved, exactly once, in the
// transaction that marks the code redeemed; otherwise the error the device
// needs to decide what to do next.
func (s *Service) PollDeviceToken(ctx context.Context, p DevicePoll) (TokenGrant, error) {
	if p.DeviceCode == "" {
		return TokenGrant{}, oauthError(OAuthInvalidRequest, "device_code: required")
	}
	hash := hashToken(p.DeviceCode)
	now := s.now()
	var slow, otherTenant bool
	before, err := s.store.TouchDeviceAuthorization(ctx, hash, p.ClientID, p.Style, func(b store.DeviceAuthorization) (time.Time, bool) {
		if p.Tenant != "" && b.Tenant != p.Tenant {
			otherTenant = true
			return time.Time{}, false
		}
		at, tooSoon, record := pace(b, p.Style, now)
		slow = tooSoon
		return at, record && b.State == store.DevicePending
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && otherTenant) {
		return TokenGrant{}, oauthError(OAuthInvalidGrant, "device_code: unknown, or issued to another client")
	}
	if err != nil {
		return TokenGrant{}, oauthStoreError(err)
	}
	owner := TokenGrant{TokenOwner: TokenOwner{Tenant: before.Tenant, Username: before.Username}}
	if before.State == store.DeviceRedeemed {
		return owner, oauthError(OAuthInvalidGrant, "device_code: already used to obtain tokens")
	}
	if !now.Before(before.ExpiresAt) {
		return owner, oauthError(OAuthExpiredToken, "device_code: expired; start the login again")
	}
	switch before.State {
	case store.DeviceDenied:
		return owner, oauthError(OAuthAccessDenied, "the user denied the request")
	case store.DeviceApproved:
		access, refresh, tokens := s.accounts.newTokens(now, randomToken(""))
		_, err := s.store.RedeemDeviceAuthorization(ctx, hash, p.ClientID, tokens, now)
		if errors.Is(err, store.ErrNotFound) {
			// Another request redeemed it, or it expired, in between.
			return owner, oauthError(OAuthInvalidGrant, "device_code: already used to obtain tokens")
		}
		if err != nil {
			return owner, oauthStoreError(err)
		}
		return TokenGrant{AccessToken: access, RefreshToken: refresh, ExpiresIn: s.accounts.opts.AccessTokenLifetime, Scope: before.Scope,
			TokenOwner: owner.TokenOwner}, nil
	}
	if slow {
		return owner, oauthError(OAuthSlowDown, fmt.Sprintf("polling faster than every %d seconds", before.IntervalSeconds))
	}
	return owner, oauthError(OAuthAuthorizationPending, "the user has not approved the request yet")
}

// pace decides about a poll in style at now, given the last recorded poll:
// whether it comes too soon (slow_down), and whether and at what time to
// record it.
//
// Polls are measured against the device's schedule, not against the
// arrival of the poll before: a client such as golang.org/x/oauth2 polls on
// a ticker, so when one poll leaves late (a busy machine, a slow answer)
// the next one still leaves on time, less than an interval after the late
// one. A poll that comes at most a fifth of the interval early counts as
// the next slot of the schedule (recorded at the slot, not at its arrival);
// one that comes two intervals or more after the last slot starts a new
// schedule; one that comes earlier than that is too soon and not recorded,
// so that a device that slows down is measured from its last good slot.
// A client that keeps its interval is never answered slow_down, however
// its polls are delayed; one that polls faster falls behind its schedule
// and is.
//
// A poll in the body style right after one with HTTP Basic authentication
// is that poll retried, which is what golang.org/x/oauth2 does in its
// auto-detect style after every error (authorization_pending is one): it is
// never too soon, however late it comes, and it keeps the slot of the poll
// it retries; it is recorded in its style, so that a second body poll is
// measured as any other.
func pace(before store.DeviceAuthorization, style store.PollStyle, now time.Time) (at time.Time, slow, record bool) {
	last := before.LastPollAt
	switch {
	case last.IsZero():
		return now, false, true
	case before.LastPollStyle == store.PollHeader && style == store.PollBody:
		return last, false, true
	}
	interval := time.Duration(before.IntervalSeconds) * time.Second
	switch elapsed := now.Sub(last); {
	case elapsed < interval-interval/pollTolerance:
		return time.Time{}, true, false
	case elapsed < 2*interval:
		return last.Add(interval), false, true
	default:
		return now, false, true
	}
}

// FlowReason says why a step of the browser sign-in failed.
type FlowReason int

// The ways a step of the browser sign-in can fail.
const (
	// FlowBadCode: the user code is malformed or unknown.
	FlowBadCode FlowReason = iota + 1
	// FlowExpired: the code expired.
	FlowExpired
	// FlowDecided: the request was approved, denied or used already.
	FlowDecided
	// FlowBadCredentials: wrong username, password or TOTP code.
	FlowBadCredentials
	// FlowBadInput: a form field is missing or malformed.
	FlowBadInput
	// FlowSignInNeeded: this browser has not signed in for the code.
	FlowSignInNeeded
	// FlowRefused: the user was identified but may not sign in here (no
	// account, a disabled one, or one that signs in another way).
	FlowRefused
	// FlowNoSecondFactor: an upstream provider confirmed no second factor
	// and none may be asked for locally.
	FlowNoSecondFactor
	// FlowPasswordOff: the tenant offers no password sign-in.
	FlowPasswordOff
	// FlowUnavailable: the database or the password pool is busy.
	FlowUnavailable
	// FlowDirectoryUnavailable: the tenant's directory cannot check
	// passwords.
	FlowDirectoryUnavailable
	// FlowInternal: anything else.
	FlowInternal
)

// FlowError is an error of the browser sign-in with a message for the page.
// The wrapped cause is for logs only.
type FlowError struct {
	Reason  FlowReason
	Message string
	Err     error
}

func (e *FlowError) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *FlowError) Unwrap() error { return e.Err }

func flowError(reason FlowReason, format string, args ...any) *FlowError {
	return &FlowError{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// flowStoreError converts a store or pool failure into a *FlowError.
func flowStoreError(err error) error {
	var fe *FlowError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return err
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, errPasswordsBusy):
		return &FlowError{Reason: FlowUnavailable, Message: "The server is busy. Please try again in a moment.", Err: err}
	}
	return &FlowError{Reason: FlowInternal, Message: "Something went wrong on the server.", Err: err}
}

// DeviceView is what the browser pages show about a device authorization.
type DeviceView struct {
	// UserCode is formatted XXXX-XXXX.
	UserCode  string
	Tenant    string
	ClientID  string
	AppName   string
	ExpiresAt time.Time
	State     store.DeviceState
	// Username is the signed-in user, when there is one.
	Username string
	// Days is the approved lifetime after approval.
	Days int
	// MaxDays is the longest lifetime the user can approve.
	MaxDays int
}

// pendingDevice looks up the pending, unexpired authorization of a typed
// user code.
func (s *Service) pendingDevice(ctx context.Context, typed string) (store.DeviceAuthorization, DeviceView, error) {
	code, ok := NormalizeUserCode(typed)
	if !ok {
		return store.DeviceAuthorization{}, DeviceView{}, flowError(FlowBadCode,
			"That is not a valid code. Codes have 8 letters, like WDJB-MJHT; check the code your device shows.")
	}
	d, err := s.store.GetDeviceAuthorization(ctx, code)
	if errors.Is(err, store.ErrNotFound) {
		return d, DeviceView{}, errUnknownCode(code)
	}
	if err != nil {
		return d, DeviceView{}, flowStoreError(err)
	}
	view := DeviceView{UserCode: FormatUserCode(d.UserCode), Tenant: d.Tenant, ClientID: d.ClientID, ExpiresAt: d.ExpiresAt,
		State: d.State, Username: d.Username, Days: int(d.Days), MaxDays: s.accounts.opts.MaxDelegationDays}
	if oc, err := s.store.GetOAuthClient(ctx, d.Tenant, d.ClientID); err == nil {
		view.AppName = oc.AppName
	} else if !errors.Is(err, store.ErrNotFound) {
		return d, view, flowStoreError(err)
	}
	switch {
	case d.State != store.DevicePending:
		return d, view, flowError(FlowDecided, "The request with code %s was already answered. Start again on your device if you need to.", view.UserCode)
	case !s.now().Before(d.ExpiresAt):
		return d, view, flowError(FlowExpired, "The code %s has expired. Start again on your device to get a new code.", view.UserCode)
	}
	return d, view, nil
}

// errUnknownCode is the answer to a user code that is not known.
func errUnknownCode(code string) *FlowError {
	return flowError(FlowBadCode, "The code %s is not known. Check the code your device shows, or start again there.", FormatUserCode(code))
}

// LookupUserCode returns the pending request of a typed user code, or a
// *FlowError that says why it cannot be answered.
func (s *Service) LookupUserCode(ctx context.Context, typed string) (DeviceView, error) {
	_, view, err := s.pendingDevice(ctx, typed)
	return view, err
}

// SignIn is a sign-in for a device authorization from a browser session.
type SignIn struct {
	UserCode string
	// Tenant, when set, is the tenant the pages named: a code of another
	// tenant is answered as an unknown code.
	Tenant   string
	Username string
	Password string
	// OTP is the TOTP code; it may be empty when the user has no TOTP yet.
	OTP string
	// SessionHash identifies the browser session.
	SessionHash string
}

// Enrollment is a TOTP secret the user is adding to an authenticator app.
type Enrollment struct {
	Secret string
	URI    string
}

// SignInResult is the outcome of a sign-in: either the user passed MFA, or
// the user must first enrol TOTP (Enroll is set).
type SignInResult struct {
	View   DeviceView
	Enroll *Enrollment
	// Origin is what checked the password: OriginLocal for TMS itself, or
	// the tenant's directory. It is set also when the sign-in fails.
	Origin store.Origin
	// Created tells that the directory sign-in created the user.
	Created bool
}

// errWrongCredentials is the one message for every wrong sign-in, so that
// it does not tell which part was wrong, whether the user exists or
// whether the code does.
func errWrongCredentials() *FlowError {
	return flowError(FlowBadCredentials, "The username, password or one-time code is not right. Check that the code is the one your device shows.")
}

// SignInForDevice checks a user's password and TOTP code for a pending
// device authorization. On success the user's MFA record is refreshed and
// the authorization is bound to the user and the browser session. A user
// without TOTP gets an enrolment instead, confirmed by ConfirmEnrollment.
// A code that does not exist answers as wrong credentials do; that a code
// expired or was answered is told only with the right password.
func (s *Service) SignInForDevice(ctx context.Context, in SignIn) (SignInResult, error) {
	if in.Username == "" || in.Password == "" {
		return SignInResult{}, flowError(FlowBadInput, "Enter your username and password.")
	}
	otp := strings.TrimSpace(in.OTP)
	if otp != "" {
		var err error
		if otp, err = normalizeOTP(otp); err != nil {
			return SignInResult{}, flowError(FlowBadInput, "The one-time code has 6 digits; enter it as your authenticator app shows it.")
		}
	}
	d, view, codeErr := s.pendingDevice(ctx, in.UserCode)
	if in.Tenant != "" && d.Tenant != "" && d.Tenant != in.Tenant {
		view, codeErr = DeviceView{}, errUnknownCode(d.UserCode)
	}
	var fe *FlowError
	if codeErr != nil && (!errors.As(codeErr, &fe) || fe.Reason == FlowUnavailable || fe.Reason == FlowInternal) {
		return SignInResult{}, codeErr
	}
	if len(in.Username) > maxFieldLen || len(in.Password) > maxPasswordLen {
		return SignInResult{}, errWrongCredentials()
	}
	var u store.User
	var err error
	res := SignInResult{Origin: store.OriginLocal}
	if dir, ok := s.directoryOf(view.Tenant); ok {
		// The directory checks the password instead of TMS. The tenant is
		// known: the code exists.
		res.View, res.Origin = view, store.LDAPOrigin(dir.ID)
		if u, res.Created, err = s.directoryUser(ctx, dir, in.Username, in.Password); err != nil {
			return res, s.countFailure(ctx, view, codeErr, err)
		}
	} else if u, err = s.localUser(ctx, view.Tenant, in.Username, in.Password); err != nil {
		return res, s.countFailure(ctx, view, codeErr, err)
	}
	if codeErr != nil {
		if fe.Reason == FlowBadCode {
			return res, errWrongCredentials()
		}
		res.View = view
		return res, codeErr
	}
	res.View = view
	if !s.PasswordSignIn(view.Tenant) {
		return res, flowError(FlowPasswordOff, "Tenant %s signs users in through its identity provider only.", view.Tenant)
	}
	if !u.Enabled {
		return res, flowError(FlowBadCredentials, "This account is disabled. Ask your administrator.")
	}
	now := s.now()
	if !u.TOTPConfirmed && (u.TOTPSecret == "" || otp == "") {
		// First sign-in: enrol TOTP before anything else.
		if u, err = s.store.StartTOTPEnrollment(ctx, u.Tenant, u.Username, totp.NewSecret(), now); err != nil {
			return res, flowStoreError(err)
		}
		if !u.TOTPConfirmed {
			if err := s.bind(ctx, view, u.Username, in.SessionHash, "", time.Time{}); err != nil {
				return res, err
			}
			res.View.Username = u.Username
			res.Enroll = &Enrollment{Secret: u.TOTPSecret, URI: totpURI(u.Tenant, u.Username, u.TOTPSecret)}
			return res, nil
		}
	}
	if otp == "" {
		return res, flowError(FlowBadInput, "Enter the one-time code your authenticator app shows.")
	}
	if err := s.useTOTP(ctx, u, otp, now); err != nil {
		return res, s.countFailure(ctx, view, nil, err)
	}
	if err := s.signedIn(ctx, view, u.Username, in.SessionHash, "", now); err != nil {
		return res, err
	}
	res.View.Username = u.Username
	return res, nil
}

// localUser checks the TMS password of a user of tenant ("" when the code
// is unknown). An unknown code or user is checked against a dummy hash:
// the answer takes as long.
func (s *Service) localUser(ctx context.Context, tenant, username, password string) (store.User, error) {
	var u store.User
	if tenant != "" {
		var err error
		u, err = s.store.GetUser(ctx, tenant, username)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.User{}, flowStoreError(err)
		}
	}
	ok, err := s.accounts.passwords.verify(ctx, password, u.PasswordHash)
	if err != nil {
		return u, flowStoreError(err)
	}
	if !ok || !u.Origin.IsLocal() {
		// A user who signs in elsewhere has no TMS password.
		return u, errWrongCredentials()
	}
	return u, nil
}

// useTOTP accepts code for the user's secret once.
func (s *Service) useTOTP(ctx context.Context, u store.User, code string, now time.Time) error {
	step, ok := matchTOTP(u.TOTPSecret, code, now)
	if !ok {
		return errWrongCredentials()
	}
	fresh, err := s.store.UseTOTPStep(ctx, u.Tenant, u.Username, u.TOTPSecret, step, now)
	if err != nil {
		return flowStoreError(err)
	}
	if !fresh {
		return flowError(FlowBadCredentials, "That one-time code was used already. Wait for the next code and enter it.")
	}
	return nil
}

// signedIn refreshes the user's MFA record and binds the authorization to
// the user and session as signed in.
func (s *Service) signedIn(ctx context.Context, view DeviceView, username, sessionHash, expectSession string, now time.Time) error {
	if _, err := s.store.RefreshUserMFA(ctx, view.Tenant, username, now.Add(s.accounts.opts.MFAValidity), now); err != nil {
		return flowStoreError(err)
	}
	return s.bind(ctx, view, username, sessionHash, expectSession, now)
}

func (s *Service) bind(ctx context.Context, view DeviceView, username, sessionHash, expectSession string, signedInAt time.Time) error {
	code, _ := NormalizeUserCode(view.UserCode)
	n, err := s.store.BindDeviceAuthorization(ctx, store.DeviceBinding{UserCode: code, Username: username, SessionHash: sessionHash,
		ExpectSessionHash: expectSession, SignedInAt: signedInAt, Now: s.now()})
	if err != nil {
		return flowStoreError(err)
	}
	if n == 0 {
		return s.explainRefusal(ctx, view.UserCode, sessionHash)
	}
	return nil
}

// explainRefusal says why a step on a code that was pending a moment ago
// changed nothing.
func (s *Service) explainRefusal(ctx context.Context, userCode, sessionHash string) error {
	d, _, err := s.pendingDevice(ctx, userCode)
	if err != nil {
		return err
	}
	if d.SessionHash != sessionHash || d.SignedInAt.IsZero() {
		return flowError(FlowSignInNeeded, "Please sign in to answer this request.")
	}
	return flowError(FlowDecided, "The request with code %s was already answered.", FormatUserCode(d.UserCode))
}

// boundDevice returns the pending authorization of a user code that this
// session signed in for (signedIn: after MFA; otherwise before it).
// A session that has not signed in for the code learns nothing about it:
// an unknown, expired or answered code gets the same answer as a pending
// one, FlowSignInNeeded.
func (s *Service) boundDevice(ctx context.Context, typed, sessionHash string, signedIn bool) (store.DeviceAuthorization, DeviceView, error) {
	d, view, err := s.pendingDevice(ctx, typed)
	var fe *FlowError
	if err != nil && (!errors.As(err, &fe) || fe.Reason == FlowUnavailable || fe.Reason == FlowInternal) {
		return d, view, err
	}
	signInNeeded := flowError(FlowSignInNeeded, "Please sign in to answer this request.")
	if sessionHash == "" || d.SessionHash != sessionHash || d.Username == "" {
		return store.DeviceAuthorization{}, DeviceView{}, signInNeeded
	}
	if err != nil {
		return d, view, err
	}
	if d.SignedInAt.IsZero() == signedIn {
		return d, view, signInNeeded
	}
	return d, view, nil
}

// PendingEnrollment returns the TOTP secret the user who signed in from
// this session is enrolling, to show it again.
func (s *Service) PendingEnrollment(ctx context.Context, userCode, sessionHash string) (DeviceView, Enrollment, error) {
	d, view, err := s.boundDevice(ctx, userCode, sessionHash, false)
	if err != nil {
		return view, Enrollment{}, err
	}
	u, err := s.store.GetUser(ctx, d.Tenant, d.Username)
	if err != nil {
		return view, Enrollment{}, flowStoreError(err)
	}
	if u.TOTPSecret == "" || u.TOTPConfirmed {
		return view, Enrollment{}, flowError(FlowSignInNeeded, "Please sign in again.")
	}
	return view, Enrollment{Secret: u.TOTPSecret, URI: totpURI(u.Tenant, u.Username, u.TOTPSecret)}, nil
}

// ConfirmEnrollment checks the first TOTP code of a user who is enrolling
// and completes the sign-in of the session: the secret is confirmed, the
// MFA record refreshed and the authorization bound after MFA.
func (s *Service) ConfirmEnrollment(ctx context.Context, userCode, sessionHash, otp string) (DeviceView, error) {
	d, view, err := s.boundDevice(ctx, userCode, sessionHash, false)
	if err != nil {
		return view, err
	}
	code, err := normalizeOTP(otp)
	if err != nil {
		return view, flowError(FlowBadInput, "Enter the 6-digit code your authenticator app shows after adding the key.")
	}
	u, err := s.store.GetUser(ctx, d.Tenant, d.Username)
	if err != nil {
		return view, flowStoreError(err)
	}
	if !u.Enabled || u.TOTPSecret == "" {
		return view, flowError(FlowSignInNeeded, "Please sign in again.")
	}
	now := s.now()
	if err := s.useTOTP(ctx, u, code, now); err != nil {
		return view, s.countFailure(ctx, view, nil, err)
	}
	if err := s.signedIn(ctx, view, u.Username, sessionHash, sessionHash, now); err != nil {
		return view, err
	}
	view.Username = u.Username
	return view, nil
}

// ConsentView returns what the consent page shows to the user who signed
// in from this session.
func (s *Service) ConsentView(ctx context.Context, userCode, sessionHash string) (DeviceView, error) {
	_, view, err := s.boundDevice(ctx, userCode, sessionHash, true)
	return view, err
}

// Decision is the user's answer on the consent page.
type Decision struct {
	UserCode    string
	SessionHash string
	Approve     bool
	// Days is the typed lifetime in days; above the maximum it is cut to
	// it. It is ignored for a denial.
	Days string
}

// DecideDevice approves or denies the request of a user code that this
// session signed in for. Approval creates or extends the delegation from
// the user to the requesting client for the chosen number of days, in the
// same transaction.
func (s *Service) DecideDevice(ctx context.Context, dec Decision) (DeviceView, error) {
	d, view, err := s.boundDevice(ctx, dec.UserCode, dec.SessionHash, true)
	if err != nil {
		return view, err
	}
	days := 0
	if dec.Approve {
		maxDays := s.accounts.opts.MaxDelegationDays
		n, err := strconv.Atoi(strings.TrimSpace(dec.Days))
		if err != nil || n < 1 {
			return view, flowError(FlowBadInput, "days: enter a whole number of days from 1 to %d.", maxDays)
		}
		days = min(n, maxDays)
	}
	now := s.now()
	out, err := s.store.DecideDeviceAuthorization(ctx, store.DeviceDecision{UserCode: d.UserCode, Username: d.Username,
		SessionHash: dec.SessionHash, Approve: dec.Approve, Days: int32(days), DelegationExpiresAt: now.AddDate(0, 0, days), Now: now})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return view, s.explainRefusal(ctx, view.UserCode, dec.SessionHash)
	case errors.Is(err, store.ErrMissingParent):
		return view, flowError(FlowSignInNeeded, "Your MFA record was removed meanwhile. Please sign in again.")
	case err != nil:
		return view, flowStoreError(err)
	}
	view.State, view.Days = out.State, int(out.Days)
	return view, nil
}

// countFailure counts a failed sign-in (err, when it is wrong
// credentials) for the request of view when its code is pending (codeErr
// is nil): at the budget the request is denied, so that the device gets
// access_denied and whoever guesses passwords for it must start again. It
// returns err.
func (s *Service) countFailure(ctx context.Context, view DeviceView, codeErr, err error) error {
	var fe *FlowError
	code, ok := NormalizeUserCode(view.UserCode)
	if codeErr != nil || !ok || !errors.As(err, &fe) || fe.Reason != FlowBadCredentials {
		return err
	}
	d, ferr := s.store.FailDeviceSignIn(ctx, code, int32(s.accounts.opts.SignInFailuresPerRequest), s.now())
	switch {
	case errors.Is(ferr, store.ErrNotFound):
	case ferr != nil:
		return flowStoreError(ferr)
	case d.State == store.DeviceDenied:
		s.logger.WarnContext(ctx, "device login denied after too many failed sign-ins", "tenant", d.Tenant, "client_id", d.ClientID,
			"failures", d.FailedSignIns)
	}
	return err
}
