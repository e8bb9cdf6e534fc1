package tms

import (
	"context"
	"errors"

	"github.com/tmsproject/tms/internal/keys"
	"github.com/tmsproject/tms/internal/store"
)

// Me returns the user's MFA record and the delegation to the token's
// client.
func (s *Service) Me(ctx context.Context, p UserPrincipal) (store.UserMFA, error) {
	m, err := s.store.GetUserMFA(ctx, p.Tenant, p.Username)
	if errors.Is(err, store.ErrNotFound) {
		return store.UserMFA{}, nil
	}
	return m, storeError(err, "get user MFA record")
}

// ListUserKeys returns the keys issued for the user by any client.
func (s *Service) ListUserKeys(ctx context.Context, p UserPrincipal) ([]store.Pubkey, error) {
	list, err := s.store.ListPubkeysForUser(ctx, p.Tenant, p.Username)
	return list, storeError(err, "list keys")
}

// UserKeyRequest asks for a key pair for the signed-in user's account on a
// host.
type UserKeyRequest struct {
	Host        string
	HostAccount string
	// NumUses and TTLMinutes limit the key; zero or negative means no limit.
	NumUses    int64
	TTLMinutes int64
	// KeyType is "ed25519" (also for ""), "ecdsa" or "rsa".
	KeyType string
}

// CreateUserKey issues a key pair for the signed-in user on a host and
// account the user is mapped to. The token's client is the delegate, so the
// key passes the same dependency checks as one a client asks for: the
// user's MFA record, the host mapping and the delegation must hold. Missing
// records are never created here, whatever the MVP setting.
func (s *Service) CreateUserKey(ctx context.Context, p UserPrincipal, req UserKeyRequest) (IssuedKey, error) {
	if err := checkTexts("host", req.Host, "host_account", req.HostAccount); err != nil {
		return IssuedKey{}, err
	}
	kt, err := keys.ParseType(req.KeyType)
	if err != nil {
		return IssuedKey{}, &Error{Kind: KindInvalid, Message: "key_type: " + err.Error()}
	}
	return s.issueKey(ctx, p.Tenant, p.ClientID, KeyRequest{ClientUserID: p.Username, Host: req.Host, HostAccount: req.HostAccount,
		NumUses: req.NumUses, TTLMinutes: req.TTLMinutes, KeyType: req.KeyType}, kt, false)
}

// DeleteUserKey deletes one of the user's keys, whichever client issued it,
// and returns the number deleted. A key that is not the user's is a 404.
func (s *Service) DeleteUserKey(ctx context.Context, p UserPrincipal, host, fingerprint string) (int64, error) {
	if err := checkTexts("host", host, "fingerprint", fingerprint); err != nil {
		return 0, err
	}
	n, err := s.store.DeletePubkeyForUser(ctx, p.Tenant, p.Username, host, fingerprint)
	if err != nil {
		return 0, storeError(err, "delete key")
	}
	if n == 0 {
		return 0, newError(KindNotFound, "%s: you have no key %s on host %s", notFound, fingerprint, host)
	}
	return n, nil
}

// ListUserDelegations returns the user's delegations to clients.
func (s *Service) ListUserDelegations(ctx context.Context, p UserPrincipal) ([]store.Delegation, error) {
	list, err := s.store.ListDelegationsForUser(ctx, p.Tenant, p.Username)
	return list, storeError(err, "list delegations")
}

// Revocation is what revoking a delegation ended.
type Revocation struct {
	// Keys counts the keys issued through the delegation, which were
	// deleted with it.
	Keys int
	// Tokens counts the user's tokens for the client that were revoked.
	Tokens int64
}

// RevokeUserDelegation deletes the user's delegation to a client, with the
// keys issued through it, and revokes the user's tokens for that client:
// from then on the client can neither obtain keys for the user nor use the
// keys it obtained. Revoking the token's own client ends this login too.
func (s *Service) RevokeUserDelegation(ctx context.Context, p UserPrincipal, clientID string) (Revocation, error) {
	if err := checkText("client_id", clientID); err != nil {
		return Revocation{}, err
	}
	keys, err := s.store.ListPubkeysForUser(ctx, p.Tenant, p.Username)
	if err != nil {
		return Revocation{}, storeError(err, "list keys")
	}
	var rev Revocation
	for _, k := range keys {
		if k.ClientID == clientID {
			rev.Keys++
		}
	}
	// The store deletes the keys that depend on the delegation with it.
	n, err := s.store.DeleteDelegation(ctx, store.DelegationKey{Tenant: p.Tenant, ClientID: clientID, ClientUserID: p.Username})
	if err != nil {
		return Revocation{}, storeError(err, "delete delegation")
	}
	if rev.Tokens, err = s.store.RevokeUserTokens(ctx, p.Tenant, clientID, p.Username, s.now()); err != nil {
		return Revocation{}, storeError(err, "revoke tokens")
	}
	if n == 0 {
		return Revocation{Tokens: rev.Tokens}, newError(KindNotFound, "%s: you have no delegation to client %s", notFound, clientID)
	}
	return rev, nil
}
