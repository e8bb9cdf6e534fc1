// Package store defines the storage contract of TMS: the records it keeps,
// the Store interface every backend implements, and the errors backends map
// their driver errors onto. It contains no SQL dialect.
//
// Every implementation must guarantee:
//   - each method is atomic: a multi-row change happens in one transaction
//     and leaves no partial rows behind when it fails;
//   - times are stored with microsecond precision and returned in UTC;
//   - a context that ends makes the call return promptly with an error;
//   - a database that is unreachable, too busy or out of connections yields
//     an error that matches ErrUnavailable, never a silent wait.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors shared by every backend. Backends wrap them with context; callers
// test with errors.Is.
var (
	// ErrNotFound means the record asked for does not exist.
	ErrNotFound = errors.New("record not found")
	// ErrConflict means a uniqueness rule rejected the change.
	ErrConflict = errors.New("record already exists")
	// ErrMissingParent means a record the change refers to does not exist.
	ErrMissingParent = errors.New("referenced record does not exist")
	// ErrInUse means the record cannot be deleted while others depend on it.
	ErrInUse = errors.New("record is still referenced")
	// ErrFull means the change would pass a bound on the number of records,
	// such as the live device authorizations of a tenant.
	ErrFull = errors.New("too many records")
	// ErrUnavailable means the database could not serve the call now: it is
	// unreachable, out of connections, or its write queue is full.
	ErrUnavailable = errors.New("database unavailable")
)

// Never is the expiry stored for records that do not expire.
var Never = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// MaxCount is the largest use count or minute count a record can hold; a
// key whose max_uses is MaxCount has no use limit.
const MaxCount = 2147483647

// Store is the storage contract of TMS. See the package documentation for the
// guarantees every implementation gives.
type Store interface {
	TenantStore
	CredentialStore
	ClientStore
	UserMFAStore
	UserHostStore
	DelegationStore
	HostStore
	HostCredentialStore
	PubkeyStore
	ReservationStore
	UserStore
	OAuthClientStore
	DeviceStore
	AuditStore

	// Ping reports whether the database answers and its schema is current.
	Ping(ctx context.Context) error
	// Close waits for pending writes to finish and releases every resource.
	Close() error
}

// Seed is a set of records inserted together in one transaction.
type Seed struct {
	Tenants []Tenant
	Admins  []Admin
	Clients []Client
	// OAuthClients are inserted after Clients, each with its clients row.
	OAuthClients []OAuthClient
	UserMFA      []UserMFA
	UserHosts    []UserHost
	Delegations  []Delegation
}

// Micro truncates t to the precision the stores keep and converts it to UTC.
func Micro(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}
