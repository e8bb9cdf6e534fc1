// Package storetest is the conformance suite every store.Store
// implementation must pass. A backend's test calls Run with a function that
// returns a new, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

// NewStore returns a new, empty store for one subtest. It should register
// cleanup with t.Cleanup.
type NewStore func(t *testing.T) store.Store

// Run runs the whole conformance suite against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Initialize", testInitialize},
		{"Tenants", testTenants},
		{"DeleteTenant", testDeleteTenant},
		{"WipeTenant", testWipeTenant},
		{"Credentials", testCredentials},
		{"Clients", testClients},
		{"ClientConflicts", testClientConflicts},
		{"UserMFA", testUserMFA},
		{"UserHosts", testUserHosts},
		{"Delegations", testDelegations},
		{"Hosts", testHosts},
		{"HostCredentials", testHostCredentials},
		{"CreatePubkey", testCreatePubkey},
		{"CreatePubkeyCheck", testCreatePubkeyCheck},
		{"CreatePubkeyProvision", testCreatePubkeyProvision},
		{"PubkeyQueries", testPubkeyQueries},
		{"UpdatePubkey", testUpdatePubkey},
		{"Cascades", testCascades},
		{"LookupKey", testLookupKey},
		{"UseKey", testUseKey},
		{"Reservations", testReservations},
		{"TimePrecision", testTimePrecision},
		{"ConcurrentProvisioning", testConcurrentProvisioning},
		{"ConcurrentUse", testConcurrentUse},
		{"ConcurrentMixed", testConcurrentMixed},
		{"ContextCanceled", testContextCanceled},
	}
	tests = append(tests, oauthTests()...)
	tests = append(tests, auditTests()...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			defer watchdog(tc.name, caseTimeout)()
			tc.fn(t, s)
		})
	}
}

// caseTimeout is how long one case may run before the watchdog declares
// the store hung.
const caseTimeout = 2 * time.Minute

// watchdog panics with every goroutine's stack when the returned stop
// function has not been called within d, so that a store that hangs fails
// the run with the place it hangs instead of waiting for the test binary's
// timeout. The case itself runs on the test goroutine, so t.Fatal works as
// usual.
func watchdog(name string, d time.Duration) (stop func()) {
	timer := time.AfterFunc(d, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		panic(fmt.Sprintf("storetest %s: no result after %v; the store hangs\n%s", name, d, buf))
	})
	return func() { timer.Stop() }
}

// Fixed times keep the suite deterministic.
var (
	t0     = time.Date(2026, 7, 13, 18, 2, 11, 123456000, time.UTC)
	future = t0.Add(24 * time.Hour)
	past   = t0.Add(-time.Hour)
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func wantCount(t *testing.T, what string, got int64, err error, want int64) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got != want {
		t.Fatalf("%s: got %d, want %d", what, got, want)
	}
}

// tenantSeed returns a seed for a tenant with its administrator.
func tenantSeed(name string) store.Seed {
	return store.Seed{
		Tenants: []store.Tenant{{Name: name, Enabled: true, Created: t0, Updated: t0}},
		Admins:  []store.Admin{{Tenant: name, AdminUser: "~~admin", SecretHash: "hash-" + name, Privilege: "PERM_ADMIN", Created: t0, Updated: t0}},
	}
}

func client(tenant, id string) store.Client {
	return store.Client{Tenant: tenant, ClientID: id, AppName: "app-" + id, AppVersion: "1.0", SecretHash: "secret-" + id, Enabled: true, Created: t0, Updated: t0}
}

// world creates tenant "t1" with client "c1", user "u1" (MFA enabled,
// expiring in a day), host mapping u1 → acct1@host1 and delegation c1 → u1.
func world(t *testing.T, s store.Store) {
	t.Helper()
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("t1")))
	must(t, s.CreateClient(c, client("t1", "c1")))
	must(t, s.CreateUserMFA(c, store.UserMFA{Tenant: "t1", TMSUserID: "u1", ExpiresAt: future, Enabled: true, Created: t0, Updated: t0}))
	must(t, s.CreateUserHost(c, store.UserHost{Tenant: "t1", TMSUserID: "u1", Host: "host1", HostAccount: "acct1", ExpiresAt: future, Created: t0, Updated: t0}))
	must(t, s.CreateDelegation(c, store.Delegation{Tenant: "t1", ClientID: "c1", ClientUserID: "u1", ExpiresAt: future, Created: t0, Updated: t0}))
}

// newKey returns a key for c1/u1 on acct1@host1 with the given fingerprint.
func newKey(fp string, uses int32) store.Pubkey {
	return store.Pubkey{
		Tenant: "t1", ClientID: "c1", ClientUserID: "u1", Host: "host1", HostAccount: "acct1",
		Fingerprint: fp, PublicKey: "ssh-ed25519 AAAA" + fp, KeyType: "ed25519", KeyBits: 256,
		MaxUses: uses, RemainingUses: uses, InitialTTLMinutes: 60, ExpiresAt: future, Created: t0, Updated: t0,
	}
}

func testInitialize(t *testing.T, s store.Store) {
	c := ctx(t)
	seed := tenantSeed("default")
	test := tenantSeed("test")
	seed.Tenants = append(seed.Tenants, test.Tenants...)
	seed.Admins = append(seed.Admins, test.Admins...)
	seed.Clients = []store.Client{client("test", "testclient1")}
	seed.UserMFA = []store.UserMFA{{Tenant: "test", TMSUserID: "testuser1", ExpiresAt: store.Never, Enabled: true, Created: t0, Updated: t0}}
	seed.UserHosts = []store.UserHost{{Tenant: "test", TMSUserID: "testuser1", Host: "testhost1", HostAccount: "testhostaccount1", ExpiresAt: store.Never, Created: t0, Updated: t0}}
	seed.Delegations = []store.Delegation{{Tenant: "test", ClientID: "testclient1", ClientUserID: "testuser1", ExpiresAt: store.Never, Created: t0, Updated: t0}}

	created, err := s.Initialize(c, seed)
	must(t, err)
	if !created {
		t.Fatal("first Initialize reported nothing created")
	}
	created, err = s.Initialize(c, seed)
	must(t, err)
	if created {
		t.Fatal("second Initialize created again")
	}
	tenants, err := s.ListTenants(c)
	must(t, err)
	if len(tenants) != 2 || tenants[0].Name != "default" || tenants[1].Name != "test" {
		t.Fatalf("tenants after Initialize: %+v", tenants)
	}
	if _, err := s.FindDelegation(c, store.DelegationKey{Tenant: "test", ClientID: "testclient1", ClientUserID: "testuser1"}); err != nil {
		t.Fatalf("seeded delegation: %v", err)
	}

	// A seed that fails part-way leaves nothing behind.
	bad := tenantSeed("x")
	bad.Clients = []store.Client{client("missing-tenant", "c")}
	if err := s.CreateTenant(c, bad); !errors.Is(err, store.ErrMissingParent) {
		t.Fatalf("seed with a client of an unknown tenant: got %v, want ErrMissingParent", err)
	}
	if _, err := s.GetTenant(c, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("tenant of a failed seed: got %v, want ErrNotFound", err)
	}
}

func testTenants(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("a")))
	must(t, s.CreateTenant(c, tenantSeed("b")))
	wantErr(t, s.CreateTenant(c, tenantSeed("a")), store.ErrConflict)

	got, err := s.GetTenant(c, "a")
	must(t, err)
	if got.Name != "a" || !got.Enabled || !got.Created.Equal(t0) || got.ID == 0 {
		t.Fatalf("GetTenant: %+v", got)
	}
	_, err = s.GetTenant(c, "nope")
	wantErr(t, err, store.ErrNotFound)

	n, err := s.SetTenantEnabled(c, "a", false, future)
	wantCount(t, "disable tenant", n, err, 1)
	got, err = s.GetTenant(c, "a")
	must(t, err)
	if got.Enabled || !got.Updated.Equal(future) {
		t.Fatalf("after disable: %+v", got)
	}
	n, err = s.SetTenantEnabled(c, "nope", true, future)
	wantCount(t, "enable missing tenant", n, err, 0)

	list, err := s.ListTenants(c)
	must(t, err)
	if len(list) != 2 || list[0].Name != "a" || list[1].Name != "b" || list[0].ID >= list[1].ID {
		t.Fatalf("ListTenants: %+v", list)
	}
}

func testDeleteTenant(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("a")))
	must(t, s.CreateClient(c, client("a", "c1")))
	_, err := s.DeleteTenant(c, "a")
	wantErr(t, err, store.ErrInUse)
	if _, err := s.AdminCredential(c, "a", "~~admin"); err != nil {
		t.Fatal(err)
	}
	cred, err := s.AdminCredential(c, "a", "~~admin")
	must(t, err)
	if !cred.Found {
		t.Fatal("a failed tenant delete removed the administrator")
	}
	n, err := s.DeleteClient(c, "a", "c1")
	wantCount(t, "delete client", n, err, 1)
	n, err = s.DeleteTenant(c, "a")
	wantCount(t, "delete tenant", n, err, 2)
	n, err = s.DeleteTenant(c, "a")
	wantCount(t, "delete missing tenant", n, err, 0)
}

func testWipeTenant(t *testing.T, s store.Store) {
	c := ctx(t)
	world(t, s)
	must(t, s.CreateTenant(c, tenantSeed("other")))
	must(t, s.CreateClient(c, client("other", "c1")))
	_, err := s.CreatePubkey(c, newKey("SHA256:wipe", 5), false, nil)
	must(t, err)
	must(t, s.CreateHost(c, store.Host{Tenant: "t1", Host: "host1", Addr: "10.0.0.1", Created: t0, Updated: t0}))
	must(t, s.CreateReservation(c, store.Reservation{ResID: "r1", ParentResID: "r1", Tenant: "t1", ClientID: "c1", ClientUserID: "u1",
		Host: "host1", Fingerprint: "SHA256:wipe", ExpiresAt: future, Created: t0, Updated: t0}))
	// reservation, key, delegation, mapping, mfa, client, host, admin, tenant
	n, err := s.WipeTenant(c, "t1")
	wantCount(t, "wipe", n, err, 9)
	if _, err := s.GetTenant(c, "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("wiped tenant still there: %v", err)
	}
	if _, err := s.GetClient(c, "other", "c1"); err != nil {
		t.Fatalf("wipe touched another tenant: %v", err)
	}
	n, err = s.WipeTenant(c, "t1")
	wantCount(t, "wipe again", n, err, 0)
}

func testCredentials(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("a")))
	must(t, s.CreateClient(c, client("a", "c1")))

	tests := []struct {
		name   string
		lookup func() (store.Credential, error)
		want   store.Credential
	}{
		{"client", func() (store.Credential, error) { return s.ClientCredential(c, "a", "c1") },
			store.Credential{TenantFound: true, TenantEnabled: true, Found: true, SecretHash: "secret-c1", Enabled: true}},
		{"unknown client", func() (store.Credential, error) { return s.ClientCredential(c, "a", "c2") },
			store.Credential{TenantFound: true, TenantEnabled: true}},
		{"unknown tenant", func() (store.Credential, error) { return s.ClientCredential(c, "b", "c1") },
			store.Credential{}},
		{"admin", func() (store.Credential, error) { return s.AdminCredential(c, "a", "~~admin") },
			store.Credential{TenantFound: true, TenantEnabled: true, Found: true, SecretHash: "hash-a", Enabled: true}},
		{"unknown admin", func() (store.Credential, error) { return s.AdminCredential(c, "a", "~~other") },
			store.Credential{TenantFound: true, TenantEnabled: true}},
		{"client id is not an admin id", func() (store.Credential, error) { return s.AdminCredential(c, "a", "c1") },
			store.Credential{TenantFound: true, TenantEnabled: true}},
	}
	for _, tc := range tests {
		got, err := tc.lookup()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}

	n, err := s.SetAdminSecret(c, "a", "~~admin", "new-hash", future)
	wantCount(t, "set admin secret", n, err, 1)
	got, err := s.AdminCredential(c, "a", "~~admin")
	must(t, err)
	if got.SecretHash != "new-hash" {
		t.Fatalf("admin secret not replaced: %+v", got)
	}
	n, err = s.SetAdminSecret(c, "a", "~~nobody", "x", future)
	wantCount(t, "set secret of unknown admin", n, err, 0)

	_, err = s.SetTenantEnabled(c, "a", false, future)
	must(t, err)
	got, err = s.ClientCredential(c, "a", "c1")
	must(t, err)
	if !got.TenantFound || got.TenantEnabled {
		t.Fatalf("credential of a disabled tenant: %+v", got)
	}
	_, err = s.UpdateClient(c, "a", "c1", store.ClientUpdate{Enabled: ptr(false)}, future)
	must(t, err)
	got, err = s.ClientCredential(c, "a", "c1")
	must(t, err)
	if !got.Found || got.Enabled {
		t.Fatalf("credential of a disabled client: %+v", got)
	}
}

func ptr[T any](v T) *T { return &v }

func testClients(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("a")))
	must(t, s.CreateTenant(c, tenantSeed("b")))
	for _, id := range []string{"zeta", "alpha", "mid"} {
		must(t, s.CreateClient(c, client("a", id)))
	}
	must(t, s.CreateClient(c, client("b", "alpha")))

	got, err := s.GetClient(c, "a", "alpha")
	must(t, err)
	want := client("a", "alpha")
	want.ID = got.ID
	if got != want {
		t.Fatalf("GetClient: got %+v, want %+v", got, want)
	}
	_, err = s.GetClient(c, "a", "nope")
	wantErr(t, err, store.ErrNotFound)

	list, err := s.ListClients(c, "a", "")
	must(t, err)
	if len(list) != 3 || list[0].ClientID != "alpha" || list[1].ClientID != "mid" || list[2].ClientID != "zeta" {
		t.Fatalf("ListClients order: %+v", list)
	}
	list, err = s.ListClients(c, "a", "mid")
	must(t, err)
	if len(list) != 1 || list[0].ClientID != "mid" {
		t.Fatalf("ListClients restricted: %+v", list)
	}
	list, err = s.ListClients(c, "empty", "")
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("ListClients of unknown tenant: %+v", list)
	}

	n, err := s.UpdateClient(c, "a", "mid", store.ClientUpdate{AppVersion: ptr("2.0"), Enabled: ptr(false)}, future)
	wantCount(t, "update client", n, err, 1)
	got, err = s.GetClient(c, "a", "mid")
	must(t, err)
	if got.AppVersion != "2.0" || got.Enabled || !got.Updated.Equal(future) || !got.Created.Equal(t0) {
		t.Fatalf("after update: %+v", got)
	}
	n, err = s.UpdateClient(c, "a", "nope", store.ClientUpdate{Enabled: ptr(true)}, future)
	wantCount(t, "update missing client", n, err, 0)

	n, err = s.SetClientSecret(c, "a", "mid", "rotated", future)
	wantCount(t, "rotate secret", n, err, 1)
	cred, err := s.ClientCredential(c, "a", "mid")
	must(t, err)
	if cred.SecretHash != "rotated" {
		t.Fatalf("secret not rotated: %+v", cred)
	}
	n, err = s.SetClientSecret(c, "a", "nope", "x", future)
	wantCount(t, "rotate missing client", n, err, 0)

	n, err = s.DeleteClient(c, "a", "mid")
	wantCount(t, "delete client", n, err, 1)
	n, err = s.DeleteClient(c, "a", "mid")
	wantCount(t, "delete client again", n, err, 0)
	if _, err := s.GetClient(c, "b", "alpha"); err != nil {
		t.Fatalf("same client id in another tenant: %v", err)
	}
}

func testClientConflicts(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("a")))
	must(t, s.CreateClient(c, client("a", "c1")))
	wantErr(t, s.CreateClient(c, client("a", "c1")), store.ErrConflict)
	dupApp := client("a", "c2")
	dupApp.AppName = "app-c1"
	wantErr(t, s.CreateClient(c, dupApp), store.ErrConflict)
	wantErr(t, s.CreateClient(c, client("nope", "c3")), store.ErrMissingParent)

	must(t, s.CreateClient(c, client("a", "c2")))
	other := client("a", "c3")
	other.AppName = "app-c2"
	other.AppVersion = "2.0"
	must(t, s.CreateClient(c, other))
	_, err := s.UpdateClient(c, "a", "c3", store.ClientUpdate{AppVersion: ptr("1.0")}, future)
	wantErr(t, err, store.ErrConflict)
	got, err := s.GetClient(c, "a", "c3")
	must(t, err)
	if got.AppVersion != "2.0" {
		t.Fatalf("failed update changed the client: %+v", got)
	}
}

func testUserMFA(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("a")))
	m := store.UserMFA{Tenant: "a", TMSUserID: "u2", ExpiresAt: future, Enabled: true, Created: t0, Updated: t0}
	must(t, s.CreateUserMFA(c, m))
	m1 := m
	m1.TMSUserID = "u1"
	must(t, s.CreateUserMFA(c, m1))
	wantErr(t, s.CreateUserMFA(c, m), store.ErrConflict)
	bad := m
	bad.Tenant = "nope"
	wantErr(t, s.CreateUserMFA(c, bad), store.ErrMissingParent)

	got, err := s.GetUserMFA(c, "a", "u2")
	must(t, err)
	m.ID = got.ID
	if got != m {
		t.Fatalf("GetUserMFA: got %+v, want %+v", got, m)
	}
	_, err = s.GetUserMFA(c, "a", "nope")
	wantErr(t, err, store.ErrNotFound)
	list, err := s.ListUserMFA(c, "a")
	must(t, err)
	if len(list) != 2 || list[0].TMSUserID != "u1" || list[1].TMSUserID != "u2" {
		t.Fatalf("ListUserMFA: %+v", list)
	}
	n, err := s.SetUserMFAEnabled(c, "a", "u2", false, future)
	wantCount(t, "disable mfa", n, err, 1)
	got, err = s.GetUserMFA(c, "a", "u2")
	must(t, err)
	if got.Enabled || !got.Updated.Equal(future) {
		t.Fatalf("after disable: %+v", got)
	}
	n, err = s.SetUserMFAEnabled(c, "a", "nope", false, future)
	wantCount(t, "disable missing mfa", n, err, 0)
	n, err = s.DeleteUserMFA(c, "a", "u2")
	wantCount(t, "delete mfa", n, err, 1)
	n, err = s.DeleteUserMFA(c, "a", "u2")
	wantCount(t, "delete mfa again", n, err, 0)
}

func testUserHosts(t *testing.T, s store.Store) {
	c := ctx(t)
	world(t, s)
	h := store.UserHost{Tenant: "t1", TMSUserID: "u1", Host: "host0", HostAccount: "acct9", ExpiresAt: future, Created: t0, Updated: t0}
	must(t, s.CreateUserHost(c, h))
	wantErr(t, s.CreateUserHost(c, h), store.ErrConflict)
	orphan := h
	orphan.TMSUserID = "nobody"
	wantErr(t, s.CreateUserHost(c, orphan), store.ErrMissingParent)

	key := store.UserHostKey{Tenant: "t1", TMSUserID: "u1", Host: "host0", HostAccount: "acct9"}
	found, err := s.FindUserHost(c, key)
	must(t, err)
	h.ID = found.ID
	if found != h {
		t.Fatalf("FindUserHost: got %+v, want %+v", found, h)
	}
	got, err := s.GetUserHost(c, "t1", found.ID)
	must(t, err)
	if got != h {
		t.Fatalf("GetUserHost: got %+v, want %+v", got, h)
	}
	_, err = s.GetUserHost(c, "other", found.ID)
	wantErr(t, err, store.ErrNotFound)
	list, err := s.ListUserHosts(c, "t1")
	must(t, err)
	if len(list) != 2 || list[0].Host != "host0" || list[1].Host != "host1" {
		t.Fatalf("ListUserHosts: %+v", list)
	}
	n, err := s.SetUserHostExpiry(c, key, past, future)
	wantCount(t, "set expiry", n, err, 1)
	found, err = s.FindUserHost(c, key)
	must(t, err)
	if !found.ExpiresAt.Equal(past) || !found.Updated.Equal(future) {
		t.Fatalf("after expiry update: %+v", found)
	}
	n, err = s.SetUserHostExpiry(c, store.UserHostKey{Tenant: "t1", TMSUserID: "u1", Host: "x", HostAccount: "y"}, past, future)
	wantCount(t, "expiry of missing mapping", n, err, 0)
	n, err = s.DeleteUserHost(c, key)
	wantCount(t, "delete mapping", n, err, 1)
	_, err = s.FindUserHost(c, key)
	wantErr(t, err, store.ErrNotFound)
}

func testDelegations(t *testing.T, s store.Store) {
	c := ctx(t)
	world(t, s)
	must(t, s.CreateClient(c, client("t1", "c0")))
	d := store.Delegation{Tenant: "t1", ClientID: "c0", ClientUserID: "u1", ExpiresAt: future, Created: t0, Updated: t0}
	must(t, s.CreateDelegation(c, d))
	wantErr(t, s.CreateDelegation(c, d), store.ErrConflict)
	noClient := d
	noClient.ClientID = "nope"
	wantErr(t, s.CreateDelegation(c, noClient), store.ErrMissingParent)
	noUser := d
	noUser.ClientUserID = "nobody"
	wantErr(t, s.CreateDelegation(c, noUser), store.ErrMissingParent)

	key := store.DelegationKey{Tenant: "t1", ClientID: "c0", ClientUserID: "u1"}
	found, err := s.FindDelegation(c, key)
	must(t, err)
	d.ID = found.ID
	if found != d {
		t.Fatalf("FindDelegation: got %+v, want %+v", found, d)
	}
	got, err := s.GetDelegation(c, "t1", d.ID)
	must(t, err)
	if got != d {
		t.Fatalf("GetDelegation: got %+v, want %+v", got, d)
	}
	_, err = s.GetDelegation(c, "t1", d.ID+1000)
	wantErr(t, err, store.ErrNotFound)
	list, err := s.ListDelegations(c, "t1")
	must(t, err)
	if len(list) != 2 || list[0].ClientID != "c0" || list[1].ClientID != "c1" {
		t.Fatalf("ListDelegations: %+v", list)
	}
	n, err := s.SetDelegationExpiry(c, key, past, future)
	wantCount(t, "set expiry", n, err, 1)
	found, err = s.FindDelegation(c, key)
	must(t, err)
	if !found.ExpiresAt.Equal(past) {
		t.Fatalf("after expiry update: %+v", found)
	}
	n, err = s.DeleteDelegation(c, key)
	wantCount(t, "delete delegation", n, err, 1)
	n, err = s.DeleteDelegation(c, key)
	wantCount(t, "delete delegation again", n, err, 0)
}

func testHosts(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("a")))
	h := store.Host{Tenant: "a", Host: "login1", Addr: "10.0.0.2", Created: t0, Updated: t0}
	must(t, s.CreateHost(c, h))
	h2 := h
	h2.Addr = "10.0.0.1"
	must(t, s.CreateHost(c, h2))
	wantErr(t, s.CreateHost(c, h), store.ErrConflict)
	list, err := s.ListHosts(c, "a")
	must(t, err)
	if len(list) != 2 || list[0].Addr != "10.0.0.1" || list[1].Addr != "10.0.0.2" {
		t.Fatalf("ListHosts: %+v", list)
	}
	got, err := s.GetHost(c, "a", list[1].ID)
	must(t, err)
	h.ID = got.ID
	if got != h {
		t.Fatalf("GetHost: got %+v, want %+v", got, h)
	}
	n, err := s.DeleteHost(c, "a", "login1", "10.0.0.2")
	wantCount(t, "delete host", n, err, 1)
	_, err = s.GetHost(c, "a", h.ID)
	wantErr(t, err, store.ErrNotFound)
}

func testCreatePubkey(t *testing.T, s store.Store) {
	c := ctx(t)
	world(t, s)
	k := newKey("SHA256:one", 3)
	got, err := s.CreatePubkey(c, k, false, nil)
	must(t, err)
	if got.ID == 0 {
		t.Fatal("CreatePubkey returned no id")
	}
	k.ID = got.ID
	if got != k {
		t.Fatalf("CreatePubkey: got %+v, want %+v", got, k)
	}
	stored, err := s.GetPubkey(c, "t1", k.ID, "")
	must(t, err)
	if stored != k {
		t.Fatalf("GetPubkey: got %+v, want %+v", stored, k)
	}
	_, err = s.CreatePubkey(c, newKey("SHA256:one", 3), false, nil)
	wantErr(t, err, store.ErrConflict)
	// The same fingerprint on another host is a different key.
	must(t, s.CreateUserHost(c, store.UserHost{Tenant: "t1", TMSUserID: "u1", Host: "host2", HostAccount: "acct1", ExpiresAt: future, Created: t0, Updated: t0}))
	other := newKey("SHA256:one", 3)
	other.Host = "host2"
	_, err = s.CreatePubkey(c, other, false, nil)
	must(t, err)
}

// errRefused is the refusal of the checks the tests pass to CreatePubkey.
var errRefused = errors.New("refused by the test's check")

// refuseIncomplete is a KeyCheck for tests: it refuses a key when a
// dependency is missing or the user MFA record is disabled.
func refuseIncomplete(d store.Dependencies) error {
	if d.Missing() || !d.UserMFA.Enabled {
		return errRefused
	}
	return nil
}

// depsSummary is what the tests compare of a dependency snapshot: the
// records' existence, state and expiry, not their ids.
type depsSummary struct {
	Tenant, Client, MFA, MFAEnabled, Host, Delegation bool
	MFAExp, HostExp, DelegationExp                    time.Time
}

func summarize(d store.Dependencies) depsSummary {
	return depsSummary{Tenant: d.TenantEnabled, Client: d.ClientEnabled,
		MFA: d.UserMFA.ID != 0, MFAEnabled: d.UserMFA.Enabled, Host: d.UserHost.ID != 0, Delegation: d.Delegation.ID != 0,
		MFAExp: d.UserMFA.ExpiresAt, HostExp: d.UserHost.ExpiresAt, DelegationExp: d.Delegation.ExpiresAt}
}

// testCreatePubkeyCheck checks that CreatePubkey gives the check the
// dependencies as stored, missing ones as missing, returns the check's
// refusal unchanged, and stores nothing for a refused key.
func testCreatePubkeyCheck(t *testing.T, s store.Store) {
	c := ctx(t)
	world(t, s)
	must(t, s.CreateUserMFA(c, store.UserMFA{Tenant: "t1", TMSUserID: "disabled", ExpiresAt: future, Enabled: false, Created: t0, Updated: t0}))
	must(t, s.CreateUserMFA(c, store.UserMFA{Tenant: "t1", TMSUserID: "stale", ExpiresAt: past, Enabled: true, Created: t0, Updated: t0}))
	must(t, s.CreateUserMFA(c, store.UserMFA{Tenant: "t1", TMSUserID: "u2", ExpiresAt: future, Enabled: true, Created: t0, Updated: t0}))
	must(t, s.CreateUserHost(c, store.UserHost{Tenant: "t1", TMSUserID: "u2", Host: "old", HostAccount: "acct1", ExpiresAt: past, Created: t0, Updated: t0}))
	must(t, s.CreateUserHost(c, store.UserHost{Tenant: "t1", TMSUserID: "u2", Host: "host1", HostAccount: "acct1", ExpiresAt: future, Created: t0, Updated: t0}))
	must(t, s.CreateClient(c, client("t1", "c2")))
	must(t, s.CreateDelegation(c, store.Delegation{Tenant: "t1", ClientID: "c2", ClientUserID: "u1", ExpiresAt: past, Created: t0, Updated: t0}))
	_, err := s.UpdateClient(c, "t1", "c2", store.ClientUpdate{Enabled: ptr(false)}, t0)
	must(t, err)

	all := depsSummary{Tenant: true, Client: true, MFA: true, MFAEnabled: true, Host: true, Delegation: true,
		MFAExp: future, HostExp: future, DelegationExp: future}
	edit := func(f func(d *depsSummary)) depsSummary { d := all; f(&d); return d }
	tests := []struct {
		name string
		edit func(k *store.Pubkey)
		want depsSummary
	}{
		{"complete", func(k *store.Pubkey) {}, all},
		{"no mfa", func(k *store.Pubkey) { k.ClientUserID = "ghost" }, edit(func(d *depsSummary) {
			*d = depsSummary{Tenant: true, Client: true}
		})},
		{"mfa disabled", func(k *store.Pubkey) { k.ClientUserID = "disabled" }, edit(func(d *depsSummary) {
			d.MFAEnabled, d.Host, d.HostExp, d.Delegation, d.DelegationExp = false, false, time.Time{}, false, time.Time{}
		})},
		{"mfa expired", func(k *store.Pubkey) { k.ClientUserID = "stale" }, edit(func(d *depsSummary) {
			d.MFAExp, d.Host, d.HostExp, d.Delegation, d.DelegationExp = past, false, time.Time{}, false, time.Time{}
		})},
		{"no mapping", func(k *store.Pubkey) { k.HostAccount = "other" }, edit(func(d *depsSummary) { d.Host, d.HostExp = false, time.Time{} })},
		{"mapping expired", func(k *store.Pubkey) { k.ClientUserID = "u2"; k.Host = "old" }, edit(func(d *depsSummary) {
			d.HostExp, d.Delegation, d.DelegationExp = past, false, time.Time{}
		})},
		{"no delegation", func(k *store.Pubkey) { k.ClientUserID = "u2" }, edit(func(d *depsSummary) { d.Delegation, d.DelegationExp = false, time.Time{} })},
		{"delegation expired, client disabled", func(k *store.Pubkey) { k.ClientID = "c2" }, edit(func(d *depsSummary) {
			d.Client, d.DelegationExp = false, past
		})},
	}
	for i, tc := range tests {
		k := newKey(fmt.Sprintf("SHA256:dep%d", i), 1)
		tc.edit(&k)
		var seen []depsSummary
		_, err := s.CreatePubkey(c, k, false, func(d store.Dependencies) error {
			seen = append(seen, summarize(d))
			return errRefused
		})
		if err != errRefused {
			t.Fatalf("%s: got %v, want the check's refusal unchanged", tc.name, err)
		}
		if len(seen) != 1 || seen[0] != tc.want {
			t.Errorf("%s: the check saw %+v, want %+v", tc.name, seen, tc.want)
		}
		deps, err := s.Dependencies(c, k.Tenant, k.ClientID, k.ClientUserID, k.Host, k.HostAccount)
		must(t, err)
		if got := summarize(deps); got != tc.want {
			t.Errorf("%s: Dependencies %+v, want %+v", tc.name, got, tc.want)
		}
	}
	keys, err := s.ListPubkeys(c, "t1", "")
	must(t, err)
	if len(keys) != 0 {
		t.Fatalf("refused keys were stored: %+v", keys)
	}
	if _, err := s.CreatePubkey(c, newKey("SHA256:accepted", 1), false, refuseIncomplete); err != nil {
		t.Fatalf("a key the check accepts: %v", err)
	}
}

func testCreatePubkeyProvision(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("t1")))
	must(t, s.CreateClient(c, client("t1", "c1")))
	k := newKey("SHA256:mvp", 1)
	_, err := s.CreatePubkey(c, k, false, refuseIncomplete)
	wantErr(t, err, errRefused)
	var seen depsSummary
	got, err := s.CreatePubkey(c, k, true, func(d store.Dependencies) error { seen = summarize(d); return refuseIncomplete(d) })
	must(t, err)
	if got.ID == 0 {
		t.Fatal("no id")
	}
	if want := (depsSummary{Tenant: true, Client: true, MFA: true, MFAEnabled: true, Host: true, Delegation: true,
		MFAExp: store.Never, HostExp: store.Never, DelegationExp: store.Never}); seen != want {
		t.Fatalf("the check saw %+v after provisioning, want %+v", seen, want)
	}
	m, err := s.GetUserMFA(c, "t1", "u1")
	must(t, err)
	if !m.Enabled || !m.ExpiresAt.Equal(store.Never) {
		t.Fatalf("provisioned MFA: %+v", m)
	}
	d, err := s.FindDelegation(c, store.DelegationKey{Tenant: "t1", ClientID: "c1", ClientUserID: "u1"})
	must(t, err)
	if !d.ExpiresAt.Equal(store.Never) {
		t.Fatalf("provisioned delegation: %+v", d)
	}
	h, err := s.FindUserHost(c, store.UserHostKey{Tenant: "t1", TMSUserID: "u1", Host: "host1", HostAccount: "acct1"})
	must(t, err)
	if !h.ExpiresAt.Equal(store.Never) {
		t.Fatalf("provisioned mapping: %+v", h)
	}

	// Existing records are left alone: a disabled MFA record still refuses,
	// and nothing provisioned for the refused key remains.
	n, err := s.SetUserMFAEnabled(c, "t1", "u1", false, t0)
	wantCount(t, "disable", n, err, 1)
	k2 := newKey("SHA256:mvp2", 1)
	k2.Host = "host9"
	_, err = s.CreatePubkey(c, k2, true, refuseIncomplete)
	wantErr(t, err, errRefused)
	m, err = s.GetUserMFA(c, "t1", "u1")
	must(t, err)
	if m.Enabled {
		t.Fatal("provisioning re-enabled an MFA record")
	}
	_, err = s.FindUserHost(c, store.UserHostKey{Tenant: "t1", TMSUserID: "u1", Host: "host9", HostAccount: "acct1"})
	wantErr(t, err, store.ErrNotFound)
}

func testPubkeyQueries(t *testing.T, s store.Store) {
	c := ctx(t)
	world(t, s)
	must(t, s.CreateClient(c, client("t1", "c2")))
	must(t, s.CreateDelegation(c, store.Delegation{Tenant: "t1", ClientID: "c2", ClientUserID: "u1", ExpiresAt: future, Created: t0, Updated: t0}))
	k1, err := s.CreatePubkey(c, newKey("SHA256:a", 1), false, nil)
	must(t, err)
	k2 := newKey("SHA256:b", 1)
	k2.ClientID = "c2"
	k2, err = s.CreatePubkey(c, k2, false, nil)
	must(t, err)

	if _, err := s.GetPubkey(c, "t1", k2.ID, "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetPubkey of another client's key: %v", err)
	}
	got, err := s.GetPubkey(c, "t1", k2.ID, "c2")
	must(t, err)
	if got != k2 {
		t.Fatalf("GetPubkey own key: %+v", got)
	}
	if _, err := s.GetPubkey(c, "other", k1.ID, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetPubkey in another tenant: %v", err)
	}
	all, err := s.ListPubkeys(c, "t1", "")
	must(t, err)
	if len(all) != 2 {
		t.Fatalf("ListPubkeys: %+v", all)
	}
	own, err := s.ListPubkeys(c, "t1", "c1")
	must(t, err)
	if len(own) != 1 || own[0] != k1 {
		t.Fatalf("ListPubkeys restricted: %+v", own)
	}
	found, err := s.FindPubkey(c, store.PubkeyKey{Tenant: "t1", ClientID: "c1", Host: "host1", Fingerprint: "SHA256:a"})
	must(t, err)
	if found != k1 {
		t.Fatalf("FindPubkey: %+v", found)
	}
	_, err = s.FindPubkey(c, store.PubkeyKey{Tenant: "t1", ClientID: "c2", Host: "host1", Fingerprint: "SHA256:a"})
	wantErr(t, err, store.ErrNotFound)

	n, err := s.DeletePubkey(c, store.PubkeyKey{Tenant: "t1", ClientID: "c2", Host: "host1", Fingerprint: "SHA256:a"})
	wantCount(t, "delete another client's key", n, err, 0)
	n, err = s.DeletePubkey(c, store.PubkeyKey{Tenant: "t1", ClientID: "c1", Host: "host1", Fingerprint: "SHA256:a"})
	wantCount(t, "delete key", n, err, 1)
}

func testUpdatePubkey(t *testing.T, s store.Store) {
	c := ctx(t)
	world(t, s)
	k, err := s.CreatePubkey(c, newKey("SHA256:u", 5), false, nil)
	must(t, err)
	key := store.PubkeyKey{Tenant: "t1", ClientID: "c1", Host: "host1", Fingerprint: "SHA256:u"}
	// Use two of the five.
	for i := range 2 {
		r, err := s.UseKey(c, k.ID, t0.Add(time.Duration(i)*time.Minute), 0)
		must(t, err)
		if !r.Counted {
			t.Fatalf("use %d not counted", i)
		}
	}
	n, err := s.UpdatePubkey(c, key, store.PubkeyUpdate{MaxUses: ptr(int32(10))}, future)
	wantCount(t, "raise max uses", n, err, 1)
	got, err := s.FindPubkey(c, key)
	must(t, err)
	if got.MaxUses != 10 || got.RemainingUses != 8 || !got.Updated.Equal(future) {
		t.Fatalf("after raising max uses: max %d remaining %d", got.MaxUses, got.RemainingUses)
	}
	n, err = s.UpdatePubkey(c, key, store.PubkeyUpdate{MaxUses: ptr(int32(1)), ExpiresAt: ptr(past)}, future)
	wantCount(t, "lower max uses and expire", n, err, 2)
	got, err = s.FindPubkey(c, key)
	must(t, err)
	if got.MaxUses != 1 || got.RemainingUses != 0 || !got.ExpiresAt.Equal(past) {
		t.Fatalf("after lowering: %+v", got)
	}
	n, err = s.UpdatePubkey(c, key, store.PubkeyUpdate{}, future)
	wantCount(t, "empty update", n, err, 0)
	_, err = s.UpdatePubkey(c, store.PubkeyKey{Tenant: "t1", ClientID: "c1", Host: "host1", Fingerprint: "SHA256:none"},
		store.PubkeyUpdate{MaxUses: ptr(int32(1))}, future)
	wantErr(t, err, store.ErrNotFound)
}

func testCascades(t *testing.T, s store.Store) {
	c := ctx(t)
	tests := []struct {
		name   string
		delete func() (int64, error)
	}{
		{"client", func() (int64, error) { return s.DeleteClient(c, "t1", "c1") }},
		{"user mfa", func() (int64, error) { return s.DeleteUserMFA(c, "t1", "u1") }},
		{"user host", func() (int64, error) {
			return s.DeleteUserHost(c, store.UserHostKey{Tenant: "t1", TMSUserID: "u1", Host: "host1", HostAccount: "acct1"})
		}},
		{"delegation", func() (int64, error) {
			return s.DeleteDelegation(c, store.DelegationKey{Tenant: "t1", ClientID: "c1", ClientUserID: "u1"})
		}},
	}
	for i, tc := range tests {
		if i > 0 {
			_, err := s.WipeTenant(c, "t1")
			must(t, err)
		}
		world(t, s)
		fp := fmt.Sprintf("SHA256:cascade%d", i)
		_, err := s.CreatePubkey(c, newKey(fp, 1), false, nil)
		must(t, err)
		must(t, s.CreateReservation(c, store.Reservation{ResID: fmt.Sprintf("res%d", i), ParentResID: fmt.Sprintf("res%d", i),
			Tenant: "t1", ClientID: "c1", ClientUserID: "u1", Host: "host1", Fingerprint: fp, ExpiresAt: future, Created: t0, Updated: t0}))
		n, err := tc.delete()
		wantCount(t, tc.name, n, err, 1)
		if _, err := s.LookupKey(c, "host1", fp, "acct1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting the %s left its key: %v", tc.name, err)
		}
		if _, err := s.GetReservation(c, "t1", fmt.Sprintf("res%d", i)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting the %s left the key's reservation: %v", tc.name, err)
		}
	}
	// Deleting the MFA record also removes the user's mappings and delegations.
	if _, err := s.FindUserHost(c, store.UserHostKey{Tenant: "t1", TMSUserID: "u1", Host: "host1", HostAccount: "acct1"}); err != nil {
		t.Fatalf("mapping before MFA delete: %v", err)
	}
	_, err := s.DeleteUserMFA(c, "t1", "u1")
	must(t, err)
	if _, err := s.FindUserHost(c, store.UserHostKey{Tenant: "t1", TMSUserID: "u1", Host: "host1", HostAccount: "acct1"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("mapping after MFA delete: %v", err)
	}
	if _, err := s.FindDelegation(c, store.DelegationKey{Tenant: "t1", ClientID: "c1", ClientUserID: "u1"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delegation after MFA delete: %v", err)
	}
}

func testLookupKey(t *testing.T, s store.Store) {
	c := ctx(t)
	world(t, s)
	k, err := s.CreatePubkey(c, newKey("SHA256:look", 2), false, nil)
	must(t, err)
	ks, err := s.LookupKey(c, "host1", "SHA256:look", "acct1")
	must(t, err)
	all := depsSummary{Tenant: true, Client: true, MFA: true, MFAEnabled: true, Host: true, Delegation: true,
		MFAExp: future, HostExp: future, DelegationExp: future}
	if ks.Key != k || summarize(ks.Deps) != all || !ks.LastUsedAt.IsZero() {
		t.Fatalf("LookupKey: got %+v, want %+v with %+v", ks, k, all)
	}
	for _, q := range [][3]string{{"host2", "SHA256:look", "acct1"}, {"host1", "SHA256:LOOK", "acct1"}, {"host1", "SHA256:look", "acct2"}} {
		if _, err := s.LookupKey(c, q[0], q[1], q[2]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LookupKey%v: got %v, want ErrNotFound", q, err)
		}
	}
	_, err = s.SetTenantEnabled(c, "t1", false, t0)
	must(t, err)
	_, err = s.UpdateClient(c, "t1", "c1", store.ClientUpdate{Enabled: ptr(false)}, t0)
	must(t, err)
	_, err = s.SetUserMFAEnabled(c, "t1", "u1", false, t0)
	must(t, err)
	_, err = s.SetUserHostExpiry(c, store.UserHostKey{Tenant: "t1", TMSUserID: "u1", Host: "host1", HostAccount: "acct1"}, past, t0)
	must(t, err)
	_, err = s.SetDelegationExpiry(c, store.DelegationKey{Tenant: "t1", ClientID: "c1", ClientUserID: "u1"}, past.Add(time.Minute), t0)
	must(t, err)
	r, err := s.UseKey(c, k.ID, t0, time.Second)
	must(t, err)
	if !r.Counted {
		t.Fatal("use not counted")
	}
	ks, err = s.LookupKey(c, "host1", "SHA256:look", "acct1")
	must(t, err)
	changed := all
	changed.Tenant, changed.Client, changed.MFAEnabled, changed.HostExp, changed.DelegationExp = false, false, false, past, past.Add(time.Minute)
	if summarize(ks.Deps) != changed || !ks.LastUsedAt.Equal(t0) || ks.Key.RemainingUses != 1 {
		t.Fatalf("LookupKey after changes: %+v", ks)
	}
}

func testUseKey(t *testing.T, s store.Store) {
	c := ctx(t)
	world(t, s)
	k, err := s.CreatePubkey(c, newKey("SHA256:use", 2), false, nil)
	must(t, err)
	window := 10 * time.Second
	steps := []struct {
		at   time.Duration
		want store.UseResult
	}{
		{0, store.UseResult{Counted: true, RemainingUses: 1}},
		{time.Second, store.UseResult{Repeated: true, RemainingUses: 1}},
		{9 * time.Second, store.UseResult{Repeated: true, RemainingUses: 1}},
		{11 * time.Second, store.UseResult{Counted: true, RemainingUses: 0}},
		{12 * time.Second, store.UseResult{Repeated: true, RemainingUses: 0}},
		{30 * time.Second, store.UseResult{RemainingUses: 0}},
	}
	for _, st := range steps {
		got, err := s.UseKey(c, k.ID, t0.Add(st.at), window)
		must(t, err)
		if got != st.want {
			t.Fatalf("UseKey at +%v: got %+v, want %+v", st.at, got, st.want)
		}
	}
	_, err = s.UseKey(c, k.ID+1000, t0, window)
	wantErr(t, err, store.ErrNotFound)
}

func testReservations(t *testing.T, s store.Store) {
	c := ctx(t)
	world(t, s)
	_, err := s.CreatePubkey(c, newKey("SHA256:res", 2), false, nil)
	must(t, err)
	r := store.Reservation{ResID: "p1", ParentResID: "p1", Tenant: "t1", ClientID: "c1", ClientUserID: "u1",
		Host: "host1", Fingerprint: "SHA256:res", ExpiresAt: future, Created: t0, Updated: t0}
	must(t, s.CreateReservation(c, r))
	wantErr(t, s.CreateReservation(c, r), store.ErrConflict)
	child := r
	child.ResID, child.ParentResID = "k1", "p1"
	must(t, s.CreateReservation(c, child))
	child.ResID = "k2"
	must(t, s.CreateReservation(c, child))
	noKey := r
	noKey.ResID, noKey.ParentResID, noKey.Fingerprint = "x", "x", "SHA256:none"
	wantErr(t, s.CreateReservation(c, noKey), store.ErrMissingParent)

	got, err := s.GetReservation(c, "t1", "p1")
	must(t, err)
	r.ID = got.ID
	if got != r {
		t.Fatalf("GetReservation: got %+v, want %+v", got, r)
	}
	_, err = s.GetReservation(c, "t2", "p1")
	wantErr(t, err, store.ErrNotFound)
	n, err := s.DeleteReservation(c, "t1", "other", "k1")
	wantCount(t, "delete other client's reservation", n, err, 0)
	n, err = s.DeleteReservation(c, "t1", "c1", "k1")
	wantCount(t, "delete reservation", n, err, 1)
	n, err = s.DeleteRelatedReservations(c, "t1", "c1", "p1")
	wantCount(t, "delete related", n, err, 2)
	_, err = s.GetReservation(c, "t1", "k2")
	wantErr(t, err, store.ErrNotFound)
}

func testTimePrecision(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("a")))
	at := time.Date(2030, 1, 2, 3, 4, 5, 987654000, time.FixedZone("X", 3600))
	m := store.UserMFA{Tenant: "a", TMSUserID: "u", ExpiresAt: store.Never, Enabled: true, Created: at, Updated: at}
	must(t, s.CreateUserMFA(c, m))
	got, err := s.GetUserMFA(c, "a", "u")
	must(t, err)
	if !got.ExpiresAt.Equal(store.Never) || got.ExpiresAt.Location() != time.UTC {
		t.Fatalf("Never round trip: %v", got.ExpiresAt)
	}
	if !got.Created.Equal(at) || got.Created.Location() != time.UTC {
		t.Fatalf("time round trip: got %v, want %v in UTC", got.Created, at)
	}
}

func testConcurrentProvisioning(t *testing.T, s store.Store) {
	c := ctx(t)
	must(t, s.CreateTenant(c, tenantSeed("t1")))
	must(t, s.CreateClient(c, client("t1", "c1")))
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreatePubkey(c, newKey(fmt.Sprintf("SHA256:conc%d", i), 1), true, nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("concurrent provisioning: %v", err)
		}
	}
	keys, err := s.ListPubkeys(c, "t1", "")
	must(t, err)
	mfa, err := s.ListUserMFA(c, "t1")
	must(t, err)
	hosts, err := s.ListUserHosts(c, "t1")
	must(t, err)
	dels, err := s.ListDelegations(c, "t1")
	must(t, err)
	if len(mfa) != 1 || len(hosts) != 1 || len(dels) != 1 {
		t.Fatalf("duplicate provisioned rows: %d mfa, %d mappings, %d delegations", len(mfa), len(hosts), len(dels))
	}
	if len(keys) < n/2 {
		t.Fatalf("only %d of %d keys stored", len(keys), n)
	}
}

func testConcurrentUse(t *testing.T, s store.Store) {
	c := ctx(t)
	world(t, s)
	const uses = 7
	k, err := s.CreatePubkey(c, newKey("SHA256:race", uses), false, nil)
	must(t, err)
	const n = 200
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		counted int
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.UseKey(c, k.ID, t0, 0)
			if err != nil {
				t.Errorf("UseKey: %v", err)
				return
			}
			if r.Counted {
				mu.Lock()
				counted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if counted != uses {
		t.Fatalf("%d concurrent uses counted, want exactly %d", counted, uses)
	}
	got, err := s.GetPubkey(c, "t1", k.ID, "")
	must(t, err)
	if got.RemainingUses != 0 {
		t.Fatalf("remaining uses %d, want 0", got.RemainingUses)
	}
}

// testConcurrentMixed runs reads and writes of every kind at once; the point
// is that nothing deadlocks or fails.
func testConcurrentMixed(t *testing.T, s store.Store) {
	c := ctx(t)
	world(t, s)
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fp := fmt.Sprintf("SHA256:mixed%d", i)
			k, err := s.CreatePubkey(c, newKey(fp, 3), false, nil)
			if err != nil {
				errs <- err
				return
			}
			for range 5 {
				if _, err := s.LookupKey(c, "host1", fp, "acct1"); err != nil {
					errs <- err
				}
				if _, err := s.ClientCredential(c, "t1", "c1"); err != nil {
					errs <- err
				}
				if _, err := s.UseKey(c, k.ID, t0, 0); err != nil {
					errs <- err
				}
			}
			if _, err := s.ListPubkeys(c, "t1", "c1"); err != nil {
				errs <- err
			}
			if _, err := s.DeletePubkey(c, store.PubkeyKey{Tenant: "t1", ClientID: "c1", Host: "host1", Fingerprint: fp}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent operation: %v", err)
	}
}

func testContextCanceled(t *testing.T, s store.Store) {
	world(t, s)
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.GetClient(c, "t1", "c1"); err == nil {
		t.Error("read with a canceled context succeeded")
	}
	if err := s.CreateClient(c, client("t1", "c9")); err == nil {
		t.Error("write with a canceled context succeeded")
	}
	if _, err := s.GetClient(ctx(t), "t1", "c9"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("write with a canceled context was applied: %v", err)
	}
}
