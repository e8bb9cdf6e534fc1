package store

import (
	"context"
	"fmt"
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

// Dependency names a record a key depends on.
type Dependency int

// The records a key depends on, in the order they are checked.
const (
	DependencyUserMFA Dependency = iota + 1
	DependencyUserHost
	DependencyDelegation
)

// Problem says what is wrong with a dependency.
type Problem int

// The ways a dependency can fail.
const (
	ProblemMissing Problem = iota + 1
	ProblemDisabled
	ProblemExpired
)

// DependencyError reports the first dependency of a key that is missing,
// disabled or expired.
type DependencyError struct {
	Dependency Dependency
	Problem    Problem
	// ExpiredAt is set when Problem is ProblemExpired.
	ExpiredAt time.Time
}

func (e *DependencyError) Error() string {
	names := map[Dependency]string{DependencyUserMFA: "user MFA record", DependencyUserHost: "user host record", DependencyDelegation: "delegation"}
	switch e.Problem {
	case ProblemDisabled:
		return fmt.Sprintf("%s is disabled", names[e.Dependency])
	case ProblemExpired:
		return fmt.Sprintf("%s expired at %s", names[e.Dependency], e.ExpiredAt.Format(time.RFC3339))
	default:
		return fmt.Sprintf("%s not found", names[e.Dependency])
	}
}

// Dependencies is the state of the records a key for (tenant, client, user,
// host, account) depends on. A missing record has a zero ID.
type Dependencies struct {
	UserMFA    UserMFA
	UserHost   UserHost
	Delegation Delegation
}

// Check returns a *DependencyError for the first dependency that is missing,
// disabled or expired at now, checking user MFA, then the host mapping, then
// the delegation; it returns nil when all hold.
func (d Dependencies) Check(now time.Time) error {
	switch {
	case d.UserMFA.ID == 0:
		return &DependencyError{Dependency: DependencyUserMFA, Problem: ProblemMissing}
	case !d.UserMFA.Enabled:
		return &DependencyError{Dependency: DependencyUserMFA, Problem: ProblemDisabled}
	case d.UserMFA.ExpiresAt.Before(now):
		return &DependencyError{Dependency: DependencyUserMFA, Problem: ProblemExpired, ExpiredAt: d.UserMFA.ExpiresAt}
	case d.UserHost.ID == 0:
		return &DependencyError{Dependency: DependencyUserHost, Problem: ProblemMissing}
	case d.UserHost.ExpiresAt.Before(now):
		return &DependencyError{Dependency: DependencyUserHost, Problem: ProblemExpired, ExpiredAt: d.UserHost.ExpiresAt}
	case d.Delegation.ID == 0:
		return &DependencyError{Dependency: DependencyDelegation, Problem: ProblemMissing}
	case d.Delegation.ExpiresAt.Before(now):
		return &DependencyError{Dependency: DependencyDelegation, Problem: ProblemExpired, ExpiredAt: d.Delegation.ExpiresAt}
	}
	return nil
}

// KeyState is a key found by retrieval together with everything that decides
// whether it may be used now.
type KeyState struct {
	Key                 Pubkey
	TenantEnabled       bool
	ClientEnabled       bool
	UserMFAEnabled      bool
	UserMFAExpiresAt    time.Time
	UserHostExpiresAt   time.Time
	DelegationExpiresAt time.Time
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
	// CreatePubkey inserts the key in one transaction with its dependency
	// check. With provision set, missing user MFA, delegation and host
	// mapping records are first created (enabled, never expiring) in that
	// order; existing ones are left as they are. A failed check returns a
	// *DependencyError and changes nothing. A duplicate (fingerprint, host)
	// returns ErrConflict. The stored key is returned.
	CreatePubkey(ctx context.Context, k Pubkey, provision bool) (Pubkey, error)
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
	// any tenant, with the state of everything it depends on. It returns
	// ErrNotFound when no such key exists. Its RemainingUses and LastUsedAt
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
