package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/secret"
	"github.com/tmsproject/tms/internal/store"
)

// oauthTests are the conformance tests of users, public OAuth clients,
// device authorizations and tokens.
func oauthTests() []struct {
	name string
	fn   func(t *testing.T, s store.Store)
} {
	return []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Users", testUsers},
		{"UserOrigin", testUserOrigin},
		{"UserTOTP", testUserTOTP},
		{"RefreshUserMFA", testRefreshUserMFA},
		{"UserKeysAndDelegations", testUserKeysAndDelegations},
		{"OAuthClients", testOAuthClients},
		{"DeleteTenantStandardRecords", testDeleteTenantStandardRecords},
		{"WipeTenantOAuth", testWipeTenantOAuth},
		{"DeviceAuthorization", testDeviceAuthorization},
		{"DeviceDecision", testDeviceDecision},
		{"DeviceExpiry", testDeviceExpiry},
		{"DeviceQuota", testDeviceQuota},
		{"DeviceSignInBudget", testDeviceSignInBudget},
		{"DevicePolls", testDevicePolls},
		{"DeviceRedeemOnce", testDeviceRedeemOnce},
		{"TokenState", testTokenState},
		{"RefreshRotation", testRefreshRotation},
		{"ConcurrentRotation", testConcurrentRotation},
		{"TokenRevocation", testTokenRevocation},
		{"DeleteExpiredOAuth", testDeleteExpiredOAuth},
		{"DeleteUserCascades", testDeleteUserCascades},
	}
}

// cliClient is the public client every test tenant of these tests has.
func cliClient(tenant string, builtin bool) store.OAuthClient {
	return store.OAuthClient{Tenant: tenant, ClientID: "cli", AppName: "command line", AppVersion: "*", Builtin: builtin,
		Created: t0, Updated: t0}
}

func newUser(tenant, name string) store.User {
	return store.User{Tenant: tenant, Username: name, PasswordHash: "hash-" + name, Enabled: true, Created: t0, Updated: t0}
}

// oauthWorld creates tenant "t1" with the builtin public client "cli", user
// "alice" (with an MFA record valid for a day and a host mapping to
// acct1@host1), and a pending device authorization with user code
// "BCDFGHJK" for "cli", expiring an hour after t0.
func oauthWorld(t *testing.T, s store.Store) {
	t.Helper()
	c := ctx(t)
	seed := tenantSeed("t1")
	seed.OAuthClients = []store.OAuthClient{cliClient("t1", true)}
	must(t, s.CreateTenant(c, seed))
	must(t, s.CreateUser(c, newUser("t1", "alice")))
	must(t, s.CreateUserMFA(c, store.UserMFA{Tenant: "t1", TMSUserID: "alice", ExpiresAt: future, Enabled: true, Created: t0, Updated: t0}))
	must(t, s.CreateUserHost(c, store.UserHost{Tenant: "t1", TMSUserID: "alice", Host: "host1", HostAccount: "acct1",
		ExpiresAt: future, Created: t0, Updated: t0}))
	must(t, s.CreateDeviceAuthorization(c, pendingDevice("dc-1", "BCDFGHJK"), store.DeviceQuota{}))
}

func pendingDevice(codeHash, userCode string) store.DeviceAuthorization {
	return store.DeviceAuthorization{DeviceCodeHash: codeHash, UserCode: userCode, Tenant: "t1", ClientID: "cli", Scope: "keys",
		State: store.DevicePending, IntervalSeconds: 5, ExpiresAt: t0.Add(time.Hour), Created: t0, Updated: t0}
}

// approve signs alice in for the user code with session "sess" and
// approves it for 7 days.
func approve(t *testing.T, s store.Store, userCode string, at time.Time) store.DeviceAuthorization {
	t.Helper()
	c := ctx(t)
	n, err := s.BindDeviceAuthorization(c, store.DeviceBinding{UserCode: userCode, Username: "alice", SessionHash: "sess",
		SignedInAt: at, Now: at})
	wantCount(t, "bind", n, err, 1)
	d, err := s.DecideDeviceAuthorization(c, store.DeviceDecision{UserCode: userCode, Username: "alice", SessionHash: "sess",
		Approve: true, Days: 7, DelegationExpiresAt: at.Add(7 * 24 * time.Hour), Now: at})
	must(t, err)
	return d
}

func tokens(prefix string) store.NewTokens {
	return store.NewTokens{AccessHash: prefix + "-access", AccessExpiresAt: t0.Add(time.Hour),
		RefreshHash: prefix + "-refresh", RefreshExpiresAt: t0.Add(30 * 24 * time.Hour), Family: prefix}
}

func testUsers(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("t1")))
	u := newUser("t1", "bob")
	u.TOTPSecret, u.TOTPConfirmed = "SECRETB", true
	must(t, s.CreateUser(c, u))
	must(t, s.CreateUser(c, newUser("t1", "alice")))
	wantErr(t, s.CreateUser(c, newUser("t1", "bob")), store.ErrConflict)
	wantErr(t, s.CreateUser(c, newUser("nope", "bob")), store.ErrMissingParent)

	got, err := s.GetUser(c, "t1", "bob")
	must(t, err)
	if got.ID == 0 || got.PasswordHash != "hash-bob" || got.TOTPSecret != "SECRETB" || !got.TOTPConfirmed || !got.Enabled ||
		!got.Created.Equal(t0) || got.TOTPLastStep != 0 {
		t.Fatalf("GetUser: %+v", got)
	}
	_, err = s.GetUser(c, "t1", "carol")
	wantErr(t, err, store.ErrNotFound)

	list, err := s.ListUsers(c, "t1")
	must(t, err)
	if len(list) != 2 || list[0].Username != "alice" || list[1].Username != "bob" {
		t.Fatalf("ListUsers: %+v", list)
	}

	n, err := s.UpdateUser(c, "t1", "bob", store.UserUpdate{Enabled: ptr(false), PasswordHash: ptr("new-hash")}, future)
	wantCount(t, "update user", n, err, 1)
	got, err = s.GetUser(c, "t1", "bob")
	must(t, err)
	if got.Enabled || got.PasswordHash != "new-hash" || got.TOTPSecret != "SECRETB" || !got.Updated.Equal(future) {
		t.Fatalf("after update: %+v", got)
	}
	n, err = s.UpdateUser(c, "t1", "carol", store.UserUpdate{Enabled: ptr(true)}, future)
	wantCount(t, "update missing user", n, err, 0)
	n, err = s.UpdateUser(c, "t1", "bob", store.UserUpdate{}, future)
	wantCount(t, "empty update", n, err, 0)

	n, err = s.DeleteUser(c, "t1", "bob")
	wantCount(t, "delete user", n, err, 1)
	n, err = s.DeleteUser(c, "t1", "bob")
	wantCount(t, "delete user again", n, err, 0)
}

// testUserOrigin checks that a user remembers where it signs in, and that
// a user created without an origin is local.
func testUserOrigin(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("t1")))
	must(t, s.CreateUser(c, newUser("t1", "alice")))
	up := newUser("t1", "bob")
	up.Origin, up.PasswordHash = store.UpstreamOrigin("campus"), ""
	must(t, s.CreateUser(c, up))
	dir := newUser("t1", "carol")
	dir.Origin, dir.PasswordHash = store.LDAPOrigin("dir-1"), ""
	must(t, s.CreateUser(c, dir))
	bad := newUser("t1", "dave")
	bad.Origin = "somewhere"
	if err := s.CreateUser(c, bad); err == nil {
		t.Fatal("CreateUser with origin \"somewhere\": no error")
	}

	want := map[string]store.Origin{"alice": store.OriginLocal, "bob": "upstream:campus", "carol": "ldap:dir-1"}
	for name, origin := range want {
		got, err := s.GetUser(c, "t1", name)
		must(t, err)
		if got.Origin != origin || got.Origin.IsLocal() != (name == "alice") {
			t.Errorf("GetUser(%s).Origin = %q, want %q", name, got.Origin, origin)
		}
	}
	list, err := s.ListUsers(c, "t1")
	must(t, err)
	if len(list) != 3 {
		t.Fatalf("ListUsers: %+v", list)
	}
	for _, u := range list {
		if u.Origin != want[u.Username] {
			t.Errorf("ListUsers: %s has origin %q, want %q", u.Username, u.Origin, want[u.Username])
		}
	}
}

func testUserTOTP(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("t1")))
	must(t, s.CreateUser(c, newUser("t1", "alice")))

	// Enrolment sets a secret only once; a second start sees the first.
	u, err := s.StartTOTPEnrollment(c, "t1", "alice", "FIRST", t0)
	must(t, err)
	if u.TOTPSecret != "FIRST" || u.TOTPConfirmed {
		t.Fatalf("first enrolment: %+v", u)
	}
	u, err = s.StartTOTPEnrollment(c, "t1", "alice", "SECOND", t0)
	must(t, err)
	if u.TOTPSecret != "FIRST" {
		t.Fatalf("second enrolment replaced the secret: %+v", u)
	}
	_, err = s.StartTOTPEnrollment(c, "t1", "nobody", "X", t0)
	wantErr(t, err, store.ErrNotFound)

	// A step is accepted once, only for the current secret, and only forward.
	ok, err := s.UseTOTPStep(c, "t1", "alice", "WRONG", 100, t0)
	must(t, err)
	if ok {
		t.Fatal("a step was accepted for another secret")
	}
	ok, err = s.UseTOTPStep(c, "t1", "alice", "FIRST", 100, t0)
	must(t, err)
	if !ok {
		t.Fatal("first use of step 100 refused")
	}
	u, err = s.GetUser(c, "t1", "alice")
	must(t, err)
	if !u.TOTPConfirmed || u.TOTPLastStep != 100 {
		t.Fatalf("after first use: %+v", u)
	}
	for _, step := range []int64{100, 99} {
		ok, err = s.UseTOTPStep(c, "t1", "alice", "FIRST", step, t0)
		must(t, err)
		if ok {
			t.Fatalf("step %d accepted after step 100", step)
		}
	}

	// Replacing the secret forgets the last step.
	n, err := s.UpdateUser(c, "t1", "alice", store.UserUpdate{TOTP: &store.TOTPSetting{Secret: "THIRD", Confirmed: true}}, future)
	wantCount(t, "replace secret", n, err, 1)
	u, err = s.GetUser(c, "t1", "alice")
	must(t, err)
	if u.TOTPSecret != "THIRD" || !u.TOTPConfirmed || u.TOTPLastStep != 0 {
		t.Fatalf("after replacing the secret: %+v", u)
	}
	ok, err = s.UseTOTPStep(c, "t1", "alice", "THIRD", 100, t0)
	must(t, err)
	if !ok {
		t.Fatal("step 100 refused for a new secret")
	}

	// Concurrent uses of one step: exactly one wins.
	const n2 = 20
	var wg sync.WaitGroup
	wins := make(chan bool, n2)
	for range n2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.UseTOTPStep(c, "t1", "alice", "THIRD", 200, t0)
			if err != nil {
				t.Errorf("UseTOTPStep: %v", err)
			}
			wins <- ok
		}()
	}
	wg.Wait()
	close(wins)
	count := 0
	for ok := range wins {
		if ok {
			count++
		}
	}
	if count != 1 {
		t.Fatalf("%d concurrent uses of one step accepted, want 1", count)
	}
}

func testRefreshUserMFA(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("t1")))
	// Created when missing.
	m, err := s.RefreshUserMFA(c, "t1", "alice", future, t0)
	must(t, err)
	if m.ID == 0 || !m.Enabled || !m.ExpiresAt.Equal(future) || m.TMSUserID != "alice" {
		t.Fatalf("created MFA record: %+v", m)
	}
	// Extended.
	later := future.Add(time.Hour)
	m, err = s.RefreshUserMFA(c, "t1", "alice", later, past.Add(2*time.Hour))
	must(t, err)
	if !m.ExpiresAt.Equal(later) {
		t.Fatalf("extended MFA record: %+v", m)
	}
	// Never shortened, and a disabled record stays disabled.
	n, err := s.SetUserMFAEnabled(c, "t1", "alice", false, t0)
	wantCount(t, "disable", n, err, 1)
	m, err = s.RefreshUserMFA(c, "t1", "alice", future, t0)
	must(t, err)
	if !m.ExpiresAt.Equal(later) || m.Enabled {
		t.Fatalf("refresh shortened or enabled the record: %+v", m)
	}
	got, err := s.GetUserMFA(c, "t1", "alice")
	must(t, err)
	if !got.ExpiresAt.Equal(later) {
		t.Fatalf("stored record: %+v", got)
	}
	_, err = s.RefreshUserMFA(c, "nope", "alice", future, t0)
	wantErr(t, err, store.ErrMissingParent)

	// Concurrent refreshes of a missing record create it once.
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if m, err := s.RefreshUserMFA(c, "t1", "bob", future, t0); err != nil || m.ID == 0 {
				t.Errorf("concurrent refresh: %+v %v", m, err)
			}
		}()
	}
	wg.Wait()
	list, err := s.ListUserMFA(c, "t1")
	must(t, err)
	if len(list) != 2 {
		t.Fatalf("MFA records after concurrent refreshes: %+v", list)
	}
}

func testUserKeysAndDelegations(t *testing.T, s store.Store) {
	c := ctx(t)
	world(t, s)
	must(t, s.CreateClient(c, client("t1", "c2")))
	must(t, s.CreateDelegation(c, store.Delegation{Tenant: "t1", ClientID: "c2", ClientUserID: "u1", ExpiresAt: future, Created: t0, Updated: t0}))
	must(t, s.CreateUserMFA(c, store.UserMFA{Tenant: "t1", TMSUserID: "u2", ExpiresAt: future, Enabled: true, Created: t0, Updated: t0}))
	must(t, s.CreateUserHost(c, store.UserHost{Tenant: "t1", TMSUserID: "u2", Host: "host1", HostAccount: "acct2", ExpiresAt: future, Created: t0, Updated: t0}))
	must(t, s.CreateDelegation(c, store.Delegation{Tenant: "t1", ClientID: "c1", ClientUserID: "u2", ExpiresAt: future, Created: t0, Updated: t0}))
	_, err := s.CreatePubkey(c, newKey("SHA256:u1a", 1), false, nil)
	must(t, err)
	k2 := newKey("SHA256:u1b", 1)
	k2.ClientID = "c2"
	_, err = s.CreatePubkey(c, k2, false, nil)
	must(t, err)
	k3 := newKey("SHA256:u2a", 1)
	k3.ClientUserID, k3.HostAccount = "u2", "acct2"
	_, err = s.CreatePubkey(c, k3, false, nil)
	must(t, err)

	keys, err := s.ListPubkeysForUser(c, "t1", "u1")
	must(t, err)
	if len(keys) != 2 || keys[0].Fingerprint != "SHA256:u1a" || keys[1].Fingerprint != "SHA256:u1b" {
		t.Fatalf("ListPubkeysForUser: %+v", keys)
	}
	dels, err := s.ListDelegationsForUser(c, "t1", "u1")
	must(t, err)
	if len(dels) != 2 || dels[0].ClientID != "c1" || dels[1].ClientID != "c2" {
		t.Fatalf("ListDelegationsForUser: %+v", dels)
	}

	// A user deletes a key of their own that another client issued, but
	// not somebody else's.
	n, err := s.DeletePubkeyForUser(c, "t1", "u1", "host1", "SHA256:u2a")
	wantCount(t, "delete another user's key", n, err, 0)
	n, err = s.DeletePubkeyForUser(c, "t1", "u1", "host1", "SHA256:u1b")
	wantCount(t, "delete own key", n, err, 1)
	keys, err = s.ListPubkeysForUser(c, "t1", "u1")
	must(t, err)
	if len(keys) != 1 {
		t.Fatalf("keys after delete: %+v", keys)
	}
}

func testOAuthClients(t *testing.T, s store.Store) {
	c := ctx(t)
	seed := tenantSeed("t1")
	seed.OAuthClients = []store.OAuthClient{cliClient("t1", true)}
	must(t, s.CreateTenant(c, seed))
	other := cliClient("t1", false)
	other.ClientID, other.AppName = "gui", "desktop app"
	must(t, s.CreateOAuthClient(c, other))
	wantErr(t, s.CreateOAuthClient(c, other), store.ErrConflict)
	wantErr(t, s.CreateOAuthClient(c, cliClient("nope", false)), store.ErrMissingParent)
	// The client id of a confidential client is taken for public clients.
	must(t, s.CreateClient(c, client("t1", "conf")))
	taken := cliClient("t1", false)
	taken.ClientID, taken.AppName = "conf", "other"
	wantErr(t, s.CreateOAuthClient(c, taken), store.ErrConflict)

	got, err := s.GetOAuthClient(c, "t1", "cli")
	must(t, err)
	if got.ID == 0 || !got.Builtin || !got.Enabled || got.AppName != "command line" || got.AppVersion != "*" || !got.Created.Equal(t0) {
		t.Fatalf("GetOAuthClient: %+v", got)
	}
	_, err = s.GetOAuthClient(c, "t1", "conf")
	wantErr(t, err, store.ErrNotFound)

	list, err := s.ListOAuthClients(c, "t1")
	must(t, err)
	if len(list) != 2 || list[0].ClientID != "cli" || list[1].ClientID != "gui" || list[1].Builtin {
		t.Fatalf("ListOAuthClients: %+v", list)
	}

	// Each is a clients row whose secret can never match.
	row, err := s.GetClient(c, "t1", "cli")
	must(t, err)
	if row.SecretHash != store.PublicClientSecret || !row.Enabled {
		t.Fatalf("clients row of a public client: %+v", row)
	}
	cred, err := s.ClientCredential(c, "t1", "cli")
	must(t, err)
	for _, guess := range []string{"", store.PublicClientSecret, secret.New()} {
		if secret.Matches(guess, cred.SecretHash) {
			t.Fatalf("secret %q matches a public client", guess)
		}
	}

	// Disabling the clients row disables the public client; deleting it
	// deletes the public client.
	n, err := s.UpdateClient(c, "t1", "gui", store.ClientUpdate{Enabled: ptr(false)}, future)
	wantCount(t, "disable", n, err, 1)
	got, err = s.GetOAuthClient(c, "t1", "gui")
	must(t, err)
	if got.Enabled {
		t.Fatal("disabled clients row left the public client enabled")
	}
	n, err = s.DeleteClient(c, "t1", "gui")
	wantCount(t, "delete", n, err, 1)
	_, err = s.GetOAuthClient(c, "t1", "gui")
	wantErr(t, err, store.ErrNotFound)
}

func testDeleteTenantStandardRecords(t *testing.T, s store.Store) {
	c := ctx(t)
	seed := tenantSeed("t1")
	seed.OAuthClients = []store.OAuthClient{cliClient("t1", true)}
	must(t, s.CreateTenant(c, seed))
	must(t, s.CreateDeviceAuthorization(c, pendingDevice("dc-1", "BCDFGHJK"), store.DeviceQuota{}))

	// A registered public client is not a standard record.
	other := cliClient("t1", false)
	other.ClientID, other.AppName = "gui", "desktop app"
	must(t, s.CreateOAuthClient(c, other))
	_, err := s.DeleteTenant(c, "t1")
	wantErr(t, err, store.ErrInUse)
	if _, err := s.GetOAuthClient(c, "t1", "cli"); err != nil {
		t.Fatalf("a refused delete removed the builtin client: %v", err)
	}
	if _, err := s.GetDeviceAuthorization(c, "BCDFGHJK"); err != nil {
		t.Fatalf("a refused delete removed a device authorization: %v", err)
	}
	n, err := s.DeleteClient(c, "t1", "gui")
	wantCount(t, "delete registered client", n, err, 1)

	// Nor is a user.
	must(t, s.CreateUser(c, newUser("t1", "alice")))
	_, err = s.DeleteTenant(c, "t1")
	wantErr(t, err, store.ErrInUse)
	n, err = s.DeleteUser(c, "t1", "alice")
	wantCount(t, "delete user", n, err, 1)

	// admin, builtin client, tenant
	n, err = s.DeleteTenant(c, "t1")
	wantCount(t, "delete tenant", n, err, 3)
	if _, err := s.GetTenant(c, "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted tenant still there: %v", err)
	}
	if _, err := s.GetDeviceAuthorization(c, "BCDFGHJK"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("device authorization of a deleted tenant still there: %v", err)
	}
	// The tenant can be created again with its standard records.
	must(t, s.CreateTenant(c, seed))
}

func testWipeTenantOAuth(t *testing.T, s store.Store) {
	c := ctx(t)
	oauthWorld(t, s)
	seed := tenantSeed("other")
	seed.OAuthClients = []store.OAuthClient{cliClient("other", true)}
	must(t, s.CreateTenant(c, seed))
	must(t, s.CreateUser(c, newUser("other", "alice")))
	approve(t, s, "BCDFGHJK", t0)
	_, err := s.RedeemDeviceAuthorization(c, "dc-1", "cli", tokens("f1"), t0)
	must(t, err)

	// 2 tokens, device authorization, delegation, host mapping, MFA record,
	// user, OAuth client, clients row, admin, tenant
	n, err := s.WipeTenant(c, "t1")
	wantCount(t, "wipe", n, err, 11)
	if _, err := s.GetToken(c, "f1-access"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token of a wiped tenant: %v", err)
	}
	if _, err := s.GetUser(c, "t1", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user of a wiped tenant: %v", err)
	}
	if _, err := s.GetUser(c, "other", "alice"); err != nil {
		t.Fatalf("wipe touched another tenant's user: %v", err)
	}
	if _, err := s.GetOAuthClient(c, "other", "cli"); err != nil {
		t.Fatalf("wipe touched another tenant's client: %v", err)
	}
}

func testDeviceAuthorization(t *testing.T, s store.Store) {
	c := ctx(t)
	oauthWorld(t, s)
	wantErr(t, s.CreateDeviceAuthorization(c, pendingDevice("dc-2", "BCDFGHJK"), store.DeviceQuota{}), store.ErrConflict)
	wantErr(t, s.CreateDeviceAuthorization(c, pendingDevice("dc-1", "ZZZZZZZZ"), store.DeviceQuota{}), store.ErrConflict)
	bad := pendingDevice("dc-3", "XXXXXXXX")
	bad.ClientID = "nope"
	wantErr(t, s.CreateDeviceAuthorization(c, bad, store.DeviceQuota{}), store.ErrMissingParent)

	d, err := s.GetDeviceAuthorization(c, "BCDFGHJK")
	must(t, err)
	if d.ID == 0 || d.DeviceCodeHash != "dc-1" || d.Tenant != "t1" || d.ClientID != "cli" || d.Scope != "keys" ||
		d.State != store.DevicePending || d.Username != "" || !d.SignedInAt.IsZero() || !d.LastPollAt.IsZero() ||
		d.IntervalSeconds != 5 || !d.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("GetDeviceAuthorization: %+v", d)
	}
	_, err = s.GetDeviceAuthorization(c, "NOPENOPE")
	wantErr(t, err, store.ErrNotFound)

	// Binding before MFA, then rebinding the same session after it.
	n, err := s.BindDeviceAuthorization(c, store.DeviceBinding{UserCode: "BCDFGHJK", Username: "alice", SessionHash: "sess", Now: t0})
	wantCount(t, "bind", n, err, 1)
	d, err = s.GetDeviceAuthorization(c, "BCDFGHJK")
	must(t, err)
	if d.Username != "alice" || d.SessionHash != "sess" || !d.SignedInAt.IsZero() || d.State != store.DevicePending {
		t.Fatalf("after bind: %+v", d)
	}
	n, err = s.BindDeviceAuthorization(c, store.DeviceBinding{UserCode: "BCDFGHJK", Username: "alice", SessionHash: "sess",
		ExpectSessionHash: "other", SignedInAt: t0, Now: t0})
	wantCount(t, "bind expecting another session", n, err, 0)
	n, err = s.BindDeviceAuthorization(c, store.DeviceBinding{UserCode: "BCDFGHJK", Username: "alice", SessionHash: "sess",
		ExpectSessionHash: "sess", SignedInAt: t0, Now: t0})
	wantCount(t, "bind after MFA", n, err, 1)
	d, err = s.GetDeviceAuthorization(c, "BCDFGHJK")
	must(t, err)
	if !d.SignedInAt.Equal(t0) {
		t.Fatalf("signed-in time: %+v", d)
	}
	n, err = s.BindDeviceAuthorization(c, store.DeviceBinding{UserCode: "NOPENOPE", Username: "alice", SessionHash: "s", Now: t0})
	wantCount(t, "bind unknown code", n, err, 0)
}

func testDeviceDecision(t *testing.T, s store.Store) {
	c := ctx(t)
	oauthWorld(t, s)
	must(t, s.CreateDeviceAuthorization(c, pendingDevice("dc-2", "CDFGHJKL"), store.DeviceQuota{}))
	must(t, s.CreateDeviceAuthorization(c, pendingDevice("dc-3", "DFGHJKLM"), store.DeviceQuota{}))

	decision := store.DeviceDecision{UserCode: "BCDFGHJK", Username: "alice", SessionHash: "sess", Approve: true, Days: 7,
		DelegationExpiresAt: t0.Add(7 * 24 * time.Hour), Now: t0}
	// Not signed in yet, then signed in without MFA: refused.
	_, err := s.DecideDeviceAuthorization(c, decision)
	wantErr(t, err, store.ErrNotFound)
	n, err := s.BindDeviceAuthorization(c, store.DeviceBinding{UserCode: "BCDFGHJK", Username: "alice", SessionHash: "sess", Now: t0})
	wantCount(t, "bind", n, err, 1)
	_, err = s.DecideDeviceAuthorization(c, decision)
	wantErr(t, err, store.ErrNotFound)
	n, err = s.BindDeviceAuthorization(c, store.DeviceBinding{UserCode: "BCDFGHJK", Username: "alice", SessionHash: "sess", SignedInAt: t0, Now: t0})
	wantCount(t, "bind after MFA", n, err, 1)
	// Another session or user: refused.
	for _, d := range []store.DeviceDecision{
		{UserCode: "BCDFGHJK", Username: "alice", SessionHash: "other", Approve: true, Days: 1, DelegationExpiresAt: future, Now: t0},
		{UserCode: "BCDFGHJK", Username: "mallory", SessionHash: "sess", Approve: true, Days: 1, DelegationExpiresAt: future, Now: t0},
	} {
		_, err = s.DecideDeviceAuthorization(c, d)
		wantErr(t, err, store.ErrNotFound)
	}
	if _, err := s.FindDelegation(c, store.DelegationKey{Tenant: "t1", ClientID: "cli", ClientUserID: "alice"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused decision created a delegation: %v", err)
	}

	got, err := s.DecideDeviceAuthorization(c, decision)
	must(t, err)
	if got.State != store.DeviceApproved || got.Days != 7 || got.Username != "alice" || got.Tenant != "t1" || got.ClientID != "cli" {
		t.Fatalf("approved: %+v", got)
	}
	del, err := s.FindDelegation(c, store.DelegationKey{Tenant: "t1", ClientID: "cli", ClientUserID: "alice"})
	must(t, err)
	if !del.ExpiresAt.Equal(decision.DelegationExpiresAt) {
		t.Fatalf("delegation after approval: %+v", del)
	}
	// Decided once only.
	_, err = s.DecideDeviceAuthorization(c, decision)
	wantErr(t, err, store.ErrNotFound)

	// A later approval extends the delegation; a shorter one leaves it.
	approveOther := func(code string, until time.Time) {
		t.Helper()
		n, err := s.BindDeviceAuthorization(c, store.DeviceBinding{UserCode: code, Username: "alice", SessionHash: "sess", SignedInAt: t0, Now: t0})
		wantCount(t, "bind", n, err, 1)
		_, err = s.DecideDeviceAuthorization(c, store.DeviceDecision{UserCode: code, Username: "alice", SessionHash: "sess",
			Approve: true, Days: 1, DelegationExpiresAt: until, Now: t0})
		must(t, err)
	}
	longer := t0.Add(30 * 24 * time.Hour)
	approveOther("CDFGHJKL", longer)
	del, err = s.FindDelegation(c, store.DelegationKey{Tenant: "t1", ClientID: "cli", ClientUserID: "alice"})
	must(t, err)
	if !del.ExpiresAt.Equal(longer) {
		t.Fatalf("delegation not extended: %+v", del)
	}
	approveOther("DFGHJKLM", t0.Add(24*time.Hour))
	del, err = s.FindDelegation(c, store.DelegationKey{Tenant: "t1", ClientID: "cli", ClientUserID: "alice"})
	must(t, err)
	if !del.ExpiresAt.Equal(longer) {
		t.Fatalf("a shorter approval shortened the delegation: %+v", del)
	}

	// A denial changes no delegation.
	must(t, s.CreateDeviceAuthorization(c, pendingDevice("dc-4", "FGHJKLMN"), store.DeviceQuota{}))
	n, err = s.BindDeviceAuthorization(c, store.DeviceBinding{UserCode: "FGHJKLMN", Username: "alice", SessionHash: "sess", SignedInAt: t0, Now: t0})
	wantCount(t, "bind", n, err, 1)
	got, err = s.DecideDeviceAuthorization(c, store.DeviceDecision{UserCode: "FGHJKLMN", Username: "alice", SessionHash: "sess",
		Approve: false, Days: 99, DelegationExpiresAt: store.Never, Now: t0})
	must(t, err)
	if got.State != store.DeviceDenied || got.Days != 0 {
		t.Fatalf("denied: %+v", got)
	}
	del, err = s.FindDelegation(c, store.DelegationKey{Tenant: "t1", ClientID: "cli", ClientUserID: "alice"})
	must(t, err)
	if !del.ExpiresAt.Equal(longer) {
		t.Fatalf("a denial changed the delegation: %+v", del)
	}

	// Approval without an MFA record fails and changes nothing.
	must(t, s.CreateUser(c, newUser("t1", "bob")))
	must(t, s.CreateDeviceAuthorization(c, pendingDevice("dc-5", "GHJKLMNP"), store.DeviceQuota{}))
	n, err = s.BindDeviceAuthorization(c, store.DeviceBinding{UserCode: "GHJKLMNP", Username: "bob", SessionHash: "sb", SignedInAt: t0, Now: t0})
	wantCount(t, "bind", n, err, 1)
	_, err = s.DecideDeviceAuthorization(c, store.DeviceDecision{UserCode: "GHJKLMNP", Username: "bob", SessionHash: "sb",
		Approve: true, Days: 1, DelegationExpiresAt: future, Now: t0})
	wantErr(t, err, store.ErrMissingParent)
	d, err := s.GetDeviceAuthorization(c, "GHJKLMNP")
	must(t, err)
	if d.State != store.DevicePending {
		t.Fatalf("a failed approval changed the state: %+v", d)
	}
}

func testDeviceExpiry(t *testing.T, s store.Store) {
	c := ctx(t)
	oauthWorld(t, s)
	expired := t0.Add(time.Hour)
	n, err := s.BindDeviceAuthorization(c, store.DeviceBinding{UserCode: "BCDFGHJK", Username: "alice", SessionHash: "sess", SignedInAt: expired, Now: expired})
	wantCount(t, "bind at expiry", n, err, 0)
	n, err = s.BindDeviceAuthorization(c, store.DeviceBinding{UserCode: "BCDFGHJK", Username: "alice", SessionHash: "sess", SignedInAt: t0, Now: t0})
	wantCount(t, "bind", n, err, 1)
	_, err = s.DecideDeviceAuthorization(c, store.DeviceDecision{UserCode: "BCDFGHJK", Username: "alice", SessionHash: "sess",
		Approve: true, Days: 1, DelegationExpiresAt: future, Now: expired})
	wantErr(t, err, store.ErrNotFound)
	if _, err := s.FindDelegation(c, store.DelegationKey{Tenant: "t1", ClientID: "cli", ClientUserID: "alice"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("approval after expiry created a delegation: %v", err)
	}
	d, err := s.GetDeviceAuthorization(c, "BCDFGHJK")
	must(t, err)
	if d.State != store.DevicePending {
		t.Fatalf("approval after expiry changed the state: %+v", d)
	}

	// Approved in time, redeemed too late.
	approve(t, s, "BCDFGHJK", t0)
	_, err = s.RedeemDeviceAuthorization(c, "dc-1", "cli", tokens("late"), expired)
	wantErr(t, err, store.ErrNotFound)
	if _, err := s.GetToken(c, "late-access"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("redemption after expiry stored a token: %v", err)
	}
}

func testDevicePolls(t *testing.T, s store.Store) {
	c := ctx(t)
	oauthWorld(t, s)
	at := func(when time.Time) func(store.DeviceAuthorization) (time.Time, bool) {
		return func(store.DeviceAuthorization) (time.Time, bool) { return when, true }
	}
	before, err := s.TouchDeviceAuthorization(c, "dc-1", "cli", store.PollHeader, at(t0))
	must(t, err)
	if !before.LastPollAt.IsZero() || before.LastPollStyle != store.PollNone || before.State != store.DevicePending {
		t.Fatalf("first poll saw %+v", before)
	}
	second := t0.Add(10 * time.Millisecond)
	var seen store.DeviceAuthorization
	before, err = s.TouchDeviceAuthorization(c, "dc-1", "cli", store.PollBody, func(b store.DeviceAuthorization) (time.Time, bool) {
		seen = b
		return second, true
	})
	must(t, err)
	if !before.LastPollAt.Equal(t0) || before.LastPollStyle != store.PollHeader || seen.ID != before.ID || !seen.LastPollAt.Equal(t0) {
		t.Fatalf("second poll saw %+v, its decision %+v", before, seen)
	}
	d, err := s.GetDeviceAuthorization(c, "BCDFGHJK")
	must(t, err)
	if !d.LastPollAt.Equal(second) || d.LastPollStyle != store.PollBody {
		t.Fatalf("stored poll: %+v", d)
	}
	// A poll the decision does not record leaves the last poll alone.
	_, err = s.TouchDeviceAuthorization(c, "dc-1", "cli", store.PollHeader,
		func(store.DeviceAuthorization) (time.Time, bool) { return second.Add(time.Second), false })
	must(t, err)
	d, err = s.GetDeviceAuthorization(c, "BCDFGHJK")
	must(t, err)
	if !d.LastPollAt.Equal(second) || d.LastPollStyle != store.PollBody {
		t.Fatalf("an unrecorded poll changed the stored poll: %+v", d)
	}
	_, err = s.TouchDeviceAuthorization(c, "dc-1", "other-client", store.PollBody, at(second))
	wantErr(t, err, store.ErrNotFound)
	_, err = s.TouchDeviceAuthorization(c, "dc-unknown", "cli", store.PollBody, at(second))
	wantErr(t, err, store.ErrNotFound)

	// Concurrent polls each see another poll's time, never the same one.
	const n = 20
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		times = map[time.Time]int{}
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := s.TouchDeviceAuthorization(c, "dc-1", "cli", store.PollBody, at(t0.Add(time.Duration(i+2)*time.Second)))
			if err != nil {
				t.Errorf("concurrent poll: %v", err)
				return
			}
			mu.Lock()
			times[b.LastPollAt]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	for at, count := range times {
		if count > 1 {
			t.Fatalf("%d concurrent polls saw the same previous poll at %v", count, at)
		}
	}
}

func testDeviceRedeemOnce(t *testing.T, s store.Store) {
	c := ctx(t)
	oauthWorld(t, s)
	// Pending: nothing to redeem.
	_, err := s.RedeemDeviceAuthorization(c, "dc-1", "cli", tokens("early"), t0)
	wantErr(t, err, store.ErrNotFound)
	approve(t, s, "BCDFGHJK", t0)
	// Another client cannot redeem it.
	_, err = s.RedeemDeviceAuthorization(c, "dc-1", "other", tokens("other"), t0)
	wantErr(t, err, store.ErrNotFound)

	const n = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []string
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			family := fmt.Sprintf("poll%d", i)
			d, err := s.RedeemDeviceAuthorization(c, "dc-1", "cli", tokens(family), t0)
			switch {
			case err == nil:
				if d.State != store.DeviceRedeemed || d.Username != "alice" {
					t.Errorf("redeemed: %+v", d)
				}
				mu.Lock()
				winners = append(winners, family)
				mu.Unlock()
			case errors.Is(err, store.ErrNotFound):
			default:
				t.Errorf("concurrent redemption: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d concurrent redemptions succeeded, want exactly 1: %v", len(winners), winners)
	}
	for i := range n {
		family := fmt.Sprintf("poll%d", i)
		_, err := s.GetToken(c, family+"-access")
		if family == winners[0] {
			must(t, err)
		} else if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("losing redemption %s stored a token: %v", family, err)
		}
	}
	// Replay after redemption.
	_, err = s.RedeemDeviceAuthorization(c, "dc-1", "cli", tokens("replay"), t0)
	wantErr(t, err, store.ErrNotFound)
}

func testTokenState(t *testing.T, s store.Store) {
	c := ctx(t)
	oauthWorld(t, s)
	approve(t, s, "BCDFGHJK", t0)
	_, err := s.RedeemDeviceAuthorization(c, "dc-1", "cli", tokens("f1"), t0)
	must(t, err)

	ts, err := s.GetToken(c, "f1-access")
	must(t, err)
	tok := ts.Token
	if tok.ID == 0 || tok.Kind != store.AccessToken || tok.Family != "f1" || tok.Tenant != "t1" || tok.ClientID != "cli" ||
		tok.Username != "alice" || !tok.ExpiresAt.Equal(t0.Add(time.Hour)) || !tok.RevokedAt.IsZero() || !tok.RotatedAt.IsZero() ||
		!tok.Created.Equal(t0) {
		t.Fatalf("access token: %+v", tok)
	}
	if !ts.TenantEnabled || !ts.ClientEnabled || !ts.UserEnabled || ts.Delegation.ID == 0 ||
		!ts.Delegation.ExpiresAt.Equal(t0.Add(7*24*time.Hour)) {
		t.Fatalf("token state: %+v", ts)
	}
	ts, err = s.GetToken(c, "f1-refresh")
	must(t, err)
	if ts.Token.Kind != store.RefreshToken || !ts.Token.ExpiresAt.Equal(t0.Add(30*24*time.Hour)) {
		t.Fatalf("refresh token: %+v", ts.Token)
	}
	_, err = s.GetToken(c, "nope")
	wantErr(t, err, store.ErrNotFound)

	// The state follows the tenant, client, user and delegation.
	_, err = s.SetTenantEnabled(c, "t1", false, t0)
	must(t, err)
	_, err = s.UpdateClient(c, "t1", "cli", store.ClientUpdate{Enabled: ptr(false)}, t0)
	must(t, err)
	_, err = s.UpdateUser(c, "t1", "alice", store.UserUpdate{Enabled: ptr(false)}, t0)
	must(t, err)
	n, err := s.DeleteDelegation(c, store.DelegationKey{Tenant: "t1", ClientID: "cli", ClientUserID: "alice"})
	wantCount(t, "delete delegation", n, err, 1)
	ts, err = s.GetToken(c, "f1-access")
	must(t, err)
	if ts.TenantEnabled || ts.ClientEnabled || ts.UserEnabled || ts.Delegation.ID != 0 {
		t.Fatalf("token state after disabling everything: %+v", ts)
	}
}

func testRefreshRotation(t *testing.T, s store.Store) {
	c := ctx(t)
	oauthWorld(t, s)
	approve(t, s, "BCDFGHJK", t0)
	_, err := s.RedeemDeviceAuthorization(c, "dc-1", "cli", tokens("f1"), t0)
	must(t, err)

	at := t0.Add(time.Minute)
	next := tokens("r2")
	outcome, old, err := s.RotateRefreshToken(c, "f1-refresh", "cli", next, at)
	must(t, err)
	if outcome != store.Rotated || old.Hash != "f1-refresh" || !old.RotatedAt.IsZero() {
		t.Fatalf("rotation: %v %+v", outcome, old)
	}
	ts, err := s.GetToken(c, "r2-refresh")
	must(t, err)
	if ts.Token.Family != "f1" || ts.Token.Username != "alice" || ts.Token.Tenant != "t1" || !ts.Token.Created.Equal(at) {
		t.Fatalf("rotated refresh token: %+v", ts.Token)
	}
	ts, err = s.GetToken(c, "f1-refresh")
	must(t, err)
	if !ts.Token.RotatedAt.Equal(at) {
		t.Fatalf("spent refresh token: %+v", ts.Token)
	}

	// Wrong kind, wrong client, unknown: not found, and nothing changes.
	for _, tc := range []struct{ hash, client string }{{"r2-access", "cli"}, {"r2-refresh", "other"}, {"nope", "cli"}} {
		outcome, _, err := s.RotateRefreshToken(c, tc.hash, tc.client, tokens("x"), at)
		must(t, err)
		if outcome != store.RotationNotFound {
			t.Fatalf("rotate %s for %s: outcome %v", tc.hash, tc.client, outcome)
		}
	}
	if _, err := s.GetToken(c, "x-access"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused rotation stored a token: %v", err)
	}

	// Expired.
	outcome, _, err = s.RotateRefreshToken(c, "r2-refresh", "cli", tokens("x"), t0.Add(31*24*time.Hour))
	must(t, err)
	if outcome != store.RotationExpired {
		t.Fatalf("rotation of an expired token: %v", outcome)
	}

	// Reuse of the spent token revokes the whole family, committed.
	outcome, _, err = s.RotateRefreshToken(c, "f1-refresh", "cli", tokens("x"), at)
	must(t, err)
	if outcome != store.RotationReused {
		t.Fatalf("reuse: outcome %v", outcome)
	}
	for _, h := range []string{"f1-access", "f1-refresh", "r2-access", "r2-refresh"} {
		ts, err := s.GetToken(c, h)
		must(t, err)
		if ts.Token.RevokedAt.IsZero() {
			t.Fatalf("token %s of a reused family not revoked", h)
		}
	}
	outcome, _, err = s.RotateRefreshToken(c, "r2-refresh", "cli", tokens("x"), at)
	must(t, err)
	if outcome != store.RotationRevoked {
		t.Fatalf("rotation of a revoked token: %v", outcome)
	}
	if _, err := s.GetToken(c, "x-access"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused rotation stored a token: %v", err)
	}
}

func testConcurrentRotation(t *testing.T, s store.Store) {
	c := ctx(t)
	oauthWorld(t, s)
	approve(t, s, "BCDFGHJK", t0)
	_, err := s.RedeemDeviceAuthorization(c, "dc-1", "cli", tokens("f1"), t0)
	must(t, err)
	const n = 10
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		outcomes = map[store.Rotation]int{}
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcome, _, err := s.RotateRefreshToken(c, "f1-refresh", "cli", tokens(fmt.Sprintf("c%d", i)), t0.Add(time.Minute))
			if err != nil {
				t.Errorf("concurrent rotation: %v", err)
				return
			}
			mu.Lock()
			outcomes[outcome]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if outcomes[store.Rotated] != 1 || outcomes[store.Rotated]+outcomes[store.RotationReused]+outcomes[store.RotationRevoked] != n {
		t.Fatalf("outcomes of %d concurrent rotations: %v; want exactly one rotation", n, outcomes)
	}
}

func testTokenRevocation(t *testing.T, s store.Store) {
	c := ctx(t)
	oauthWorld(t, s)
	must(t, s.CreateDeviceAuthorization(c, pendingDevice("dc-2", "CDFGHJKL"), store.DeviceQuota{}))
	approve(t, s, "BCDFGHJK", t0)
	approve(t, s, "CDFGHJKL", t0)
	_, err := s.RedeemDeviceAuthorization(c, "dc-1", "cli", tokens("f1"), t0)
	must(t, err)
	_, err = s.RedeemDeviceAuthorization(c, "dc-2", "cli", tokens("f2"), t0)
	must(t, err)

	n, err := s.RevokeTokenFamily(c, "f1-access", "other", t0)
	wantCount(t, "revoke for another client", n, err, 0)
	n, err = s.RevokeTokenFamily(c, "nope", "cli", t0)
	wantCount(t, "revoke unknown token", n, err, 0)
	n, err = s.RevokeTokenFamily(c, "f1-access", "cli", t0)
	wantCount(t, "revoke family", n, err, 2)
	n, err = s.RevokeTokenFamily(c, "f1-refresh", "cli", t0)
	wantCount(t, "revoke family again", n, err, 0)
	ts, err := s.GetToken(c, "f2-access")
	must(t, err)
	if !ts.Token.RevokedAt.IsZero() {
		t.Fatal("revoking one family revoked another")
	}
	n, err = s.RevokeUserTokens(c, "t1", "cli", "alice", t0)
	wantCount(t, "revoke user tokens", n, err, 2)
}

func testDeleteExpiredOAuth(t *testing.T, s store.Store) {
	c := ctx(t)
	oauthWorld(t, s)
	live := pendingDevice("dc-2", "CDFGHJKL")
	live.ExpiresAt = t0.Add(3 * time.Hour)
	must(t, s.CreateDeviceAuthorization(c, live, store.DeviceQuota{}))
	approve(t, s, "BCDFGHJK", t0)
	_, err := s.RedeemDeviceAuthorization(c, "dc-1", "cli", tokens("f1"), t0)
	must(t, err)
	// The device authorization (1 h) and the access token (1 h) expired
	// before the cutoff; the other authorization and the refresh token
	// did not.
	n, err := s.DeleteExpiredOAuth(c, t0.Add(2*time.Hour))
	wantCount(t, "delete expired", n, err, 2)
	if _, err := s.GetDeviceAuthorization(c, "CDFGHJKL"); err != nil {
		t.Fatalf("live device authorization deleted: %v", err)
	}
	if _, err := s.GetToken(c, "f1-refresh"); err != nil {
		t.Fatalf("live refresh token deleted: %v", err)
	}
	if _, err := s.GetToken(c, "f1-access"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired access token kept: %v", err)
	}
}

func testDeleteUserCascades(t *testing.T, s store.Store) {
	c := ctx(t)
	oauthWorld(t, s)
	approve(t, s, "BCDFGHJK", t0)
	_, err := s.RedeemDeviceAuthorization(c, "dc-1", "cli", tokens("f1"), t0)
	must(t, err)
	n, err := s.DeleteUser(c, "t1", "alice")
	wantCount(t, "delete user", n, err, 1)
	if _, err := s.GetToken(c, "f1-access"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token of a deleted user: %v", err)
	}
	if _, err := s.GetDeviceAuthorization(c, "BCDFGHJK"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("device authorization of a deleted user: %v", err)
	}
	// The MFA record and delegation of the user id stay.
	if _, err := s.GetUserMFA(c, "t1", "alice"); err != nil {
		t.Fatalf("MFA record of a deleted user: %v", err)
	}
	if _, err := s.FindDelegation(c, store.DelegationKey{Tenant: "t1", ClientID: "cli", ClientUserID: "alice"}); err != nil {
		t.Fatalf("delegation of a deleted user: %v", err)
	}
}
