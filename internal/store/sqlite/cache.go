package sqlite

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

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
// rows that cached answers depend on, which makes them stale. Statements on
// tables that no cached answer reads, and that no cached table depends on,
// leave the cache alone.
func changesRows(query string) bool {
	verb, rest := nextWord(query)
	switch {
	case strings.EqualFold(verb, "UPDATE"):
	case strings.EqualFold(verb, "DELETE"):
		_, rest = nextWord(rest) // FROM
	default:
		return false
	}
	table, _ := nextWord(rest)
	return !uncachedTable(table)
}

// nextWord splits s into its first whitespace-separated word and the rest.
func nextWord(s string) (word, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// uncachedTable reports whether table belongs to the sign-in and device
// flow. The cached key lookups and credential checks read none of these
// tables, and deleting their rows cascades to none of the tables those read.
func uncachedTable(table string) bool {
	for _, t := range [...]string{"users", "oauth_clients", "device_authorizations", "oauth_tokens"} {
		if strings.EqualFold(table, t) {
			return true
		}
	}
	return false
}

// CacheStats reports the read cache's hits and misses.
type CacheStats struct {
	Hits, Misses int64
}

// CacheStats reports how the read cache is doing.
func (db *DB) CacheStats() CacheStats {
	return CacheStats{Hits: db.cache.hits.Load(), Misses: db.cache.misses.Load()}
}
