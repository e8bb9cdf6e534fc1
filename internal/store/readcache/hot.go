package readcache

import "github.com/tmsproject/tms/internal/store"

// KeyQuery identifies a key lookup for sshd.
type KeyQuery struct{ Host, Fingerprint, Account string }

// CredQuery identifies a credential check of a client or an administrator.
type CredQuery struct {
	Admin      bool
	Tenant, ID string
}

// Hot holds a store's caches of its hottest reads, key lookups for sshd
// and credential checks, invalidated by one generation.
type Hot struct {
	Gen   *Generation
	Keys  *Cache[KeyQuery, store.KeyState]
	Creds *Cache[CredQuery, store.Credential]
	// Hosts maps a host to its host credentials. Unlike the others it also
	// caches "none", so creating a host credential must invalidate too.
	Hosts *Cache[string, []store.HostCredential]
}

// NewHot returns empty caches of at most maxSize entries each.
func NewHot(maxSize int) *Hot {
	gen := NewGeneration()
	return &Hot{
		Gen:   gen,
		Keys:  New[KeyQuery, store.KeyState](gen, maxSize),
		Creds: New[CredQuery, store.Credential](gen, maxSize),
		Hosts: New[string, []store.HostCredential](gen, maxSize),
	}
}

// Stats returns the hits and misses of the caches together.
func (h *Hot) Stats() (hits, misses int64) {
	kh, km := h.Keys.Stats()
	ch, cm := h.Creds.Stats()
	hh, hm := h.Hosts.Stats()
	return kh + ch + hh, km + cm + hm
}
