package api_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

// fakeService implements api.Service with one …Fn field per method, so a
// handler test stubs only the calls it expects; a call to a method whose
// field is nil panics, which the test sees as a failed request.
type fakeService struct {
	fakeTenantService
	fakeClientService
	fakeUserMFAService
	fakeUserHostService
	fakeDelegationService
	fakeHostService
	fakeHostCredentialService
	fakePubkeyService
	fakeReservationService
	fakeUserService
	fakeSelfService
	fakeAuditService
}

var _ api.Service = (*fakeService)(nil)

// fakeTenantService implements api.TenantService.
type fakeTenantService struct {
	CreateTenantFn func(ctx context.Context, c tms.Credentials, name string) (tms.AdminSecret, error)
	GetTenantFn    func(ctx context.Context, name string) (store.Tenant, error)
	ListTenantsFn  func(ctx context.Context, c tms.Credentials) ([]store.Tenant, error)
	UpdateTenantFn func(ctx context.Context, c tms.Credentials, tenant string, enabled bool) (int64, error)
	DeleteTenantFn func(ctx context.Context, c tms.Credentials, tenant string) (int64, error)
	WipeTenantFn   func(ctx context.Context, c tms.Credentials, tenant string) (int64, error)
}

func (f *fakeTenantService) CreateTenant(ctx context.Context, c tms.Credentials, name string) (tms.AdminSecret, error) {
	return f.CreateTenantFn(ctx, c, name)
}

func (f *fakeTenantService) GetTenant(ctx context.Context, name string) (store.Tenant, error) {
	return f.GetTenantFn(ctx, name)
}

func (f *fakeTenantService) ListTenants(ctx context.Context, c tms.Credentials) ([]store.Tenant, error) {
	return f.ListTenantsFn(ctx, c)
}

func (f *fakeTenantService) UpdateTenant(ctx context.Context, c tms.Credentials, tenant string, enabled bool) (int64, error) {
	return f.UpdateTenantFn(ctx, c, tenant, enabled)
}

func (f *fakeTenantService) DeleteTenant(ctx context.Context, c tms.Credentials, tenant string) (int64, error) {
	return f.DeleteTenantFn(ctx, c, tenant)
}

func (f *fakeTenantService) WipeTenant(ctx context.Context, c tms.Credentials, tenant string) (int64, error) {
	return f.WipeTenantFn(ctx, c, tenant)
}

// fakeClientService implements api.ClientService.
type fakeClientService struct {
	CreateClientFn       func(ctx context.Context, c tms.Credentials, req tms.NewClient) (string, error)
	GetClientFn          func(ctx context.Context, c tms.Credentials, clientID string) (store.Client, error)
	ListClientsFn        func(ctx context.Context, c tms.Credentials) ([]store.Client, error)
	UpdateClientFn       func(ctx context.Context, c tms.Credentials, clientID string, upd store.ClientUpdate) (int64, error)
	RotateClientSecretFn func(ctx context.Context, c tms.Credentials, clientID string) (string, error)
	DeleteClientFn       func(ctx context.Context, c tms.Credentials, clientID string) (int64, error)
}

func (f *fakeClientService) CreateClient(ctx context.Context, c tms.Credentials, req tms.NewClient) (string, error) {
	return f.CreateClientFn(ctx, c, req)
}

func (f *fakeClientService) GetClient(ctx context.Context, c tms.Credentials, clientID string) (store.Client, error) {
	return f.GetClientFn(ctx, c, clientID)
}

func (f *fakeClientService) ListClients(ctx context.Context, c tms.Credentials) ([]store.Client, error) {
	return f.ListClientsFn(ctx, c)
}

func (f *fakeClientService) UpdateClient(ctx context.Context, c tms.Credentials, clientID string, upd store.ClientUpdate) (int64, error) {
	return f.UpdateClientFn(ctx, c, clientID, upd)
}

func (f *fakeClientService) RotateClientSecret(ctx context.Context, c tms.Credentials, clientID string) (string, error) {
	return f.RotateClientSecretFn(ctx, c, clientID)
}

func (f *fakeClientService) DeleteClient(ctx context.Context, c tms.Credentials, clientID string) (int64, error) {
	return f.DeleteClientFn(ctx, c, clientID)
}

// fakeUserMFAService implements api.UserMFAService.
type fakeUserMFAService struct {
	CreateUserMFAFn     func(ctx context.Context, c tms.Credentials, tenant, user string, ttlMinutes int64) (store.UserMFA, error)
	GetUserMFAFn        func(ctx context.Context, c tms.Credentials, user string) (store.UserMFA, error)
	ListUserMFAFn       func(ctx context.Context, c tms.Credentials) ([]store.UserMFA, error)
	SetUserMFAEnabledFn func(ctx context.Context, c tms.Credentials, tenant, user string, enabled bool) (int64, error)
	DeleteUserMFAFn     func(ctx context.Context, c tms.Credentials, user string) (int64, error)
}

func (f *fakeUserMFAService) CreateUserMFA(ctx context.Context, c tms.Credentials, tenant, user string, ttlMinutes int64) (store.UserMFA, error) {
	return f.CreateUserMFAFn(ctx, c, tenant, user, ttlMinutes)
}

func (f *fakeUserMFAService) GetUserMFA(ctx context.Context, c tms.Credentials, user string) (store.UserMFA, error) {
	return f.GetUserMFAFn(ctx, c, user)
}

func (f *fakeUserMFAService) ListUserMFA(ctx context.Context, c tms.Credentials) ([]store.UserMFA, error) {
	return f.ListUserMFAFn(ctx, c)
}

func (f *fakeUserMFAService) SetUserMFAEnabled(ctx context.Context, c tms.Credentials, tenant, user string, enabled bool) (int64, error) {
	return f.SetUserMFAEnabledFn(ctx, c, tenant, user, enabled)
}

func (f *fakeUserMFAService) DeleteUserMFA(ctx context.Context, c tms.Credentials, user string) (int64, error) {
	return f.DeleteUserMFAFn(ctx, c, user)
}

// fakeUserHostService implements api.UserHostService.
type fakeUserHostService struct {
	CreateUserHostFn func(ctx context.Context, c tms.Credentials, k store.UserHostKey, ttlMinutes int64) (store.UserHost, error)
	GetUserHostFn    func(ctx context.Context, c tms.Credentials, id int64) (store.UserHost, error)
	ListUserHostsFn  func(ctx context.Context, c tms.Credentials) ([]store.UserHost, error)
	UpdateUserHostFn func(ctx context.Context, c tms.Credentials, k store.UserHostKey, ttlMinutes int64) (int64, store.UserHost, error)
	DeleteUserHostFn func(ctx context.Context, c tms.Credentials, k store.UserHostKey) (int64, error)
}

func (f *fakeUserHostService) CreateUserHost(ctx context.Context, c tms.Credentials, k store.UserHostKey, ttlMinutes int64) (store.UserHost, error) {
	return f.CreateUserHostFn(ctx, c, k, ttlMinutes)
}

func (f *fakeUserHostService) GetUserHost(ctx context.Context, c tms.Credentials, id int64) (store.UserHost, error) {
	return f.GetUserHostFn(ctx, c, id)
}

func (f *fakeUserHostService) ListUserHosts(ctx context.Context, c tms.Credentials) ([]store.UserHost, error) {
	return f.ListUserHostsFn(ctx, c)
}

func (f *fakeUserHostService) UpdateUserHost(ctx context.Context, c tms.Credentials, k store.UserHostKey, ttlMinutes int64) (int64, store.UserHost, error) {
	return f.UpdateUserHostFn(ctx, c, k, ttlMinutes)
}

func (f *fakeUserHostService) DeleteUserHost(ctx context.Context, c tms.Credentials, k store.UserHostKey) (int64, error) {
	return f.DeleteUserHostFn(ctx, c, k)
}

// fakeDelegationService implements api.DelegationService.
type fakeDelegationService struct {
	CreateDelegationFn func(ctx context.Context, c tms.Credentials, k store.DelegationKey, ttlMinutes int64) (store.Delegation, error)
	GetDelegationFn    func(ctx context.Context, c tms.Credentials, id int64) (store.Delegation, error)
	ListDelegationsFn  func(ctx context.Context, c tms.Credentials) ([]store.Delegation, error)
	UpdateDelegationFn func(ctx context.Context, c tms.Credentials, k store.DelegationKey, ttlMinutes int64) (int64, store.Delegation, error)
	DeleteDelegationFn func(ctx context.Context, c tms.Credentials, k store.DelegationKey) (int64, error)
}

func (f *fakeDelegationService) CreateDelegation(ctx context.Context, c tms.Credentials, k store.DelegationKey, ttlMinutes int64) (store.Delegation, error) {
	return f.CreateDelegationFn(ctx, c, k, ttlMinutes)
}

func (f *fakeDelegationService) GetDelegation(ctx context.Context, c tms.Credentials, id int64) (store.Delegation, error) {
	return f.GetDelegationFn(ctx, c, id)
}

func (f *fakeDelegationService) ListDelegations(ctx context.Context, c tms.Credentials) ([]store.Delegation, error) {
	return f.ListDelegationsFn(ctx, c)
}

func (f *fakeDelegationService) UpdateDelegation(ctx context.Context, c tms.Credentials, k store.DelegationKey, ttlMinutes int64) (int64, store.Delegation, error) {
	return f.UpdateDelegationFn(ctx, c, k, ttlMinutes)
}

func (f *fakeDelegationService) DeleteDelegation(ctx context.Context, c tms.Credentials, k store.DelegationKey) (int64, error) {
	return f.DeleteDelegationFn(ctx, c, k)
}

// fakeHostService implements api.HostService.
type fakeHostService struct {
	CreateHostFn func(ctx context.Context, c tms.Credentials, tenant, host, addr string) (store.Host, error)
	GetHostFn    func(ctx context.Context, c tms.Credentials, id int64) (store.Host, error)
	ListHostsFn  func(ctx context.Context, c tms.Credentials) ([]store.Host, error)
	DeleteHostFn func(ctx context.Context, c tms.Credentials, tenant, host, addr string) (int64, error)
}

func (f *fakeHostService) CreateHost(ctx context.Context, c tms.Credentials, tenant, host, addr string) (store.Host, error) {
	return f.CreateHostFn(ctx, c, tenant, host, addr)
}

func (f *fakeHostService) GetHost(ctx context.Context, c tms.Credentials, id int64) (store.Host, error) {
	return f.GetHostFn(ctx, c, id)
}

func (f *fakeHostService) ListHosts(ctx context.Context, c tms.Credentials) ([]store.Host, error) {
	return f.ListHostsFn(ctx, c)
}

func (f *fakeHostService) DeleteHost(ctx context.Context, c tms.Credentials, tenant, host, addr string) (int64, error) {
	return f.DeleteHostFn(ctx, c, tenant, host, addr)
}

// fakeHostCredentialService implements api.HostCredentialService.
type fakeHostCredentialService struct {
	CreateHostCredentialFn func(ctx context.Context, c tms.Credentials, tenant, host string) (tms.HostSecret, error)
	ListHostCredentialsFn  func(ctx context.Context, c tms.Credentials) ([]store.HostCredential, error)
	DeleteHostCredentialFn func(ctx context.Context, c tms.Credentials, tenant, host string) (int64, error)
}

func (f *fakeHostCredentialService) CreateHostCredential(ctx context.Context, c tms.Credentials, tenant, host string) (tms.HostSecret, error) {
	return f.CreateHostCredentialFn(ctx, c, tenant, host)
}

func (f *fakeHostCredentialService) ListHostCredentials(ctx context.Context, c tms.Credentials) ([]store.HostCredential, error) {
	return f.ListHostCredentialsFn(ctx, c)
}

func (f *fakeHostCredentialService) DeleteHostCredential(ctx context.Context, c tms.Credentials, tenant, host string) (int64, error) {
	return f.DeleteHostCredentialFn(ctx, c, tenant, host)
}

// fakePubkeyService implements api.PubkeyService.
type fakePubkeyService struct {
	CreateKeyFn    func(ctx context.Context, c tms.Credentials, req tms.KeyRequest) (tms.IssuedKey, error)
	RetrieveKeyFn  func(ctx context.Context, req tms.RetrieveRequest) (tms.Retrieval, error)
	GetPubkeyFn    func(ctx context.Context, c tms.Credentials, id int64) (store.Pubkey, error)
	ListPubkeysFn  func(ctx context.Context, c tms.Credentials) ([]store.Pubkey, error)
	UpdatePubkeyFn func(ctx context.Context, c tms.Credentials, ch tms.PubkeyChange) (int64, error)
	DeletePubkeyFn func(ctx context.Context, c tms.Credentials, k store.PubkeyKey) (int64, error)
}

func (f *fakePubkeyService) CreateKey(ctx context.Context, c tms.Credentials, req tms.KeyRequest) (tms.IssuedKey, error) {
	return f.CreateKeyFn(ctx, c, req)
}

func (f *fakePubkeyService) RetrieveKey(ctx context.Context, req tms.RetrieveRequest) (tms.Retrieval, error) {
	return f.RetrieveKeyFn(ctx, req)
}

func (f *fakePubkeyService) GetPubkey(ctx context.Context, c tms.Credentials, id int64) (store.Pubkey, error) {
	return f.GetPubkeyFn(ctx, c, id)
}

func (f *fakePubkeyService) ListPubkeys(ctx context.Context, c tms.Credentials) ([]store.Pubkey, error) {
	return f.ListPubkeysFn(ctx, c)
}

func (f *fakePubkeyService) UpdatePubkey(ctx context.Context, c tms.Credentials, ch tms.PubkeyChange) (int64, error) {
	return f.UpdatePubkeyFn(ctx, c, ch)
}

func (f *fakePubkeyService) DeletePubkey(ctx context.Context, c tms.Credentials, k store.PubkeyKey) (int64, error) {
	return f.DeletePubkeyFn(ctx, c, k)
}

// fakeReservationService implements api.ReservationService.
type fakeReservationService struct {
	CreateReservationFn         func(ctx context.Context, c tms.Credentials, req tms.ReservationRequest) (store.Reservation, error)
	ExtendReservationFn         func(ctx context.Context, c tms.Credentials, req tms.ExtensionRequest) (store.Reservation, error)
	GetReservationFn            func(ctx context.Context, c tms.Credentials, clientID, resID string) (store.Reservation, error)
	DeleteReservationFn         func(ctx context.Context, c tms.Credentials, clientID, resID string) (int64, error)
	DeleteRelatedReservationsFn func(ctx context.Context, c tms.Credentials, clientID, resID string) (int64, error)
}

func (f *fakeReservationService) CreateReservation(ctx context.Context, c tms.Credentials, req tms.ReservationRequest) (store.Reservation, error) {
	return f.CreateReservationFn(ctx, c, req)
}

func (f *fakeReservationService) ExtendReservation(ctx context.Context, c tms.Credentials, req tms.ExtensionRequest) (store.Reservation, error) {
	return f.ExtendReservationFn(ctx, c, req)
}

func (f *fakeReservationService) GetReservation(ctx context.Context, c tms.Credentials, clientID, resID string) (store.Reservation, error) {
	return f.GetReservationFn(ctx, c, clientID, resID)
}

func (f *fakeReservationService) DeleteReservation(ctx context.Context, c tms.Credentials, clientID, resID string) (int64, error) {
	return f.DeleteReservationFn(ctx, c, clientID, resID)
}

func (f *fakeReservationService) DeleteRelatedReservations(ctx context.Context, c tms.Credentials, clientID, resID string) (int64, error) {
	return f.DeleteRelatedReservationsFn(ctx, c, clientID, resID)
}

// fakeUserService implements api.UserService.
type fakeUserService struct {
	CreateUserFn        func(ctx context.Context, c tms.Credentials, req tms.NewUser) (store.User, error)
	GetUserFn           func(ctx context.Context, c tms.Credentials, username string) (store.User, error)
	ListUsersFn         func(ctx context.Context, c tms.Credentials) ([]store.User, error)
	UpdateUserFn        func(ctx context.Context, c tms.Credentials, ch tms.UserChange) (int64, error)
	DeleteUserFn        func(ctx context.Context, c tms.Credentials, username string) (int64, error)
	ProvisionTOTPFn     func(ctx context.Context, c tms.Credentials, username string) (tms.TOTPProvision, error)
	CreateOAuthClientFn func(ctx context.Context, c tms.Credentials, req tms.NewOAuthClient) (store.OAuthClient, error)
	ListOAuthClientsFn  func(ctx context.Context, c tms.Credentials) ([]store.OAuthClient, error)
}

func (f *fakeUserService) CreateUser(ctx context.Context, c tms.Credentials, req tms.NewUser) (store.User, error) {
	return f.CreateUserFn(ctx, c, req)
}

func (f *fakeUserService) GetUser(ctx context.Context, c tms.Credentials, username string) (store.User, error) {
	return f.GetUserFn(ctx, c, username)
}

func (f *fakeUserService) ListUsers(ctx context.Context, c tms.Credentials) ([]store.User, error) {
	return f.ListUsersFn(ctx, c)
}

func (f *fakeUserService) UpdateUser(ctx context.Context, c tms.Credentials, ch tms.UserChange) (int64, error) {
	return f.UpdateUserFn(ctx, c, ch)
}

func (f *fakeUserService) DeleteUser(ctx context.Context, c tms.Credentials, username string) (int64, error) {
	return f.DeleteUserFn(ctx, c, username)
}

func (f *fakeUserService) ProvisionTOTP(ctx context.Context, c tms.Credentials, username string) (tms.TOTPProvision, error) {
	return f.ProvisionTOTPFn(ctx, c, username)
}

func (f *fakeUserService) CreateOAuthClient(ctx context.Context, c tms.Credentials, req tms.NewOAuthClient) (store.OAuthClient, error) {
	return f.CreateOAuthClientFn(ctx, c, req)
}

func (f *fakeUserService) ListOAuthClients(ctx context.Context, c tms.Credentials) ([]store.OAuthClient, error) {
	return f.ListOAuthClientsFn(ctx, c)
}

// fakeSelfService implements api.SelfService.
type fakeSelfService struct {
	AuthenticateBearerFn   func(ctx context.Context, token string) (tms.UserPrincipal, error)
	MeFn                   func(ctx context.Context, p tms.UserPrincipal) (store.UserMFA, error)
	CreateUserKeyFn        func(ctx context.Context, p tms.UserPrincipal, req tms.UserKeyRequest) (tms.IssuedKey, error)
	ListUserKeysFn         func(ctx context.Context, p tms.UserPrincipal) ([]store.Pubkey, error)
	DeleteUserKeyFn        func(ctx context.Context, p tms.UserPrincipal, host, fingerprint string) (int64, error)
	ListUserDelegationsFn  func(ctx context.Context, p tms.UserPrincipal) ([]store.Delegation, error)
	RevokeUserDelegationFn func(ctx context.Context, p tms.UserPrincipal, clientID string) (tms.Revocation, error)
}

func (f *fakeSelfService) AuthenticateBearer(ctx context.Context, token string) (tms.UserPrincipal, error) {
	return f.AuthenticateBearerFn(ctx, token)
}

func (f *fakeSelfService) Me(ctx context.Context, p tms.UserPrincipal) (store.UserMFA, error) {
	return f.MeFn(ctx, p)
}

func (f *fakeSelfService) CreateUserKey(ctx context.Context, p tms.UserPrincipal, req tms.UserKeyRequest) (tms.IssuedKey, error) {
	return f.CreateUserKeyFn(ctx, p, req)
}

func (f *fakeSelfService) ListUserKeys(ctx context.Context, p tms.UserPrincipal) ([]store.Pubkey, error) {
	return f.ListUserKeysFn(ctx, p)
}

func (f *fakeSelfService) DeleteUserKey(ctx context.Context, p tms.UserPrincipal, host, fingerprint string) (int64, error) {
	return f.DeleteUserKeyFn(ctx, p, host, fingerprint)
}

func (f *fakeSelfService) ListUserDelegations(ctx context.Context, p tms.UserPrincipal) ([]store.Delegation, error) {
	return f.ListUserDelegationsFn(ctx, p)
}

func (f *fakeSelfService) RevokeUserDelegation(ctx context.Context, p tms.UserPrincipal, clientID string) (tms.Revocation, error) {
	return f.RevokeUserDelegationFn(ctx, p, clientID)
}

// fakeAuditService implements api.AuditService.
type fakeAuditService struct {
	ListAuditFn func(ctx context.Context, c tms.Credentials, q store.AuditQuery, noTenant bool) ([]store.AuditEvent, error)
}

func (f *fakeAuditService) ListAudit(ctx context.Context, c tms.Credentials, q store.AuditQuery, noTenant bool) ([]store.AuditEvent, error) {
	return f.ListAuditFn(ctx, c, q, noTenant)
}

var _ api.TenantService = (*fakeTenantService)(nil)
var _ api.ClientService = (*fakeClientService)(nil)
var _ api.UserMFAService = (*fakeUserMFAService)(nil)
var _ api.UserHostService = (*fakeUserHostService)(nil)
var _ api.DelegationService = (*fakeDelegationService)(nil)
var _ api.HostService = (*fakeHostService)(nil)
var _ api.HostCredentialService = (*fakeHostCredentialService)(nil)
var _ api.PubkeyService = (*fakePubkeyService)(nil)
var _ api.ReservationService = (*fakeReservationService)(nil)
var _ api.UserService = (*fakeUserService)(nil)
var _ api.SelfService = (*fakeSelfService)(nil)
var _ api.AuditService = (*fakeAuditService)(nil)

// newFakeStack starts the API over svc instead of the rules and a store,
// for tests of what the handlers themselves do: routing, decoding,
// encoding and error mapping. Only URL and the HTTP client of the stack
// are set.
func newFakeStack(t *testing.T, svc *fakeService) *stack {
	t.Helper()
	srv := httptest.NewServer(api.New(api.Options{Service: svc}).Handler())
	t.Cleanup(srv.Close)
	s := &stack{URL: srv.URL, client: srv.Client(), adminSecrets: map[string]string{}}
	s.client.Timeout = 30 * time.Second
	return s
}
