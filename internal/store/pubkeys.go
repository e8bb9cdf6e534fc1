package store

import (
	"context"
	"time"
)

// Pubkey is an issued SSH public key and the limits on its use. The private
// half is never stored.
type Pubkey struct {
	ID                int64
	Tenant            string
	ClientID          string
	ClientUserID      string
	Host              string
	HostAccount       string
	Fingerprint       string
	PublicKey         string
	KeyType           string
	KeyBits           int32
	MaxUses           int32
	RemainingUses     int32
	InitialTTLMinutes int32
	ExpiresAt         time.Time
	Created           time.Time
	Updated           time.Time
}

// Unlimited reports whether the key has no use limit.
func (k Pubkey) Unlimited() bool { return k.MaxUses >= MaxCount }

// PubkeyKey identifies a key from the issuing client's side.
type PubkeyKey struct {
	Tenant      string
	ClientID    string
	Host        string
	Fingerprint string
}

// PubkeyUpdate lists the key limits to change; nil fields stay as they are.
type PubkeyUpdate struct {
	// MaxUses sets max_uses; remaining uses become MaxUses minus the uses
	// already consumed, never below zero.
	MaxUses *int32
	// ExpiresAt sets the expiry.
	ExpiresAt *time.Time
}

// Dependencies is the state of the records a key for (tenant, client,
// user, host, account) depends on, read together. A missing user MFA
// record, host mapping or delegation has a zero ID; a missing tenant or
// client reads as disabled. The store only reads these records: whether
// they allow a key is decided by the caller (see KeyCheck).
type Dependencies struct {
	TenantEnabled bool
	ClientEnabled bool
	UserMFA       UserMFA
	UserHost      UserHost
	Delegation    Delegation
}

// Missing reports whether a record that provisioning creates is missing.
func (d Dependencies) Missing() bool {
	return d.UserMFA.ID == 0 || d.UserHost.ID == 0 || d.Delegation.ID == 0
}

// KeyCheck decides, from the dependencies read in the transaction that
// would store a key, whether the key may be stored. A non-nil error refuses
// the key; CreatePubkey then changes nothing and returns that error as it
// is.
type KeyCheck func(Dependencies) error

// KeyState is a key found by retrieval together with everything that decides
// whether it may be used now.
type KeyState struct {
	Key  Pubkey
	Deps Dependencies
	// LastUsedAt is when a use was last counted; zero if never.
	LastUsedAt time.Time
}

// UseResult is the outcome of counting one use of a limited key.
type UseResult struct {
	// Counted is true when a use was consumed.
	Counted bool
	// Repeated is true when no use was consumed because one was counted
	// within the repeat window.
	Repeated bool
	// RemainingUses is the number of uses left afterwards.
	RemainingUses int32
}

// PubkeyStore keeps issued keys.
type PubkeyStore interface {
	// CreatePubkey stores the key in one write transaction that reads the
	// key's dependencies, provisions them when provision is set and one is
	// missing (the user MFA record, delegation and host mapping, in that
	// order, enabled and never expiring; existing ones are left as they
	// are) and reads them again, calls check with them, and inserts the key
	// only if check returns nil. The dependencies stay as read until the
	// transaction ends, so no concurrent change slips between the check and
	// the insert. A refusal by check is returned unchanged and changes
	// nothing; a nil check accepts every key. A duplicate (fingerprint,
	// host) returns ErrConflict. The stored key is returned.
	CreatePubkey(ctx context.Context, k Pubkey, provision bool, check KeyCheck) (Pubkey, error)
	// Dependencies returns the records a key for the given client, user,
	// host and account depends on.
	Dependencies(ctx context.Context, tenant, clientID, clientUserID, host, hostAccount string) (Dependencies, error)
	// GetPubkey returns ErrNotFound when no key has that id in the tenant or,
	// with a non-empty onlyClientID, when it belongs to another client.
	GetPubkey(ctx context.Context, tenant string, id int64, onlyClientID string) (Pubkey, error)
	// FindPubkey returns ErrNotFound when the key does not exist.
	FindPubkey(ctx context.Context, key PubkeyKey) (Pubkey, error)
	// ListPubkeys returns the tenant's keys ordered by user, host and account;
	// a non-empty onlyClientID restricts it to that client's keys.
	ListPubkeys(ctx context.Context, tenant, onlyClientID string) ([]Pubkey, error)
	// UpdatePubkey changes the key's limits in one statement per field and
	// returns the number of fields changed, or ErrNotFound.
	UpdatePubkey(ctx context.Context, key PubkeyKey, upd PubkeyUpdate, now time.Time) (int64, error)
	// DeletePubkey deletes the key with its reservations and returns the
	// number of keys deleted.
	DeletePubkey(ctx context.Context, key PubkeyKey) (int64, error)
	// LookupKey finds the key with this host, fingerprint and host account in
	// any tenant, with the state of everything it depends on (a missing
	// dependency reads as in Dependencies). It returns ErrNotFound when no
	// such key exists. Its RemainingUses and LastUsedAt
	// may lag behind UseKey, which alone decides whether a use is left.
	LookupKey(ctx context.Context, host, fingerprint, hostAccount string) (KeyState, error)
	// UseKey counts one use of the key with this id at now. When a use was
	// counted less than window before now, it counts nothing and reports
	// Repeated; when no uses are left it counts nothing and reports neither.
	// The check and the decrement are one atomic step, so concurrent callers
	// never consume more uses than the key has. It returns ErrNotFound when
	// the key no longer exists.
	UseKey(ctx context.Context, id int64, now time.Time, window time.Duration) (UseResult, error)
}

// UseCutoff returns the time after which a counted use makes a new lookup a
// repeat: now minus window, or Never (nothing is a repeat) when window is
// not positive.
func UseCutoff(now time.Time, window time.Duration) time.Time {
	if window <= 0 {
		return Never
	}
	return now.Add(-window)
}

// Reservation is a client's bookkeeping record that a key is reserved for a
// user until a time.
type Reservation struct {
	ID           int64
	ResID        string
	ParentResID  string
	Tenant       string
	ClientID     string
	ClientUserID string
	Host         string
	Fingerprint  string
	ExpiresAt    time.Time
	Created      time.Time
	Updated      time.Time
}

// ReservationStore keeps reservations.
type ReservationStore interface {
	// CreateReservation returns ErrMissingParent when the key, client or user
	// it refers to no longer exists.
	CreateReservation(ctx context.Context, r Reservation) error
	// GetReservation returns ErrNotFound when the tenant has no reservation
	// with that id.
	GetReservation(ctx context.Context, tenant, resID string) (Reservation, error)
	// DeleteReservation deletes the client's reservation with that id and
	// returns the number deleted.
	DeleteReservation(ctx context.Context, tenant, clientID, resID string) (int64, error)
	// DeleteRelatedReservations deletes the client's reservation with that id
	// and every reservation whose parent it is, and returns the number deleted.
	DeleteRelatedReservations(ctx context.Context, tenant, clientID, resID string) (int64, error)
}
