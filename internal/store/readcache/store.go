package readcache

import (
	"context"

	"github.com/tmsproject/tms/internal/store"
)

// Source is a store that publishes its changes: after every commit that
// may change a cached answer it invalidates the generation Changes
// returns, and it disables that generation while it cannot learn of
// changes (such as while a change feed is disconnected).
type Source interface {
	store.Store
	Changes() *Generation
}

// KeyQuery identifies a key lookup for sshd.
type KeyQuery struct{ Host, Fingerprint, Account string }

// CredQuery identifies a credential check of a client or an administrator.
type CredQuery struct {
	Admin      bool
	Tenant, ID string
}

// Store is a store.Store that answers the hottest reads — key lookups for
// sshd, credential checks of clients and administrators, and the host
// credentials of a host — from memory, and passes everything else to the
// store below it, whose change events keep the cache exact.
type Store struct {
	Source
	gen   *Generation
	keys  *Cache[KeyQuery, store.KeyState]
	creds *Cache[CredQuery, store.Credential]
	// hosts also caches hosts that have no credential, so the source must
	// invalidate on creating a host credential.
	hosts *Cache[string, []store.HostCredential]
}

var _ store.Store = (*Store)(nil)

// Wrap returns src with its hottest reads cached, in caches of at most
// maxSize entries each.
func Wrap(src Source, maxSize int) *Store {
	gen := src.Changes()
	return &Store{
		Source: src,
		gen:    gen,
		keys:   New[KeyQuery, store.KeyState](gen, maxSize),
		creds:  New[CredQuery, store.Credential](gen, maxSize),
		hosts:  New[string, []store.HostCredential](gen, maxSize),
	}
}

// Backend returns the store below the cache.
func (s *Store) Backend() Source { return s.Source }

// cached answers a read from c, or reads it with read and caches the
// answer when keep says it may be.
func cached[K comparable, V any](c *Cache[K, V], gen *Generation, k K, read func() (V, error), keep func(V) bool) (V, error) {
	if v, ok := c.Get(k); ok {
		return v, nil
	}
	g, on := gen.Begin()
	v, err := read()
	if err == nil && keep(v) {
		c.Put(k, g, on, v)
	}
	return v, err
}

func always[V any](V) bool { return true }

// LookupKey implements store.PubkeyStore.
func (s *Store) LookupKey(ctx context.Context, host, fingerprint, hostAccount string) (store.KeyState, error) {
	return cached(s.keys, s.gen, KeyQuery{host, fingerprint, hostAccount}, func() (store.KeyState, error) {
		return s.Source.LookupKey(ctx, host, fingerprint, hostAccount)
	}, always)
}

// credentialKnown tells whether a credential answer may be cached: only
// answers about credentials that exist, since creating one need not
// invalidate.
func credentialKnown(c store.Credential) bool { return c.Found }

// ClientCredential implements store.CredentialStore.
func (s *Store) ClientCredential(ctx context.Context, tenant, clientID string) (store.Credential, error) {
	return cached(s.creds, s.gen, CredQuery{Tenant: tenant, ID: clientID}, func() (store.Credential, error) {
		return s.Source.ClientCredential(ctx, tenant, clientID)
	}, credentialKnown)
}

// AdminCredential implements store.CredentialStore.
func (s *Store) AdminCredential(ctx context.Context, tenant, adminUser string) (store.Credential, error) {
	return cached(s.creds, s.gen, CredQuery{Admin: true, Tenant: tenant, ID: adminUser}, func() (store.Credential, error) {
		return s.Source.AdminCredential(ctx, tenant, adminUser)
	}, credentialKnown)
}

// HostCredentialsFor implements store.HostCredentialStore.
func (s *Store) HostCredentialsFor(ctx context.Context, host string) ([]store.HostCredential, error) {
	return cached(s.hosts, s.gen, host, func() ([]store.HostCredential, error) {
		return s.Source.HostCredentialsFor(ctx, host)
	}, always)
}

// Stats says how the cache is doing.
type Stats struct {
	Hits, Misses int64
	// Enabled is false while the source cannot learn of changes, and
	// nothing is cached.
	Enabled bool
}

// Stats reports the hits and misses of the caches together.
func (s *Store) Stats() Stats {
	kh, km := s.keys.Stats()
	ch, cm := s.creds.Stats()
	hh, hm := s.hosts.Stats()
	_, on := s.gen.Begin()
	return Stats{Hits: kh + ch + hh, Misses: km + cm + hm, Enabled: on}
}
