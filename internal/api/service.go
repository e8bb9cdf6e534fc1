package api

import (
	"context"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

// Service is everything the handlers need from the rules; *tms.Service
// implements it. Each group of handlers needs only one of the small
// interfaces it is made of, so a handler test can fake just that group.
type Service interface {
	TenantService
	ClientService
	UserMFAService
	UserHostService
	DelegationService
	HostService
	HostCredentialService
	PubkeyService
	ReservationService
	UserService
	SelfService
	AuditService
}

var _ Service = (*tms.Service)(nil)

// TenantService is what the tenant handlers need from the rules.
type TenantService interface {
	CreateTenant(ctx context.Context, c tms.Credentials, name string) (tms.AdminSecret, error)
	GetTenant(ctx context.Context, name string) (store.Tenant, error)
	ListTenants(ctx context.Context, c tms.Credentials) ([]store.Tenant, error)
	UpdateTenant(ctx context.Context, c tms.Credentials, tenant string, enabled bool) (int64, error)
	DeleteTenant(ctx context.Context, c tms.Credentials, tenant string) (int64, error)
	WipeTenant(ctx context.Context, c tms.Credentials, tenant string) (int64, error)
}

// ClientService is what the client handlers need from the rules.
type ClientService interface {
	CreateClient(ctx context.Context, c tms.Credentials, req tms.NewClient) (string, error)
	GetClient(ctx context.Context, c tms.Credentials, clientID string) (store.Client, error)
	ListClients(ctx context.Context, c tms.Credentials) ([]store.Client, error)
	UpdateClient(ctx context.Context, c tms.Credentials, clientID string, upd store.ClientUpdate) (int64, error)
	RotateClientSecret(ctx context.Context, c tms.Credentials, clientID string) (string, error)
	DeleteClient(ctx context.Context, c tms.Credentials, clientID string) (int64, error)
}

// UserMFAService is what the user MFA handlers need from the rules.
type UserMFAService interface {
	CreateUserMFA(ctx context.Context, c tms.Credentials, tenant, user string, ttlMinutes int64) (store.UserMFA, error)
	GetUserMFA(ctx context.Context, c tms.Credentials, user string) (store.UserMFA, error)
	ListUserMFA(ctx context.Context, c tms.Credentials) ([]store.UserMFA, error)
	SetUserMFAEnabled(ctx context.Context, c tms.Credentials, tenant, user string, enabled bool) (int64, error)
	DeleteUserMFA(ctx context.Context, c tms.Credentials, user string) (int64, error)
}

// UserHostService is what the user host mapping handlers need from the rules.
type UserHostService interface {
	CreateUserHost(ctx context.Context, c tms.Credentials, k store.UserHostKey, ttlMinutes int64) (store.UserHost, error)
	GetUserHost(ctx context.Context, c tms.Credentials, id int64) (store.UserHost, error)
	ListUserHosts(ctx context.Context, c tms.Credentials) ([]store.UserHost, error)
	UpdateUserHost(ctx context.Context, c tms.Credentials, k store.UserHostKey, ttlMinutes int64) (int64, store.UserHost, error)
	DeleteUserHost(ctx context.Context, c tms.Credentials, k store.UserHostKey) (int64, error)
}

// DelegationService is what the delegation handlers need from the rules.
type DelegationService interface {
	CreateDelegation(ctx context.Context, c tms.Credentials, k store.DelegationKey, ttlMinutes int64) (store.Delegation, error)
	GetDelegation(ctx context.Context, c tms.Credentials, id int64) (store.Delegation, error)
	ListDelegations(ctx context.Context, c tms.Credentials) ([]store.Delegation, error)
	UpdateDelegation(ctx context.Context, c tms.Credentials, k store.DelegationKey, ttlMinutes int64) (int64, store.Delegation, error)
	DeleteDelegation(ctx context.Context, c tms.Credentials, k store.DelegationKey) (int64, error)
}

// HostService is what the host handlers need from the rules.
type HostService interface {
	CreateHost(ctx context.Context, c tms.Credentials, tenant, host, addr string) (store.Host, error)
	GetHost(ctx context.Context, c tms.Credentials, id int64) (store.Host, error)
	ListHosts(ctx context.Context, c tms.Credentials) ([]store.Host, error)
	DeleteHost(ctx context.Context, c tms.Credentials, tenant, host, addr string) (int64, error)
}

// HostCredentialService is what the host credential handlers need from the rules.
type HostCredentialService interface {
	CreateHostCredential(ctx context.Context, c tms.Credentials, tenant, host string) (tms.HostSecret, error)
	ListHostCredentials(ctx context.Context, c tms.Credentials) ([]store.HostCredential, error)
	DeleteHostCredential(ctx context.Context, c tms.Credentials, tenant, host string) (int64, error)
}

// PubkeyService is what the public key handlers need from the rules.
type PubkeyService interface {
	CreateKey(ctx context.Context, c tms.Credentials, req tms.KeyRequest) (tms.IssuedKey, error)
	RetrieveKey(ctx context.Context, req tms.RetrieveRequest) (tms.Retrieval, error)
	GetPubkey(ctx context.Context, c tms.Credentials, id int64) (store.Pubkey, error)
	ListPubkeys(ctx context.Context, c tms.Credentials) ([]store.Pubkey, error)
	UpdatePubkey(ctx context.Context, c tms.Credentials, ch tms.PubkeyChange) (int64, error)
	DeletePubkey(ctx context.Context, c tms.Credentials, k store.PubkeyKey) (int64, error)
}

// ReservationService is what the reservation handlers need from the rules.
type ReservationService interface {
	CreateReservation(ctx context.Context, c tms.Credentials, req tms.ReservationRequest) (store.Reservation, error)
	ExtendReservation(ctx context.Context, c tms.Credentials, req tms.ExtensionRequest) (store.Reservation, error)
	GetReservation(ctx context.Context, c tms.Credentials, clientID, resID string) (store.Reservation, error)
	DeleteReservation(ctx context.Context, c tms.Credentials, clientID, resID string) (int64, error)
	DeleteRelatedReservations(ctx context.Context, c tms.Credentials, clientID, resID string) (int64, error)
}

// UserService is what the user account and OAuth client handlers need from the rules.
type UserService interface {
	CreateUser(ctx context.Context, c tms.Credentials, req tms.NewUser) (store.User, error)
	GetUser(ctx context.Context, c tms.Credentials, username string) (store.User, error)
	ListUsers(ctx context.Context, c tms.Credentials) ([]store.User, error)
	UpdateUser(ctx context.Context, c tms.Credentials, ch tms.UserChange) (int64, error)
	DeleteUser(ctx context.Context, c tms.Credentials, username string) (int64, error)
	ProvisionTOTP(ctx context.Context, c tms.Credentials, username string) (tms.TOTPProvision, error)
	CreateOAuthClient(ctx context.Context, c tms.Credentials, req tms.NewOAuthClient) (store.OAuthClient, error)
	ListOAuthClients(ctx context.Context, c tms.Credentials) ([]store.OAuthClient, error)
}

// SelfService is what the handlers a signed-in user calls with a bearer token need from the rules.
type SelfService interface {
	AuthenticateBearer(ctx context.Context, token string) (tms.UserPrincipal, error)
	Me(ctx context.Context, p tms.UserPrincipal) (store.UserMFA, error)
	CreateUserKey(ctx context.Context, p tms.UserPrincipal, req tms.UserKeyRequest) (tms.IssuedKey, error)
	ListUserKeys(ctx context.Context, p tms.UserPrincipal) ([]store.Pubkey, error)
	DeleteUserKey(ctx context.Context, p tms.UserPrincipal, host, fingerprint string) (int64, error)
	ListUserDelegations(ctx context.Context, p tms.UserPrincipal) ([]store.Delegation, error)
	RevokeUserDelegation(ctx context.Context, p tms.UserPrincipal, clientID string) (tms.Revocation, error)
}

// AuditService is what the audit log handler need from the rules.
type AuditService interface {
	ListAudit(ctx context.Context, c tms.Credentials, q store.AuditQuery, noTenant bool) ([]store.AuditEvent, error)
}
