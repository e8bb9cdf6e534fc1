// Package tms holds the rules of the Trust Manager System: who may do what
// (authorization), key issuance and its dependency checks, the checks a key
// must pass at retrieval, MVP provisioning, and expiry arithmetic. It sits
// between the HTTP layer, which only decodes and encodes, and the store,
// which only keeps records.
package tms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tmsproject/tms/internal/keys"
	"github.com/tmsproject/tms/internal/store"
)

// Options configure a Service.
type Options struct {
	Store store.Store
	Keys  *keys.Generator
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MVP provisions missing key dependencies at key creation.
	MVP bool
	// DisallowNewClients refuses client registration.
	DisallowNewClients bool
	// OAuth configures users' sign-in and the device authorization grant.
	OAuth OAuthOptions
	// PermissiveRetrieval accepts any stored key at retrieval, as
	// tms_server 0.3.0 does.
	PermissiveRetrieval bool
	// RepeatWindow is how long repeated lookups of a key count as one use.
	RepeatWindow time.Duration
	// RequireHostCredential makes key retrieval demand a valid host
	// credential for the host it asks about.
	RequireHostCredential bool
	// UnregisteredHosts says what retrieval answers for a host no tenant
	// has registered; the zero value refuses.
	UnregisteredHosts UnregisteredHosts
	// Directories are the tenants' directories (LDAP), at most one per
	// tenant; the sign-in page of such a tenant checks passwords there.
	Directories []TenantDirectory
	Logger      *slog.Logger
}

// Service implements the TMS rules over a store.
type Service struct {
	store  store.Store
	keys   *keys.Generator
	clock  func() time.Time
	opts   Options
	logger *slog.Logger
	// accounts holds the state of users' sign-in and the device flow.
	accounts *accounts
}

// New returns a Service.
func New(opts Options) *Service {
	s := &Service{store: opts.Store, keys: opts.Keys, clock: opts.Now, opts: opts, logger: opts.Logger,
		accounts: newAccounts(opts.OAuth)}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	return s
}

// now returns the current time at store precision.
func (s *Service) now() time.Time { return store.Micro(s.clock()) }

// Kind classifies an Error; the HTTP layer maps it to a status code.
type Kind int

// The kinds of error the service returns.
const (
	KindInvalid      Kind = iota + 1 // 400: the request is malformed
	KindUnauthorized                 // 401: credentials missing or wrong
	KindForbidden                    // 403: authenticated but not allowed, or a dependency fails
	KindNotFound                     // 404
	KindConflict                     // 409: the record exists, or others depend on it
	KindUnavailable                  // 503: the database or a worker pool is too busy or down
	KindInternal                     // 500
)

// Error is an error with a kind and a message that is safe to show the
// caller. The wrapped cause is for logs only.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func newError(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// ErrorKind returns the kind of err, KindInternal for errors that are not
// an *Error.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// notFound is the 0.3.0 message for a missing record.
const notFound = "NOT_FOUND"

// storeError converts a store error into an *Error. what names the
// operation for conflict messages.
func storeError(err error, what string) error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return err
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &Error{Kind: KindUnavailable, Message: "The database is busy or unavailable; retry shortly.", Err: err}
	case errors.Is(err, store.ErrNotFound):
		return &Error{Kind: KindNotFound, Message: notFound, Err: err}
	case errors.Is(err, store.ErrConflict):
		return &Error{Kind: KindConflict, Message: what + ": a record with the same identity already exists.", Err: err}
	case errors.Is(err, store.ErrInUse):
		return &Error{Kind: KindConflict, Message: what + ": other records still depend on it.", Err: err}
	case errors.Is(err, store.ErrMissingParent):
		return &Error{Kind: KindNotFound, Message: what + ": a record it refers to does not exist.", Err: err}
	}
	return &Error{Kind: KindInternal, Message: "Internal error.", Err: err}
}
