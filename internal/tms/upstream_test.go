package tms

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/keys"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlite"
	"github.com/tmsproject/tms/internal/totp/totptest"
)

// newUpstreamFixture is a flow fixture whose test tenant has the upstream
// providers of the rules, and no password sign-in in tenant "default".
func newUpstreamFixture(t *testing.T, rules ...UpstreamRule) *flowFixture {
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
		DeviceCodeLifetime: 10 * time.Minute, PollInterval: 5 * time.Second, MaxDelegationDays: 30, MFAValidity: 24 * time.Hour,
		Upstreams: rules, NoPasswordTenants: []string{DefaultTenant}}})
	if _, err := svc.Initialize(ctx); err != nil {
		t.Fatal(err)
	}
	f := &flowFixture{svc: svc, st: st, clock: clock}
	if f.user, err = svc.EnsureDevUser(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	return f
}

func campusRule(local LocalTOTP, create bool) UpstreamRule {
	return UpstreamRule{ID: "campus", Tenant: TestTenant, CreateUsers: create, LocalTOTP: local,
		MFAAMR: []string{"mfa", "otp"}, MFAACR: []string{"urn:example:mfa"}}
}

func (f *flowFixture) upstream(t *testing.T, g DeviceGrant, session, username string, amr []string, acr string) (UpstreamResult, error) {
	t.Helper()
	return f.svc.SignInUpstream(context.Background(), UpstreamSignIn{Upstream: "campus", UserCode: g.UserCode, SessionHash: session,
		Username: username, AMR: amr, ACR: acr})
}

// stillPending checks that a refused sign-in left the request usable.
func (f *flowFixture) stillPending(t *testing.T, g DeviceGrant) {
	t.Helper()
	view, err := f.svc.LookupUserCode(context.Background(), g.UserCode)
	if err != nil || view.State != store.DevicePending {
		t.Fatalf("the request is no longer pending: %+v %v", view, err)
	}
}

func TestUpstreamMFAAsserted(t *testing.T) {
	f := newUpstreamFixture(t, campusRule(LocalTOTPWhenNoMFA, true))
	ctx := context.Background()
	for _, tc := range []struct {
		amr []string
		acr string
	}{{[]string{"pwd", "mfa"}, ""}, {[]string{"pwd"}, "urn:example:mfa"}} {
		g := f.start(t)
		res, err := f.upstream(t, g, "s1", "carol", tc.amr, tc.acr)
		if err != nil || res.Next != UpstreamDone || !res.MFA || res.View.Username != "carol" {
			t.Fatalf("%v %q: %+v %v", tc.amr, tc.acr, res, err)
		}
		u, err := f.st.GetUser(ctx, TestTenant, "carol")
		if err != nil || u.Origin != "upstream:campus" || u.PasswordHash != "" || u.TOTPSecret != "" {
			t.Fatalf("user: %+v %v", u, err)
		}
		mfa, err := f.st.GetUserMFA(ctx, TestTenant, "carol")
		if err != nil || !mfa.ExpiresAt.Equal(f.clock.Now().Add(24*time.Hour)) {
			t.Fatalf("MFA record not renewed: %+v %v", mfa, err)
		}
		view, err := f.svc.DecideDevice(ctx, Decision{UserCode: g.UserCode, SessionHash: "s1", Approve: true, Days: "3"})
		if err != nil || view.State != store.DeviceApproved || view.Username != "carol" {
			t.Fatalf("approve: %+v %v", view, err)
		}
		f.clock.Add(time.Hour)
	}
}

func TestUpstreamWhenNoMFAAsksTOTP(t *testing.T) {
	f := newUpstreamFixture(t, campusRule(LocalTOTPWhenNoMFA, true))
	ctx := context.Background()
	g := f.start(t)
	res, err := f.upstream(t, g, "s1", "carol", []string{"pwd"}, "")
	if err != nil || res.Next != UpstreamEnroll || res.MFA || !res.Created {
		t.Fatalf("first sign-in: %+v %v", res, err)
	}
	// Not signed in yet: no consent, no MFA record.
	if _, err := f.svc.ConsentView(ctx, g.UserCode, "s1"); err == nil {
		t.Fatal("consent before the TOTP code")
	}
	if _, err := f.st.GetUserMFA(ctx, TestTenant, "carol"); err == nil {
		t.Fatal("MFA record before the TOTP code")
	}
	_, enr, err := f.svc.PendingEnrollment(ctx, g.UserCode, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ConfirmEnrollment(ctx, g.UserCode, "s1", f.otp(t, enr.Secret)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ConsentView(ctx, g.UserCode, "s1"); err != nil {
		t.Fatalf("consent after enrolment: %v", err)
	}

	// The next sign-in asks for the code of the enrolled secret.
	f.clock.Add(time.Minute)
	g = f.start(t)
	res, err = f.upstream(t, g, "s2", "carol", []string{"pwd"}, "")
	if err != nil || res.Next != UpstreamTOTP || res.Created {
		t.Fatalf("second sign-in: %+v %v", res, err)
	}
	if view, err := f.svc.SecondFactorView(ctx, g.UserCode, "s2"); err != nil || view.Username != "carol" {
		t.Fatalf("second factor view: %+v %v", view, err)
	}
	if _, err := f.svc.SecondFactorView(ctx, g.UserCode, "other session"); err == nil {
		t.Fatal("another session sees the second factor step")
	}
	_, err = f.svc.ConfirmEnrollment(ctx, g.UserCode, "s2", totptest.Wrong(t, enr.Secret, f.clock.Now()))
	wantFlow(t, err, FlowBadCredentials)
	if _, err := f.svc.ConfirmEnrollment(ctx, g.UserCode, "s2", f.otp(t, enr.Secret)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.DecideDevice(ctx, Decision{UserCode: g.UserCode, SessionHash: "s2", Approve: true, Days: "1"}); err != nil {
		t.Fatal(err)
	}
}

func TestUpstreamAlwaysAsksTOTP(t *testing.T) {
	f := newUpstreamFixture(t, campusRule(LocalTOTPAlways, true))
	g := f.start(t)
	res, err := f.upstream(t, g, "s1", "carol", []string{"pwd", "mfa"}, "")
	if err != nil || res.Next != UpstreamEnroll || !res.MFA {
		t.Fatalf("always, with mfa asserted: %+v %v", res, err)
	}
	if _, err := f.st.GetUserMFA(context.Background(), TestTenant, "carol"); err == nil {
		t.Fatal("MFA record before the TOTP code")
	}
}

func TestUpstreamNeverRefusesWithoutMFA(t *testing.T) {
	f := newUpstreamFixture(t, campusRule(LocalTOTPNever, true))
	g := f.start(t)
	_, err := f.upstream(t, g, "s1", "carol", []string{"pwd"}, "")
	wantFlow(t, err, FlowNoSecondFactor)
	f.stillPending(t, g)
	if res, err := f.upstream(t, g, "s1", "carol", []string{"pwd", "otp"}, ""); err != nil || res.Next != UpstreamDone {
		t.Fatalf("the request is not usable again: %+v %v", res, err)
	}
}

func TestUpstreamWhichUser(t *testing.T) {
	f := newUpstreamFixture(t, campusRule(LocalTOTPWhenNoMFA, false))
	ctx := context.Background()
	g := f.start(t)
	// Without create_users an unknown username is refused.
	_, err := f.upstream(t, g, "s1", "carol", []string{"mfa"}, "")
	wantFlow(t, err, FlowRefused)
	if _, err := f.st.GetUser(ctx, TestTenant, "carol"); err == nil {
		t.Fatal("a user was created without create_users")
	}
	// A local user of the same name is not taken over.
	_, err = f.upstream(t, g, "s1", TestUser, []string{"mfa"}, "")
	wantFlow(t, err, FlowRefused)
	// Nor is a user of another provider.
	now := f.clock.Now()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.st.CreateUser(ctx, store.User{Tenant: TestTenant, Username: "dave", Origin: store.UpstreamOrigin("other"), Enabled: true, Created: now, Updated: now}))
	_, err = f.upstream(t, g, "s1", "dave", []string{"mfa"}, "")
	wantFlow(t, err, FlowRefused)
	// A username TMS cannot use.
	_, err = f.upstream(t, g, "s1", "carol smith", []string{"mfa"}, "")
	wantFlow(t, err, FlowRefused)
	// A disabled user of this provider.
	must(f.st.CreateUser(ctx, store.User{Tenant: TestTenant, Username: "erin", Origin: store.UpstreamOrigin("campus"), Enabled: false, Created: now, Updated: now}))
	_, err = f.upstream(t, g, "s1", "erin", []string{"mfa"}, "")
	wantFlow(t, err, FlowRefused)
	// An unknown provider.
	_, err = f.svc.SignInUpstream(ctx, UpstreamSignIn{Upstream: "nope", UserCode: g.UserCode, SessionHash: "s1", Username: "erin"})
	wantFlow(t, err, FlowBadInput)
	f.stillPending(t, g)
	// A pre-created user of this provider signs in.
	must(f.st.CreateUser(ctx, store.User{Tenant: TestTenant, Username: "frank", Origin: store.UpstreamOrigin("campus"), Enabled: true, Created: now, Updated: now}))
	if res, err := f.upstream(t, g, "s1", "frank", []string{"mfa"}, ""); err != nil || res.Next != UpstreamDone || res.Created {
		t.Fatalf("frank: %+v %v", res, err)
	}
}

func TestUpstreamTenantAndExpiry(t *testing.T) {
	f := newUpstreamFixture(t, campusRule(LocalTOTPWhenNoMFA, true))
	ctx := context.Background()
	// A request of another tenant.
	g, err := f.svc.StartDeviceAuthorization(ctx, DeviceRequest{Tenant: DefaultTenant, ClientID: CLIClientID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.upstream(t, g, "s1", "carol", []string{"mfa"}, "")
	wantFlow(t, err, FlowBadInput)
	// Tenant "default" has no password sign-in, even for a user with the
	// right password.
	hash, err := f.svc.accounts.passwords.hash(ctx, "password1")
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	if err := f.st.CreateUser(ctx, store.User{Tenant: DefaultTenant, Username: "x", PasswordHash: hash, Enabled: true,
		Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.SignInForDevice(ctx, SignIn{UserCode: g.UserCode, Username: "x", Password: "password1", SessionHash: "s1"})
	wantFlow(t, err, FlowPasswordOff)
	if f.svc.PasswordSignIn(DefaultTenant) || !f.svc.PasswordSignIn(TestTenant) {
		t.Fatal("PasswordSignIn")
	}
	// An expired request.
	g = f.start(t)
	f.clock.Add(11 * time.Minute)
	_, err = f.upstream(t, g, "s1", "carol", []string{"mfa"}, "")
	wantFlow(t, err, FlowExpired)
}
