package client

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// KeyRequest asks for a new key pair for a user's account on a host.
type KeyRequest struct {
	// User is the client's user (client_user_id).
	User string
	Host string
	// Account is the login account on the host (host_account).
	Account string
	// NumUses limits the logins; 0 or less means unlimited.
	NumUses int64
	// TTLMinutes limits the lifetime; 0 or less means the key never expires.
	TTLMinutes int64
	// KeyType is "ed25519" (also when empty), "ecdsa" or "rsa".
	KeyType string
}

// IssuedKey answers CreateKey. The counts are decimal strings on the wire;
// Bits and Uses parse them.
type IssuedKey struct {
	Envelope
	PrivateKey    string    `json:"private_key"`
	PublicKey     string    `json:"public_key"`
	Fingerprint   string    `json:"public_key_fingerprint"`
	KeyType       string    `json:"key_type"`
	KeyBits       string    `json:"key_bits"`
	MaxUses       string    `json:"max_uses"`
	RemainingUses string    `json:"remaining_uses"`
	ExpiresAt     time.Time `json:"expires_at"`
}

// Bits returns the key size.
func (k IssuedKey) Bits() (int64, error) { return parseCount("key_bits", k.KeyBits) }

// Uses returns the use limit and the uses left; a limit of Unlimited means
// none.
func (k IssuedKey) Uses() (maxUses, remaining int64, err error) {
	if maxUses, err = parseCount("max_uses", k.MaxUses); err != nil {
		return 0, 0, err
	}
	remaining, err = parseCount("remaining_uses", k.RemainingUses)
	return maxUses, remaining, err
}

// Pubkey is a stored public key with its limits.
type Pubkey struct {
	Envelope
	ID                int64     `json:"id"`
	Tenant            string    `json:"tenant"`
	ClientID          string    `json:"client_id"`
	ClientUserID      string    `json:"client_user_id"`
	Host              string    `json:"host"`
	HostAccount       string    `json:"host_account"`
	Fingerprint       string    `json:"public_key_fingerprint"`
	PublicKey         string    `json:"public_key"`
	KeyType           string    `json:"key_type"`
	KeyBits           int64     `json:"key_bits"`
	MaxUses           int64     `json:"max_uses"`
	RemainingUses     int64     `json:"remaining_uses"`
	InitialTTLMinutes int64     `json:"initial_ttl_minutes"`
	ExpiresAt         time.Time `json:"expires_at"`
	Created           time.Time `json:"created"`
	Updated           time.Time `json:"updated"`
}

// PubkeyList answers ListPubkeys.
type PubkeyList struct {
	Envelope
	NumPubkeys int      `json:"num_pubkeys"`
	Pubkeys    []Pubkey `json:"pubkeys"`
}

// PubkeyRef names a stored key: the client that created it, the host and
// the fingerprint.
type PubkeyRef struct {
	ClientID    string
	Host        string
	Fingerprint string
}

// PubkeyChange changes a key's limits; nil fields stay. Both must be
// between 0 and 4294967295; a TTL of 0 expires the key now.
type PubkeyChange struct {
	MaxUses    *int64
	TTLMinutes *int64
}

// RetrieveRequest is sshd's question: which key may log in as Account on
// Host with this fingerprint?
type RetrieveRequest struct {
	Account     string
	UID         string
	Host        string
	Fingerprint string
	KeyType     string
}

// RetrievedKey answers RetrieveKey.
type RetrievedKey struct {
	Envelope
	PublicKey string `json:"public_key"`
}

// CreateKey creates a key pair for a user (POST /v1/tms/pubkeys/creds). It
// needs client credentials.
func (c *Client) CreateKey(ctx context.Context, req KeyRequest) (IssuedKey, error) {
	body := struct {
		ClientUserID string `json:"client_user_id"`
		Host         string `json:"host"`
		HostAccount  string `json:"host_account"`
		NumUses      int64  `json:"num_uses"`
		TTLMinutes   int64  `json:"ttl_minutes"`
		KeyType      string `json:"key_type,omitempty"`
	}{req.User, req.Host, req.Account, req.NumUses, req.TTLMinutes, req.KeyType}
	return call[IssuedKey](ctx, c, http.MethodPost, "/v1/tms/pubkeys/creds", nil, body)
}

// RetrieveKey asks which public key may log in, as sshd's helper does
// (POST /v1/tms/pubkeys/creds/retrieve). It needs no credentials; a key
// that is unknown or refused is a 404 *Error.
func (c *Client) RetrieveKey(ctx context.Context, req RetrieveRequest) (RetrievedKey, error) {
	body := struct {
		User        string `json:"user"`
		UserUID     string `json:"user_uid,omitempty"`
		Host        string `json:"host"`
		Fingerprint string `json:"public_key_fingerprint"`
		KeyType     string `json:"key_type,omitempty"`
	}{req.Account, req.UID, req.Host, req.Fingerprint, req.KeyType}
	return call[RetrievedKey](ctx, c, http.MethodPost, "/v1/tms/pubkeys/creds/retrieve", nil, body)
}

// GetPubkey returns a key by its id (GET /v1/tms/pubkeys/id/{seqno}); a
// client sees only its own keys.
func (c *Client) GetPubkey(ctx context.Context, id int64) (Pubkey, error) {
	return call[Pubkey](ctx, c, http.MethodGet, "/v1/tms/pubkeys/id/"+strconv.FormatInt(id, 10), nil, nil)
}

// ListPubkeys lists keys (GET /v1/tms/pubkeys/list); a client sees only
// its own keys, an administrator every key of the tenant.
func (c *Client) ListPubkeys(ctx context.Context) (PubkeyList, error) {
	return call[PubkeyList](ctx, c, http.MethodGet, "/v1/tms/pubkeys/list", nil, nil)
}

type pubkeyBody struct {
	ClientID    string `json:"client_id"`
	Tenant      string `json:"tenant"`
	Host        string `json:"host"`
	Fingerprint string `json:"public_key_fingerprint"`
	MaxUses     *int64 `json:"max_uses,omitempty"`
	TTLMinutes  *int64 `json:"ttl_minutes,omitempty"`
}

// UpdatePubkey changes a key's use limit or expiry (PATCH /v1/tms/pubkeys).
func (c *Client) UpdatePubkey(ctx context.Context, ref PubkeyRef, ch PubkeyChange) (Updated, error) {
	body := pubkeyBody{ref.ClientID, c.Creds.Tenant, ref.Host, ref.Fingerprint, ch.MaxUses, ch.TTLMinutes}
	return call[Updated](ctx, c, http.MethodPatch, "/v1/tms/pubkeys", nil, body)
}

// DeletePubkey deletes a key and its reservations (DELETE /v1/tms/pubkeys/del).
func (c *Client) DeletePubkey(ctx context.Context, ref PubkeyRef) (Deleted, error) {
	body := pubkeyBody{ClientID: ref.ClientID, Tenant: c.Creds.Tenant, Host: ref.Host, Fingerprint: ref.Fingerprint}
	return call[Deleted](ctx, c, http.MethodDelete, "/v1/tms/pubkeys/del", nil, body)
}
