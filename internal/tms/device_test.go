package tms

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/keys"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlite"
	"github.com/tmsproject/tms/internal/totp/totptest"
)

// flowFixture is a Service on a real SQLite store with the standard
// tenants and the development user.
type flowFixture struct {
	svc   *Service
	st    store.Store
	clock *clocktest.Clock
	admin Credentials
	user  DevUser
}

func newFlowFixture(t *testing.T) *flowFixture {
	t.Helper()
	return newFlowFixtureWith(t, nil)
}

// newFlowFixtureWith is newFlowFixture with the tenants' directories.
func newFlowFixtureWith(t *testing.T, dirs []TenantDirectory) *flowFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "tms.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	gen, err := keys.NewGenerator(keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := clocktest.New(time.Date(2026, 7, 13, 12, 0, 0, 0, time.UTC))
	svc := New(Options{Store: st, Keys: gen, Now: clock.Now, OAuth: OAuthOptions{
		DeviceCodeLifetime: 10 * time.Minute, PollInterval: 5 * time.Second, MaxDelegationDays: 30}, Directories: dirs})
	secrets, err := svc.Initialize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &flowFixture{svc: svc, st: st, clock: clock}
	for _, s := range secrets {
		if s.Tenant == TestTenant {
			f.admin = Credentials{Tenant: TestTenant, TenantSet: true, AdminID: s.AdminID, AdminSecret: s.Secret}
		}
	}
	if f.user, err = svc.EnsureDevUser(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *flowFixture) otp(t *testing.T, secret string) string {
	t.Helper()
	code, err := TOTPCode(secret, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func wantFlow(t *testing.T, err error, reason FlowReason) {
	t.Helper()
	var fe *FlowError
	if !errors.As(err, &fe) || fe.Reason != reason {
		t.Fatalf("got %v, want a flow error with reason %d", err, reason)
	}
}

func wantOAuth(t *testing.T, err error, code string) {
	t.Helper()
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != code {
		t.Fatalf("got %v, want OAuth error %s", err, code)
	}
}

// start begins a login of tms-cli in the test tenant.
func (f *flowFixture) start(t *testing.T) DeviceGrant {
	t.Helper()
	g, err := f.svc.StartDeviceAuthorization(context.Background(), DeviceRequest{Tenant: TestTenant, ClientID: CLIClientID})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func (f *flowFixture) poll(code string, style store.PollStyle) (TokenGrant, error) {
	return f.svc.PollDeviceToken(context.Background(), DevicePoll{ClientID: CLIClientID, DeviceCode: code, Style: style})
}

// signIn signs the development user in for the grant and approves it.
func (f *flowFixture) approve(t *testing.T, g DeviceGrant, session string, days string) DeviceView {
	t.Helper()
	ctx := context.Background()
	res, err := f.svc.SignInForDevice(ctx, SignIn{UserCode: g.UserCode, Username: f.user.Username, Password: f.user.Password,
		OTP: f.otp(t, f.user.TOTPSecret), SessionHash: session})
	if err != nil || res.Enroll != nil {
		t.Fatalf("sign in: %+v %v", res, err)
	}
	f.clock.Add(30 * time.Second) // the next sign-in needs a fresh code
	view, err := f.svc.DecideDevice(ctx, Decision{UserCode: g.UserCode, SessionHash: session, Approve: true, Days: days})
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	return view
}

func TestDeviceFlowApproveAndTokens(t *testing.T) {
	f := newFlowFixture(t)
	ctx := context.Background()
	g := f.start(t)
	if g.Interval != 5*time.Second || g.ExpiresIn != 10*time.Minute || len(g.UserCode) != 9 || g.Tenant != TestTenant {
		t.Fatalf("grant: %+v", g)
	}
	if _, err := f.poll(g.DeviceCode, store.PollBody); err == nil {
		t.Fatal("tokens before approval")
	} else {
		wantOAuth(t, err, OAuthAuthorizationPending)
	}
	view, err := f.svc.LookupUserCode(ctx, g.UserCode)
	if err != nil || view.AppName != "TMS command line" || view.Tenant != TestTenant || view.MaxDays != 30 {
		t.Fatalf("lookup: %+v %v", view, err)
	}
	// Consent before sign-in is refused.
	_, err = f.svc.DecideDevice(ctx, Decision{UserCode: g.UserCode, SessionHash: "s1", Approve: true, Days: "1"})
	wantFlow(t, err, FlowSignInNeeded)

	view = f.approve(t, g, "s1", "400")
	if view.State != store.DeviceApproved || view.Days != 30 {
		t.Fatalf("approval of 400 days was not cut to 30: %+v", view)
	}
	mfa, err := f.st.GetUserMFA(ctx, TestTenant, TestUser)
	if err != nil || mfa.ExpiresAt.Before(f.clock.Now().Add(23*time.Hour)) {
		t.Fatalf("MFA record after sign-in: %+v %v", mfa, err)
	}
	del, err := f.st.FindDelegation(ctx, store.DelegationKey{Tenant: TestTenant, ClientID: CLIClientID, ClientUserID: TestUser})
	if err != nil || !del.ExpiresAt.Equal(f.clock.Now().AddDate(0, 0, 30)) {
		t.Fatalf("delegation after approval: %+v %v", del, err)
	}

	f.clock.Add(5 * time.Second)
	tok, err := f.poll(g.DeviceCode, store.PollBody)
	if err != nil || tok.AccessToken == "" || tok.RefreshToken == "" || tok.ExpiresIn != time.Hour || tok.Scope != ScopeKeys {
		t.Fatalf("tokens: %+v %v", tok, err)
	}
	// Replay of the redeemed code.
	f.clock.Add(5 * time.Second)
	_, err = f.poll(g.DeviceCode, store.PollBody)
	wantOAuth(t, err, OAuthInvalidGrant)

	p, err := f.svc.AuthenticateBearer(ctx, tok.AccessToken)
	if err != nil || p.Username != TestUser || p.Tenant != TestTenant || p.ClientID != CLIClientID {
		t.Fatalf("bearer: %+v %v", p, err)
	}
	if _, err := f.svc.AuthenticateBearer(ctx, tok.RefreshToken); ErrorKind(err) != KindUnauthorized {
		t.Fatalf("a refresh token authenticated: %v", err)
	}

	// A key for the mapped host and account, with the CLI as the delegate.
	k, err := f.svc.CreateUserKey(ctx, p, UserKeyRequest{Host: TestHost, HostAccount: TestHostAccount, NumUses: 2, TTLMinutes: 10})
	if err != nil || k.Key.ClientID != CLIClientID || k.Key.ClientUserID != TestUser || k.Pair.PrivateKey == "" {
		t.Fatalf("user key: %+v %v", k.Key, err)
	}
	if _, err := f.svc.CreateHostCredential(ctx, f.admin, TestTenant, TestHost); err != nil {
		t.Fatalf("register the host: %v", err)
	}
	r, err := f.svc.RetrieveKey(ctx, RetrieveRequest{User: TestHostAccount, Host: TestHost, Fingerprint: k.Key.Fingerprint})
	if err != nil || r.PublicKey != k.Key.PublicKey {
		t.Fatalf("retrieve the user's key: %+v %v", r, err)
	}
	// Not for an account the user is not mapped to, and nothing is provisioned.
	_, err = f.svc.CreateUserKey(ctx, p, UserKeyRequest{Host: TestHost, HostAccount: "root"})
	if ErrorKind(err) != KindForbidden {
		t.Fatalf("key for an unmapped account: %v", err)
	}
	keys, err := f.svc.ListUserKeys(ctx, p)
	if err != nil || len(keys) != 1 {
		t.Fatalf("user keys: %+v %v", keys, err)
	}
	if _, err := f.svc.DeleteUserKey(ctx, p, TestHost, "SHA256:nope"); ErrorKind(err) != KindNotFound {
		t.Fatalf("delete an unknown key: %v", err)
	}
	if n, err := f.svc.DeleteUserKey(ctx, p, TestHost, k.Key.Fingerprint); err != nil || n != 1 {
		t.Fatalf("delete key: %d %v", n, err)
	}

	// Refresh rotates; the spent token revokes the login when reused.
	tok2, err := f.svc.RefreshToken(ctx, RefreshGrant{ClientID: CLIClientID, RefreshToken: tok.RefreshToken})
	if err != nil || tok2.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %+v %v", tok2, err)
	}
	_, err = f.svc.RefreshToken(ctx, RefreshGrant{ClientID: "other", RefreshToken: tok2.RefreshToken})
	wantOAuth(t, err, OAuthInvalidGrant)
	_, err = f.svc.RefreshToken(ctx, RefreshGrant{ClientID: CLIClientID, RefreshToken: tok.RefreshToken})
	wantOAuth(t, err, OAuthInvalidGrant)
	if _, err := f.svc.AuthenticateBearer(ctx, tok2.AccessToken); ErrorKind(err) != KindUnauthorized {
		t.Fatalf("access token of a revoked login still works: %v", err)
	}
}

func TestRefreshStopsWhenDelegationEnds(t *testing.T) {
	f := newFlowFixture(t)
	ctx := context.Background()
	g := f.start(t)
	f.approve(t, g, "s1", "1")
	f.clock.Add(5 * time.Second)
	tok, err := f.poll(g.DeviceCode, store.PollBody)
	if err != nil {
		t.Fatal(err)
	}
	// The delegation lasts one day; the refresh token thirty.
	f.clock.Add(25 * time.Hour)
	_, err = f.svc.RefreshToken(ctx, RefreshGrant{ClientID: CLIClientID, RefreshToken: tok.RefreshToken})
	wantOAuth(t, err, OAuthInvalidGrant)

	// Revoking the delegation also ends a fresh login.
	f.clock.Add(time.Minute)
	g = f.start(t)
	f.approve(t, g, "s2", "7")
	f.clock.Add(5 * time.Second)
	tok, err = f.poll(g.DeviceCode, store.PollBody)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.AuthenticateBearer(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	dels, err := f.svc.ListUserDelegations(ctx, p)
	if err != nil || len(dels) != 2 { // testclient1 from the seed, and tms-cli
		t.Fatalf("delegations: %+v %v", dels, err)
	}
	k, err := f.svc.CreateUserKey(ctx, p, UserKeyRequest{Host: TestHost, HostAccount: TestHostAccount, NumUses: 2, TTLMinutes: 10})
	if err != nil {
		t.Fatal(err)
	}
	if rev, err := f.svc.RevokeUserDelegation(ctx, p, CLIClientID); err != nil || rev.Keys != 1 || rev.Tokens < 2 {
		t.Fatalf("revoke: %+v %v, want the one key deleted and the access and refresh tokens revoked", rev, err)
	}
	if r, err := f.svc.RetrieveKey(ctx, RetrieveRequest{User: TestHostAccount, Host: TestHost, Fingerprint: k.Key.Fingerprint}); err == nil {
		t.Fatalf("the key issued through the revoked delegation is still accepted: %+v", r)
	}
	if _, err := f.svc.RevokeUserDelegation(ctx, p, CLIClientID); ErrorKind(err) != KindNotFound {
		t.Fatalf("revoking again: %v, want not found", err)
	}
	if _, err := f.svc.AuthenticateBearer(ctx, tok.AccessToken); ErrorKind(err) != KindUnauthorized {
		t.Fatalf("access token after revoking the delegation: %v", err)
	}
	_, err = f.svc.RefreshToken(ctx, RefreshGrant{ClientID: CLIClientID, RefreshToken: tok.RefreshToken})
	wantOAuth(t, err, OAuthInvalidGrant)
}

func TestDevicePollPacing(t *testing.T) {
	f := newFlowFixture(t)
	g := f.start(t)
	pending := func(style store.PollStyle) {
		t.Helper()
		_, err := f.poll(g.DeviceCode, style)
		wantOAuth(t, err, OAuthAuthorizationPending)
	}
	// x/oauth2's auto-detect: Basic auth, then at once the body style.
	pending(store.PollHeader)
	f.clock.Add(20 * time.Millisecond)
	pending(store.PollBody)
	for range 3 {
		f.clock.Add(5 * time.Second)
		pending(store.PollHeader)
		f.clock.Add(20 * time.Millisecond)
		pending(store.PollBody)
	}
	// The interval is 5s; polls are measured against the schedule, so a
	// poll that leaves late (a busy machine) and the next one on the
	// ticker's time are both fine, although they come 1.1s apart.
	slowDown := func(style store.PollStyle) {
		t.Helper()
		_, err := f.poll(g.DeviceCode, style)
		wantOAuth(t, err, OAuthSlowDown)
	}
	f.clock.Add(5 * time.Second)
	pending(store.PollHeader)
	f.clock.Add(8900 * time.Millisecond)
	pending(store.PollHeader)
	f.clock.Add(1100 * time.Millisecond)
	pending(store.PollHeader)
	// The retry is never too soon, however late it comes; a poll retries
	// only once, so a second body poll is measured from the slot.
	f.clock.Add(3500 * time.Millisecond)
	pending(store.PollBody)
	f.clock.Add(20 * time.Millisecond)
	slowDown(store.PollBody)
	f.clock.Add(20 * time.Millisecond)
	slowDown(store.PollHeader)
	// A device polling twice as fast as allowed is told to slow down at
	// every other poll: slow polls are not recorded, and the next is
	// measured from the last good slot.
	f.clock.Add(time.Second)
	pending(store.PollBody)
	for range 3 {
		f.clock.Add(2500 * time.Millisecond)
		slowDown(store.PollBody)
		f.clock.Add(2500 * time.Millisecond)
		pending(store.PollBody)
	}
	// A device that keeps coming a little early falls behind the schedule.
	for range 3 {
		f.clock.Add(4800 * time.Millisecond)
		pending(store.PollBody)
	}
	f.clock.Add(4800 * time.Millisecond)
	slowDown(store.PollBody)
	// A long pause starts a new schedule.
	f.clock.Add(20 * time.Second)
	pending(store.PollBody)
	f.clock.Add(4500 * time.Millisecond)
	pending(store.PollBody)
	f.clock.Add(3 * time.Second)
	slowDown(store.PollBody)
	// Expired.
	f.clock.Add(10 * time.Minute)
	_, err := f.poll(g.DeviceCode, store.PollBody)
	wantOAuth(t, err, OAuthExpiredToken)
	// Unknown code, and another client.
	_, err = f.poll("tmsdc_nope", store.PollBody)
	wantOAuth(t, err, OAuthInvalidGrant)
	_, err = f.svc.PollDeviceToken(context.Background(), DevicePoll{ClientID: "testclient1", DeviceCode: g.DeviceCode, Style: store.PollBody})
	wantOAuth(t, err, OAuthInvalidGrant)
}

func TestDeviceDenyAndExpiry(t *testing.T) {
	f := newFlowFixture(t)
	ctx := context.Background()
	g := f.start(t)
	res, err := f.svc.SignInForDevice(ctx, SignIn{UserCode: g.UserCode, Username: f.user.Username, Password: f.user.Password,
		OTP: f.otp(t, f.user.TOTPSecret), SessionHash: "s1"})
	if err != nil || res.Enroll != nil {
		t.Fatalf("sign in: %v", err)
	}
	view, err := f.svc.DecideDevice(ctx, Decision{UserCode: g.UserCode, SessionHash: "s1", Approve: false})
	if err != nil || view.State != store.DeviceDenied {
		t.Fatalf("deny: %+v %v", view, err)
	}
	_, err = f.poll(g.DeviceCode, store.PollBody)
	wantOAuth(t, err, OAuthAccessDenied)
	_, err = f.svc.LookupUserCode(ctx, g.UserCode)
	wantFlow(t, err, FlowDecided)
	if _, err := f.st.FindDelegation(ctx, store.DelegationKey{Tenant: TestTenant, ClientID: CLIClientID, ClientUserID: TestUser}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a denial created a delegation: %v", err)
	}

	// Approval after expiry is refused.
	f.clock.Add(time.Minute)
	g = f.start(t)
	res, err = f.svc.SignInForDevice(ctx, SignIn{UserCode: g.UserCode, Username: f.user.Username, Password: f.user.Password,
		OTP: f.otp(t, f.user.TOTPSecret), SessionHash: "s2"})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(11 * time.Minute)
	_, err = f.svc.DecideDevice(ctx, Decision{UserCode: g.UserCode, SessionHash: "s2", Approve: true, Days: "1"})
	wantFlow(t, err, FlowExpired)
	_, err = f.poll(g.DeviceCode, store.PollBody)
	wantOAuth(t, err, OAuthExpiredToken)
}

func TestSignInFailures(t *testing.T) {
	f := newFlowFixture(t)
	ctx := context.Background()
	g := f.start(t)
	good := SignIn{UserCode: g.UserCode, Username: f.user.Username, Password: f.user.Password, SessionHash: "s1"}
	tests := []struct {
		name   string
		change func(*SignIn)
		reason FlowReason
	}{
		{"malformed code", func(s *SignIn) { s.UserCode = "AEIO-UAEI" }, FlowBadCredentials},
		{"unknown code", func(s *SignIn) { s.UserCode = "BBBB-BBBB" }, FlowBadCredentials},
		{"no password", func(s *SignIn) { s.Password = "" }, FlowBadInput},
		{"wrong password", func(s *SignIn) { s.Password = "wrong password"; s.OTP = f.otp(t, f.user.TOTPSecret) }, FlowBadCredentials},
		{"unknown user", func(s *SignIn) { s.Username = "mallory"; s.OTP = "123456" }, FlowBadCredentials},
		{"no code", func(s *SignIn) {}, FlowBadInput},
		{"malformed code", func(s *SignIn) { s.OTP = "12345" }, FlowBadInput},
		{"wrong code", func(s *SignIn) { s.OTP = totptest.Wrong(t, f.user.TOTPSecret, f.clock.Now()) }, FlowBadCredentials},
	}
	for _, tc := range tests {
		in := good
		tc.change(&in)
		_, err := f.svc.SignInForDevice(ctx, in)
		if err == nil {
			t.Fatalf("%s: signed in", tc.name)
		}
		var fe *FlowError
		if !errors.As(err, &fe) || fe.Reason != tc.reason {
			t.Fatalf("%s: got %v, want reason %d", tc.name, err, tc.reason)
		}
	}
	// The same code twice: the second is refused.
	in := good
	in.OTP = f.otp(t, f.user.TOTPSecret)
	if _, err := f.svc.SignInForDevice(ctx, in); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.SignInForDevice(ctx, in)
	wantFlow(t, err, FlowBadCredentials)
	// A disabled user.
	if _, err := f.svc.UpdateUser(ctx, f.admin, UserChange{Username: TestUser, Enabled: new(false)}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(30 * time.Second)
	in.OTP = f.otp(t, f.user.TOTPSecret)
	_, err = f.svc.SignInForDevice(ctx, in)
	wantFlow(t, err, FlowBadCredentials)
}

func TestEnrollmentAtFirstSignIn(t *testing.T) {
	f := newFlowFixture(t)
	ctx := context.Background()
	u, err := f.svc.CreateUser(ctx, f.admin, NewUser{Username: "alice", Password: "alice password"})
	if err != nil || u.TOTPSecret != "" || u.Tenant != TestTenant {
		t.Fatalf("create user: %+v %v", u, err)
	}
	g := f.start(t)
	res, err := f.svc.SignInForDevice(ctx, SignIn{UserCode: g.UserCode, Username: "alice", Password: "alice password", SessionHash: "s1"})
	if err != nil || res.Enroll == nil || res.Enroll.Secret == "" {
		t.Fatalf("first sign-in: %+v %v", res, err)
	}
	// Not signed in yet: no consent.
	_, err = f.svc.ConsentView(ctx, g.UserCode, "s1")
	wantFlow(t, err, FlowSignInNeeded)
	// The enrolment page shows the same secret again, only to this session.
	_, again, err := f.svc.PendingEnrollment(ctx, g.UserCode, "s1")
	if err != nil || again.Secret != res.Enroll.Secret {
		t.Fatalf("pending enrolment: %+v %v", again, err)
	}
	_, _, err = f.svc.PendingEnrollment(ctx, g.UserCode, "s2")
	wantFlow(t, err, FlowSignInNeeded)
	// A wrong code, then the right one.
	_, err = f.svc.ConfirmEnrollment(ctx, g.UserCode, "s1", totptest.Wrong(t, res.Enroll.Secret, f.clock.Now()))
	wantFlow(t, err, FlowBadCredentials)
	if _, err := f.svc.ConfirmEnrollment(ctx, g.UserCode, "s1", f.otp(t, res.Enroll.Secret)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ConsentView(ctx, g.UserCode, "s1"); err != nil {
		t.Fatalf("consent after enrolment: %v", err)
	}
	stored, err := f.st.GetUser(ctx, TestTenant, "alice")
	if err != nil || !stored.TOTPConfirmed || stored.TOTPSecret != res.Enroll.Secret {
		t.Fatalf("user after enrolment: %+v %v", stored, err)
	}
	// The next sign-in needs the code and shows no enrolment.
	f.clock.Add(30 * time.Second)
	g = f.start(t)
	_, err = f.svc.SignInForDevice(ctx, SignIn{UserCode: g.UserCode, Username: "alice", Password: "alice password", SessionHash: "s3"})
	wantFlow(t, err, FlowBadInput)
}

func TestUserAdministration(t *testing.T) {
	f := newFlowFixture(t)
	ctx := context.Background()
	bad := []struct {
		name string
		req  NewUser
		kind Kind
	}{
		{"bad username", NewUser{Username: "-x", Password: "long enough"}, KindInvalid},
		{"short password", NewUser{Username: "bob", Password: "short"}, KindInvalid},
		{"other tenant", NewUser{Tenant: DefaultTenant, Username: "bob", Password: "long enough"}, KindForbidden},
	}
	for _, tc := range bad {
		if _, err := f.svc.CreateUser(ctx, f.admin, tc.req); ErrorKind(err) != tc.kind {
			t.Fatalf("%s: got %v, want kind %d", tc.name, err, tc.kind)
		}
	}
	noAuth := Credentials{Tenant: TestTenant, TenantSet: true, AdminID: AdminID, AdminSecret: "wrong"}
	if _, err := f.svc.CreateUser(ctx, noAuth, NewUser{Username: "bob", Password: "long enough"}); ErrorKind(err) != KindUnauthorized {
		t.Fatalf("wrong admin secret: %v", err)
	}
	if _, err := f.svc.CreateUser(ctx, f.admin, NewUser{Tenant: TestTenant, Username: "bob", Password: "long enough"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateUser(ctx, f.admin, NewUser{Username: "bob", Password: "long enough"}); ErrorKind(err) != KindConflict {
		t.Fatalf("duplicate: %v", err)
	}
	list, err := f.svc.ListUsers(ctx, f.admin)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %+v %v", list, err)
	}
	pw := "new password"
	if n, err := f.svc.UpdateUser(ctx, f.admin, UserChange{Username: "bob", Password: &pw, Enabled: new(false)}); err != nil || n != 2 {
		t.Fatalf("update: %d %v", n, err)
	}
	if _, err := f.svc.UpdateUser(ctx, f.admin, UserChange{Username: "nobody", Enabled: new(true)}); ErrorKind(err) != KindNotFound {
		t.Fatalf("update a missing user: %v", err)
	}
	prov, err := f.svc.ProvisionTOTP(ctx, f.admin, "bob")
	if err != nil || prov.Secret == "" || prov.URI == "" {
		t.Fatalf("provision: %+v %v", prov, err)
	}
	u, err := f.svc.GetUser(ctx, f.admin, "bob")
	if err != nil || u.Enabled || !u.TOTPConfirmed || u.TOTPSecret != prov.Secret {
		t.Fatalf("get: %+v %v", u, err)
	}
	if _, err := f.svc.ProvisionTOTP(ctx, f.admin, "nobody"); ErrorKind(err) != KindNotFound {
		t.Fatalf("provision a missing user: %v", err)
	}
	if n, err := f.svc.DeleteUser(ctx, f.admin, "bob"); err != nil || n != 1 {
		t.Fatalf("delete: %d %v", n, err)
	}
	if _, err := f.svc.GetUser(ctx, f.admin, "bob"); ErrorKind(err) != KindNotFound {
		t.Fatalf("get a deleted user: %v", err)
	}
}

func TestStartDeviceAuthorizationRefusals(t *testing.T) {
	f := newFlowFixture(t)
	ctx := context.Background()
	tests := []struct {
		req  DeviceRequest
		code string
	}{
		{DeviceRequest{Tenant: TestTenant}, OAuthInvalidRequest},
		{DeviceRequest{Tenant: "nope", ClientID: CLIClientID}, OAuthInvalidRequest},
		{DeviceRequest{Tenant: TestTenant, ClientID: TestClientID}, OAuthInvalidClient},
		{DeviceRequest{Tenant: TestTenant, ClientID: CLIClientID, Scope: "admin"}, OAuthInvalidScope},
	}
	for _, tc := range tests {
		_, err := f.svc.StartDeviceAuthorization(ctx, tc.req)
		wantOAuth(t, err, tc.code)
	}
	// The default tenant is the default.
	g, err := f.svc.StartDeviceAuthorization(ctx, DeviceRequest{ClientID: CLIClientID, Scope: "keys"})
	if err != nil || g.Tenant != DefaultTenant {
		t.Fatalf("default tenant: %+v %v", g, err)
	}
}

// A user who signs in through an upstream provider or a directory has no
// TMS password: the password form refuses them even if a hash was left in
// the record, and an administrator cannot set one.
func TestPasswordSignInOnlyForLocalUsers(t *testing.T) {
	f := newFlowFixture(t)
	ctx := context.Background()
	hash, err := f.svc.accounts.passwords.hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	for _, origin := range []store.Origin{store.UpstreamOrigin("campus"), store.LDAPOrigin("dir")} {
		name := "u-" + string(origin[:4])
		if err := f.st.CreateUser(ctx, store.User{Tenant: TestTenant, Username: name, Origin: origin, PasswordHash: hash,
			Enabled: true, Created: now, Updated: now}); err != nil {
			t.Fatal(err)
		}
		g := f.start(t)
		_, err := f.svc.SignInForDevice(ctx, SignIn{UserCode: g.UserCode, Username: name, Password: "correct horse", SessionHash: "s1"})
		wantFlow(t, err, FlowBadCredentials)
		pw := "another password"
		_, err = f.svc.UpdateUser(ctx, f.admin, UserChange{Username: name, Password: &pw})
		if ErrorKind(err) != KindInvalid {
			t.Fatalf("%s: setting a password: %v", origin, err)
		}
	}
}

// TestTenantBoundTokens: the endpoints of a tenant accept only the device
// codes and tokens issued in it; a code or token shown to another tenant's
// endpoints is refused or ignored there and keeps working where it belongs.
func TestTenantBoundTokens(t *testing.T) {
	f := newFlowFixture(t)
	ctx := context.Background()
	g := f.start(t)
	f.approve(t, g, "s1", "3")
	f.clock.Add(5 * time.Second)
	_, err := f.svc.PollDeviceToken(ctx, DevicePoll{Tenant: DefaultTenant, ClientID: CLIClientID, DeviceCode: g.DeviceCode, Style: store.PollBody})
	wantOAuth(t, err, OAuthInvalidGrant)
	tok, err := f.svc.PollDeviceToken(ctx, DevicePoll{Tenant: TestTenant, ClientID: CLIClientID, DeviceCode: g.DeviceCode, Style: store.PollBody})
	if err != nil {
		t.Fatalf("poll at the code's own tenant after a poll at another: %v", err)
	}

	_, err = f.svc.RefreshToken(ctx, RefreshGrant{Tenant: DefaultTenant, ClientID: CLIClientID, RefreshToken: tok.RefreshToken})
	wantOAuth(t, err, OAuthInvalidGrant)
	if _, err := f.svc.RevokeToken(ctx, DefaultTenant, CLIClientID, tok.RefreshToken); err != nil {
		t.Fatalf("revoke at another tenant: %v", err)
	}
	if _, err := f.svc.AuthenticateBearer(ctx, tok.AccessToken); err != nil {
		t.Fatalf("access token after a refresh and a revocation at another tenant: %v", err)
	}
	tok2, err := f.svc.RefreshToken(ctx, RefreshGrant{Tenant: TestTenant, ClientID: CLIClientID, RefreshToken: tok.RefreshToken})
	if err != nil {
		t.Fatalf("refresh at the token's own tenant: %v", err)
	}
	if _, err := f.svc.RevokeToken(ctx, TestTenant, CLIClientID, tok2.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AuthenticateBearer(ctx, tok2.AccessToken); ErrorKind(err) != KindUnauthorized {
		t.Fatalf("access token after revocation at its tenant: %v", err)
	}
	if _, err := f.svc.RevokeToken(ctx, TestTenant, CLIClientID, "unknown"); err != nil {
		t.Fatalf("revoke an unknown token: %v", err)
	}

	if _, err := f.st.SetTenantEnabled(ctx, DefaultTenant, false, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	for tenant, want := range map[string]bool{TestTenant: true, DefaultTenant: false, "nosuch": false, "": false, "a\x00b": false} {
		if got, err := f.svc.TenantIssuer(ctx, tenant); err != nil || got != want {
			t.Errorf("TenantIssuer(%q) = %v, %v; want %v", tenant, got, err, want)
		}
	}
}

// TestSignInOnTenantPages: on the pages of a tenant, a code of another
// tenant is answered as an unknown code, even with the right password; on
// the pages of its own tenant it signs in.
func TestSignInOnTenantPages(t *testing.T) {
	f := newFlowFixture(t)
	ctx := context.Background()
	g := f.start(t)
	in := SignIn{UserCode: g.UserCode, Tenant: DefaultTenant, Username: f.user.Username, Password: f.user.Password,
		OTP: f.otp(t, f.user.TOTPSecret), SessionHash: "s1"}
	res, err := f.svc.SignInForDevice(ctx, in)
	wantFlow(t, err, FlowBadCredentials)
	if res.View.Tenant != "" {
		t.Fatalf("a refused sign-in told the code's request: %+v", res.View)
	}
	in.Tenant = TestTenant
	if res, err := f.svc.SignInForDevice(ctx, in); err != nil || res.View.Tenant != TestTenant {
		t.Fatalf("sign-in on the pages of the code's tenant: %+v %v", res, err)
	}
}

// TestSignInRenewsMFA: a sign-in makes the user's MFA record valid for
// oauth.mfa_validity from then (what tms whoami shows), creating it when
// missing, and leaves a permanent record permanent.
func TestSignInRenewsMFA(t *testing.T) {
	f := newFlowFixture(t)
	ctx := context.Background()
	if _, err := f.st.DeleteUserMFA(ctx, TestTenant, f.user.Username); err != nil {
		t.Fatal(err)
	}
	g := f.start(t)
	signedIn := f.clock.Now()
	f.approve(t, g, "s1", "1")
	m, err := f.svc.Me(ctx, UserPrincipal{Tenant: TestTenant, Username: f.user.Username})
	if err != nil {
		t.Fatal(err)
	}
	if want := signedIn.Add(24 * time.Hour); !m.Enabled || !m.ExpiresAt.Equal(want) {
		t.Fatalf("MFA record after a sign-in: enabled %v, expires %v, want %v", m.Enabled, m.ExpiresAt, want)
	}

	// The permanent record of the test data stays permanent.
	f2 := newFlowFixture(t)
	g = f2.start(t)
	f2.approve(t, g, "s1", "1")
	if m, err := f2.svc.Me(ctx, UserPrincipal{Tenant: TestTenant, Username: f2.user.Username}); err != nil || !m.ExpiresAt.Equal(store.Never) {
		t.Fatalf("permanent MFA record after a sign-in: %v %v", m.ExpiresAt, err)
	}
}
