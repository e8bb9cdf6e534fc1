package sqlite

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tmsproject/tms/internal/store"
)

// readCache keeps the answers of the hottest reads (key lookups for sshd
// and credential checks) in memory. It is exact: every write transaction
// that updates or deletes a row bumps a generation counter after it commits
// and before it is acknowledged, and an entry is used only while the
// generation it was read under is current. Inserts cannot change a cached
// answer, because only records that exist are cached. This is safe because
// this process owns the only writer of the database.
type readCache struct {
	gen     atomic.Uint64
	mu      sync.RWMutex
	keys    map[keyQuery]cached[store.KeyState]
	creds   map[credQuery]cached[store.Credential]
	maxSize int
	hits    atomic.Int64
	misses  atomic.Int64
}

type cached[T any] struct {
	gen uint64
	val T
}

type keyQuery struct{ host, fingerprint, account string }

type credQuery struct {
	admin      bool
	tenant, id string
}

func newReadCache(maxSize int) *readCache {
	return &readCache{
		keys:    make(map[keyQuery]cached[store.KeyState]),
		creds:   make(map[credQuery]cached[store.Credential]),
		maxSize: maxSize,
	}
}

// invalidate makes every entry stale.
func (c *readCache) invalidate() { c.gen.Add(1) }

func lookup[K comparable, V any](c *readCache, m map[K]cached[V], k K) (V, uint64, bool) {
	gen := c.gen.Load()
	c.mu.RLock()
	e, ok := m[k]
	c.mu.RUnlock()
	if ok && e.gen == gen {
		c.hits.Add(1)
		return e.val, gen, true
	}
	c.misses.Add(1)
	var zero V
	return zero, gen, false
}

func remember[K comparable, V any](c *readCache, m map[K]cached[V], k K, gen uint64, v V) {
	c.mu.Lock()
	if len(m) >= c.maxSize {
		clear(m)
	}
	m[k] = cached[V]{gen: gen, val: v}
	c.mu.Unlock()
}

// changesRows reports whether a statement can change or remove existing
// rows, which makes cached answers stale.
func changesRows(query string) bool {
	q := strings.TrimSpace(query)
	return len(q) >= 6 && (strings.EqualFold(q[:6], "UPDATE") || strings.EqualFold(q[:6], "DELETE"))
}

// CacheStats reports the read cache's hits and misses.
type CacheStats struct {
	Hits, Misses int64
}

// CacheStats reports how the read cache is doing.
func (db *DB) CacheStats() CacheStats {
	return CacheStats{Hits: db.cache.hits.Load(), Misses: db.cache.misses.Load()}
}
