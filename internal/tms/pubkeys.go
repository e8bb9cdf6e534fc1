package tms

import (
	"context"
	"errors"
	"fmt"

	"github.com/tmsproject/tms/internal/keys"
	"github.com/tmsproject/tms/internal/store"
)

// KeyRequest asks for a new key pair for a user's account on a host.
type KeyRequest struct {
	ClientUserID string
	Host         string
	HostAccount  string
	// NumUses and TTLMinutes limit the key; zero or negative means no limit.
	NumUses    int64
	TTLMinutes int64
	// KeyType is "ed25519" (also for ""), "ecdsa" or "rsa".
	KeyType string
}

// IssuedKey is a new key pair and the stored record of its public half.
type IssuedKey struct {
	Pair keys.KeyPair
	Key  store.Pubkey
}

// CreateKey issues a key pair for a user on behalf of the calling client.
func (s *Service) CreateKey(ctx context.Context, c Credentials, req KeyRequest) (IssuedKey, error) {
	if err := checkTexts("client_user_id", req.ClientUserID, "host", req.Host, "host_account", req.HostAccount); err != nil {
		return IssuedKey{}, err
	}
	kt, err := keys.ParseType(req.KeyType)
	if err != nil {
		return IssuedKey{}, &Error{Kind: KindInvalid, Message: "key_type: " + err.Error()}
	}
	p, err := s.authKey(ctx, c, "create keys")
	if err != nil {
		return IssuedKey{}, err
	}
	return s.issueKey(ctx, p.Tenant, p.ID, req, kt, s.opts.MVP)
}

// issueKey generates a key and stores it in one transaction with the check
// of the key-validity rule, provisioning dependencies first when provision
// is set.
func (s *Service) issueKey(ctx context.Context, tenant, clientID string, req KeyRequest, kt keys.Type, provision bool) (IssuedKey, error) {
	if kt == keys.RSA && !provision {
		// RSA generation is expensive: refuse a doomed request before it.
		deps, err := s.store.Dependencies(ctx, tenant, clientID, req.ClientUserID, req.Host, req.HostAccount)
		if err != nil {
			return IssuedKey{}, storeError(err, "check key dependencies")
		}
		ks := store.KeyState{Deps: deps, Key: store.Pubkey{MaxUses: store.MaxCount, ExpiresAt: store.Never}}
		if r := creationRule.refusal(ks, s.now()); r != "" {
			return IssuedKey{}, refusalError(r, ks, tenant, clientID, req)
		}
	}
	pair, err := s.keys.Generate(ctx, kt)
	if errors.Is(err, keys.ErrBusy) {
		return IssuedKey{}, &Error{Kind: KindUnavailable, Err: err,
			Message: fmt.Sprintf("Key generation is at capacity (%s keys); retry shortly.", kt)}
	}
	if err != nil {
		return IssuedKey{}, storeError(err, "generate key")
	}
	now := s.now()
	k := store.Pubkey{
		Tenant: tenant, ClientID: clientID, ClientUserID: req.ClientUserID, Host: req.Host, HostAccount: req.HostAccount,
		Fingerprint: pair.Fingerprint, PublicKey: pair.PublicKey, KeyType: string(pair.Type), KeyBits: int32(pair.Bits),
		MaxUses: store.MaxCount, RemainingUses: store.MaxCount, InitialTTLMinutes: store.MaxCount, ExpiresAt: store.Never,
		Created: now, Updated: now,
	}
	if req.NumUses > 0 {
		k.MaxUses = int32(min(req.NumUses, store.MaxCount))
		k.RemainingUses = k.MaxUses
	}
	if req.TTLMinutes > 0 {
		k.InitialTTLMinutes = int32(min(req.TTLMinutes, store.MaxCount))
		k.ExpiresAt = addMinutes(now, req.TTLMinutes)
	}
	stored, err := s.store.CreatePubkey(ctx, k, provision, func(deps store.Dependencies) error {
		ks := store.KeyState{Key: k, Deps: deps}
		if r := creationRule.refusal(ks, now); r != "" {
			return refusalError(r, ks, tenant, clientID, req)
		}
		return nil
	})
	if RefusalOf(err) != "" {
		return IssuedKey{}, err
	}
	if err != nil {
		return IssuedKey{}, storeError(err, "store key")
	}
	return IssuedKey{Pair: pair, Key: stored}, nil
}

// refusalError turns a refusal of the key-validity rule into a 403 that
// names the record at fault and how to put it right.
func refusalError(r Refusal, ks store.KeyState, tenant, clientID string, req KeyRequest) error {
	u, h, a := req.ClientUserID, req.Host, req.HostAccount
	d := ks.Deps
	var msg string
	switch r {
	case RefusedTenantDisabled:
		msg = fmt.Sprintf("Tenant %s is disabled. An administrator enables it with PATCH /v1/tms/tenants/upd.", tenant)
	case RefusedClientDisabled:
		msg = fmt.Sprintf("Client %s in tenant %s is disabled. An administrator enables it with PATCH /v1/tms/client/upd/%s.", clientID, tenant, clientID)
	case RefusedNoMFA:
		msg = fmt.Sprintf("Required user MFA record not found for user ID %s in tenant %s. "+
			"An administrator creates it with POST /v1/tms/usermfa (tms usermfa create --user %s), "+
			"or the user signs in with tms login.", u, tenant, u)
	case RefusedMFADisabled:
		msg = fmt.Sprintf("Required user MFA record for user ID %s in tenant %s is disabled. "+
			"An administrator enables it with PATCH /v1/tms/usermfa/upd (tms usermfa update --user %s --enabled=true).", u, tenant, u)
	case RefusedMFAExpired:
		msg = fmt.Sprintf("Required user MFA record for user ID '%s' in tenant %s expired at %s. "+
			"The user renews it by signing in with tms login, or an administrator re-creates it "+
			"(tms usermfa delete --user %s, then tms usermfa create --user %s; deleting it also deletes the user's keys).",
			u, tenant, fmtTime(d.UserMFA.ExpiresAt), u, u)
	case RefusedNoHostMapping:
		msg = fmt.Sprintf("Required user host record not found for user %s@%s with account %s on host %s. "+
			"An administrator creates it with POST /v1/tms/userhosts (tms userhosts create --user %s --host %s --account %s).",
			u, tenant, a, h, u, h, a)
	case RefusedHostMappingExpired:
		msg = fmt.Sprintf("Required user host record for user %s@%s with account %s on host %s expired at %s. "+
			"An administrator extends it with PATCH /v1/tms/userhosts/upd (tms userhosts update --user %s --host %s --account %s --ttl-minutes N).",
			u, tenant, a, h, fmtTime(d.UserHost.ExpiresAt), u, h, a)
	case RefusedNoDelegation:
		msg = fmt.Sprintf("Required delegation record not found for client %s and client_user_id %s in tenant %s. "+
			"An administrator creates it with POST /v1/tms/delegations (tms delegations create --client %s --user %s), "+
			"or the user approves the client when signing in with tms login.", clientID, u, tenant, clientID, u)
	case RefusedDelegationExpired:
		msg = fmt.Sprintf("Required delegation record for client %s and client_user_id %s in tenant %s expired at %s. "+
			"An administrator extends it with PATCH /v1/tms/delegations/upd (tms delegations update --client %s --user %s --ttl-minutes N).",
			clientID, u, tenant, fmtTime(d.Delegation.ExpiresAt), clientID, u)
	case RefusedKeyExpired:
		return &Error{Kind: KindForbidden, Err: refusedError{r}, Message: fmt.Sprintf("ERROR: FORBIDDEN - The pubkey of client %s@%s on host %s with fingerprint %s expired at %s.",
			clientID, tenant, h, ks.Key.Fingerprint, fmtTime(ks.Key.ExpiresAt))}
	default:
		return &Error{Kind: KindForbidden, Err: refusedError{r}, Message: fmt.Sprintf("ERROR: FORBIDDEN - The pubkey of client %s@%s on host %s with fingerprint %s has no remaining uses.",
			clientID, tenant, h, ks.Key.Fingerprint)}
	}
	return &Error{Kind: KindForbidden, Message: "Missing or expired dependency: " + msg, Err: refusedError{r}}
}

// RetrieveRequest is sshd's question: which key may log in as User on Host
// with this fingerprint?
type RetrieveRequest struct {
	User        string
	UserUID     string
	Host        string
	Fingerprint string
	KeyType     string
	// HostID and HostSecret are the host credential the login host sent
	// (X-TMS-HOST-ID, X-TMS-HOST-SECRET); they are checked only when the
	// service requires host credentials.
	HostID     string
	HostSecret string
}

// refusedMessage is the answer to a refused or unknown key: the same for
// every reason, so that it tells an attacker nothing.
const refusedMessage = notFound

// Retrieval is the outcome of a key lookup.
type Retrieval struct {
	PublicKey string
	// Key is the stored key, when one matched.
	Key store.Pubkey
	// Refusal is empty when the key is accepted.
	Refusal Refusal
	// Use tells whether a use was counted (limited keys only).
	Use store.UseResult
}

// RetrieveKey answers sshd's lookup. Only keys of the tenants the host is
// registered in are accepted (see scopeHost). It needs no credentials
// unless the service requires host credentials: then a request without a
// valid credential for its host is a 401, and a key of a tenant the
// credential is not valid in is refused; neither consumes a use. An unknown or refused key
// is a 404 that says nothing about why; the Retrieval returned with it
// carries the reason for logs.
func (s *Service) RetrieveKey(ctx context.Context, req RetrieveRequest) (Retrieval, error) {
	if err := checkTexts("user", req.User, "host", req.Host, "public_key_fingerprint", req.Fingerprint); err != nil {
		return Retrieval{}, err
	}
	scope, refusal, err := s.scopeHost(ctx, req)
	if err != nil {
		return Retrieval{Refusal: refusal}, err
	}
	ks, err := s.store.LookupKey(ctx, req.Host, req.Fingerprint, req.User)
	if errors.Is(err, store.ErrNotFound) {
		return Retrieval{Refusal: RefusedNotFound}, newError(KindNotFound, refusedMessage)
	}
	if err != nil {
		return Retrieval{}, storeError(err, "look up key")
	}
	r := Retrieval{PublicKey: ks.Key.PublicKey, Key: ks.Key}
	rule := keyRule{scope: scope, permissive: s.opts.PermissiveRetrieval, repeatWindow: s.opts.RepeatWindow}
	now := s.now()
	r.Refusal = rule.refusal(ks, now)
	if r.Refusal == "" && !ks.Key.Unlimited() && !rule.permissive {
		r.Use, err = s.store.UseKey(ctx, ks.Key.ID, now, s.opts.RepeatWindow)
		switch {
		case errors.Is(err, store.ErrNotFound):
			r.Refusal = RefusedNotFound
		case err != nil:
			return Retrieval{}, storeError(err, "count key use")
		default:
			r.Refusal = useRefusal(r.Use)
		}
	}
	if r.Refusal != "" {
		return r, newError(KindNotFound, refusedMessage)
	}
	return r, nil
}

// GetPubkey returns a key record by id; a client sees only its own keys.
func (s *Service) GetPubkey(ctx context.Context, c Credentials, id int64) (store.Pubkey, error) {
	p, err := s.authHeader(ctx, c, allowEither, "get keys")
	if err != nil {
		return store.Pubkey{}, err
	}
	k, err := s.store.GetPubkey(ctx, c.Tenant, id, p.onlyClient())
	return k, storeError(err, "get key")
}

// ListPubkeys lists key records; a client sees only its own keys.
func (s *Service) ListPubkeys(ctx context.Context, c Credentials) ([]store.Pubkey, error) {
	p, err := s.authHeader(ctx, c, allowEither, "list keys")
	if err != nil {
		return nil, err
	}
	list, err := s.store.ListPubkeys(ctx, c.Tenant, p.onlyClient())
	return list, storeError(err, "list keys")
}

// PubkeyChange changes the limits of an issued key; nil fields stay.
type PubkeyChange struct {
	Key store.PubkeyKey
	// MaxUses sets the use limit; values above 2^31-1 mean unlimited.
	MaxUses *int64
	// TTLMinutes makes the key expire that many minutes from now (0: now).
	TTLMinutes *int64
}

// UpdatePubkey changes a key's limits and returns the number of fields
// changed. A missing key is a 404.
func (s *Service) UpdatePubkey(ctx context.Context, c Credentials, ch PubkeyChange) (int64, error) {
	k := ch.Key
	if err := checkTexts("client_id", k.ClientID, "tenant", k.Tenant, "host", k.Host, "public_key_fingerprint", k.Fingerprint); err != nil {
		return 0, err
	}
	if ch.MaxUses != nil && *ch.MaxUses < 0 {
		return 0, newError(KindInvalid, "max_uses: must not be negative")
	}
	if ch.TTLMinutes != nil && *ch.TTLMinutes < 0 {
		return 0, newError(KindInvalid, "ttl_minutes: must not be negative")
	}
	if _, err := s.authKeyRecord(ctx, c, k.ClientID, k.Tenant, "update keys", true); err != nil {
		return 0, err
	}
	if ch.MaxUses == nil && ch.TTLMinutes == nil {
		return 0, nil
	}
	now := s.now()
	var upd store.PubkeyUpdate
	if ch.MaxUses != nil {
		v := int32(min(*ch.MaxUses, store.MaxCount))
		upd.MaxUses = &v
	}
	if ch.TTLMinutes != nil {
		exp := addMinutes(now, min(*ch.TTLMinutes, store.MaxCount))
		upd.ExpiresAt = &exp
	}
	n, err := s.store.UpdatePubkey(ctx, k, upd, now)
	return n, storeError(err, "update key")
}

// DeletePubkey deletes a key and returns the number deleted.
func (s *Service) DeletePubkey(ctx context.Context, c Credentials, k store.PubkeyKey) (int64, error) {
	if err := checkTexts("client_id", k.ClientID, "tenant", k.Tenant, "host", k.Host, "public_key_fingerprint", k.Fingerprint); err != nil {
		return 0, err
	}
	if _, err := s.authKeyRecord(ctx, c, k.ClientID, k.Tenant, "delete keys", false); err != nil {
		return 0, err
	}
	n, err := s.store.DeletePubkey(ctx, k)
	return n, storeError(err, "delete key")
}
