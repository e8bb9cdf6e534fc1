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
	// missing holds the answers about clients, administrators and tenants
	// that do not exist, so that an unknown id costs what a known one does
	// (no database read) and tells no one which ids exist. It is a cache
	// of its own, so a flood of made-up ids empties it and not creds. The
	// source must invalidate on creating a tenant, client or administrator.
	missing *Cache[CredQuery, store.Credential]
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
		Source:  src,
		gen:     gen,
		keys:    New[KeyQuery, store.KeyState](gen, maxSize),
		creds:   New[CredQuery, store.Credential](gen, maxSize),
		missing: New[CredQuery, store.Credential](gen, maxSize),
		hosts:   New[string, []store.HostCredential](gen, maxSize),
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

// credential answers a credential check from creds or missing, or reads
// it and caches the answer in the one it belongs to.
func (s *Store) credential(q CredQuery, read func() (store.Credential, error)) (store.Credential, error) {
	if c, ok := s.creds.peek(q); ok {
		s.creds.hits.Add(1)
		return c, nil
	}
	if c, ok := s.missing.peek(q); ok {
		s.creds.hits.Add(1)
		return c, nil
	}
	s.creds.misses.Add(1)
	g, on := s.gen.Begin()
	c, err := read()
	switch {
	case err != nil:
	case c.Found:
		s.creds.Put(q, g, on, c)
	default:
		s.missing.Put(q, g, on, c)
	}
	return c, err
}

// ClientCredential implements store.CredentialStore.
func (s *Store) ClientCredential(ctx context.Context, tenant, clientID string) (store.Credential, error) {
	return s.credential(CredQuery{Tenant: tenant, ID: clientID}, func() (store.Credential, error) {
		return s.Source.ClientCredential(ctx, tenant, clientID)
	})
}

// AdminCredential implements store.CredentialStore.
func (s *Store) AdminCredential(ctx context.Context, tenant, adminUser string) (store.Credential, error) {
	return s.credential(CredQuery{Admin: true, Tenant: tenant, ID: adminUser}, func() (store.Credential, error) {
		return s.Source.AdminCredential(ctx, tenant, adminUser)
	})
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
