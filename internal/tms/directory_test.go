package tms

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/directory"
	"github.com/tmsproject/tms/internal/directory/slapdtest"
	"github.com/tmsproject/tms/internal/store"
)

// newDirectoryFixture is a flow fixture whose test tenant signs in with a
// real slapd holding alice, bob, the development user's name and a name TMS refuses.
func newDirectoryFixture(t *testing.T) (*flowFixture, *slapdtest.Server) {
	t.Helper()
	s := slapdtest.Start(t,
		slapdtest.User{UID: "alice", Password: "alice's directory password"},
		slapdtest.User{UID: "bob", Password: "bob's directory password"},
		slapdtest.User{UID: TestUser, Password: "another directory password"},
		slapdtest.User{UID: "bad name!", Password: "bad name's password"})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CAPEM)
	d, err := directory.New(directory.Config{URL: s.LDAPSURL, RootCAs: pool, BindDN: slapdtest.BindDN, BindPassword: s.BindPassword,
		UserBase: slapdtest.PeopleDN, UserFilter: "(uid={username})", UsernameAttribute: "uid", Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return newFlowFixtureWith(t, []TenantDirectory{{ID: "campus", Tenant: TestTenant, Directory: d}}), s
}

// TestDirectorySignIn: a user of a tenant with a directory signs in with
// the directory password, is created at the first sign-in with the
// directory's spelling of the name and no TMS password, enrols TOTP, and
// afterwards needs password and code.
func TestDirectorySignIn(t *testing.T) {
	f, _ := newDirectoryFixture(t)
	ctx := context.Background()
	g := f.start(t)
	res, err := f.svc.SignInForDevice(ctx, SignIn{UserCode: g.UserCode, Username: "ALICE", Password: "alice's directory password", SessionHash: "s1"})
	if err != nil || res.Enroll == nil || !res.Created || res.Origin != store.LDAPOrigin("campus") || res.View.Username != "alice" {
		t.Fatalf("first sign-in: %+v %v", res, err)
	}
	u, err := f.st.GetUser(ctx, TestTenant, "alice")
	if err != nil || u.Origin != store.LDAPOrigin("campus") || u.PasswordHash != "" || !u.Enabled {
		t.Fatalf("created user: %+v %v", u, err)
	}
	if _, err := f.svc.ConfirmEnrollment(ctx, g.UserCode, "s1", f.otp(t, res.Enroll.Secret)); err != nil {
		t.Fatal(err)
	}
	if view, err := f.svc.DecideDevice(ctx, Decision{UserCode: g.UserCode, SessionHash: "s1", Approve: true, Days: "2"}); err != nil ||
		view.Username != "alice" {
		t.Fatalf("approve: %+v %v", view, err)
	}

	// The second sign-in needs the code; the user is not created again.
	f.clock.Add(30 * time.Second)
	g = f.start(t)
	_, err = f.svc.SignInForDevice(ctx, SignIn{UserCode: g.UserCode, Username: "alice", Password: "alice's directory password", SessionHash: "s2"})
	wantFlow(t, err, FlowBadInput)
	u, _ = f.st.GetUser(ctx, TestTenant, "alice")
	res, err = f.svc.SignInForDevice(ctx, SignIn{UserCode: g.UserCode, Username: "alice", Password: "alice's directory password",
		OTP: f.otp(t, u.TOTPSecret), SessionHash: "s2"})
	if err != nil || res.Enroll != nil || res.Created || res.View.Username != "alice" {
		t.Fatalf("second sign-in: %+v %v", res, err)
	}
	if _, err := f.svc.ConsentView(ctx, g.UserCode, "s2"); err != nil {
		t.Fatalf("consent after the second sign-in: %v", err)
	}
}

// TestDirectorySignInRefusals: wrong passwords, unknown users, injections
// and empty passwords are refused alike and create nobody; the TMS
// password of a local user no longer works in the tenant, and a local user
// of the same name as a directory user is not taken over.
func TestDirectorySignInRefusals(t *testing.T) {
	f, _ := newDirectoryFixture(t)
	ctx := context.Background()
	g := f.start(t)
	signIn := func(username, password string) (SignInResult, error) {
		return f.svc.SignInForDevice(ctx, SignIn{UserCode: g.UserCode, Username: username, Password: password, SessionHash: "s1"})
	}
	for _, c := range []struct{ username, password string }{
		{"alice", "alice's wrong password"},
		{"mallory", "alice's directory password"},
		{"*)(uid=*", "alice's directory password"},
		{"*", "alice's directory password"},
		{"alice)(|(uid=*", "alice's directory password"},
		{f.user.Username, f.user.Password}, // a local user's TMS password
	} {
		res, err := signIn(c.username, c.password)
		wantFlow(t, err, FlowBadCredentials)
		if !strings.Contains(err.Error(), "not right") || res.Origin != store.LDAPOrigin("campus") {
			t.Errorf("%q: %+v %v", c.username, res, err)
		}
	}
	_, err := signIn("alice", "")
	wantFlow(t, err, FlowBadInput)
	for _, name := range []string{"alice", "mallory", "*)(uid=*", "*"} {
		if _, err := f.st.GetUser(ctx, TestTenant, name); err == nil {
			t.Errorf("a refused sign-in created %q", name)
		}
	}

	// The development user is a local user of TMS; the directory has an entry of that
	// name, whose password does not open the local account.
	_, err = signIn(f.user.Username, "another directory password")
	wantFlow(t, err, FlowBadCredentials)
	if !strings.Contains(err.Error(), "does not sign in with the directory") {
		t.Fatalf("local user: %v", err)
	}
	// A directory name that cannot be a TMS username.
	_, err = signIn("bad name!", "bad name's password")
	wantFlow(t, err, FlowBadCredentials)
	if !strings.Contains(err.Error(), "cannot be used as a TMS username") {
		t.Fatalf("bad name: %v", err)
	}
	// A disabled directory user is refused after the directory said yes.
	// (The failures above denied the first login: a new one.)
	g = f.start(t)
	if _, err := signIn("bob", "bob's directory password"); err != nil {
		t.Fatal(err)
	}
	disabled := false
	if _, err := f.svc.UpdateUser(ctx, f.admin, UserChange{Username: "bob", Enabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	g = f.start(t)
	_, err = signIn("bob", "bob's directory password")
	wantFlow(t, err, FlowBadCredentials)
	if !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("disabled user: %v", err)
	}
}

// TestDirectoryUnavailable: with the directory down, a sign-in says so and
// leaves the request pending for when it is back.
func TestDirectoryUnavailable(t *testing.T) {
	f, s := newDirectoryFixture(t)
	ctx := context.Background()
	g := f.start(t)
	s.Stop(t)
	res, err := f.svc.SignInForDevice(ctx, SignIn{UserCode: g.UserCode, Username: "alice", Password: "alice's directory password", SessionHash: "s1"})
	wantFlow(t, err, FlowDirectoryUnavailable)
	if !strings.Contains(err.Error(), "cannot be reached") || !strings.Contains(err.Error(), "connect") || res.View.Tenant != TestTenant {
		t.Fatalf("directory down: %+v %v", res, err)
	}
	if view, err := f.svc.LookupUserCode(ctx, g.UserCode); err != nil || view.State != store.DevicePending {
		t.Fatalf("the request after the failure: %+v %v", view, err)
	}
	s.Restart(t)
	res, err = f.svc.SignInForDevice(ctx, SignIn{UserCode: g.UserCode, Username: "alice", Password: "alice's directory password", SessionHash: "s1"})
	if err != nil || res.Enroll == nil {
		t.Fatalf("sign-in once the directory is back: %+v %v", res, err)
	}
}
