// Package readcache is an exact in-memory cache for a store's hottest
// reads. Entries are tagged with the generation they were read under; the
// store bumps the generation whenever something that may change a cached
// answer is committed (by this process or, through a change feed, by
// another), and an entry is used only while its generation is current.
//
// The protocol that keeps it exact: read the generation with Begin BEFORE
// querying the database, then Put the answer with that generation. A write
// that commits meanwhile bumps the generation after its commit, so an
// answer read before the commit can never be served after it.
//
// A cached "not found" goes stale when the record is inserted, so the
// answers that a record does not exist — a host without credentials, an
// unknown tenant, client or administrator — may be cached only because
// the stores invalidate on inserting those records too.
package readcache

import (
	"sync"
	"sync/atomic"
)

// Generation is the invalidation counter shared by a store's caches.
type Generation struct {
	n       atomic.Uint64
	enabled atomic.Bool
}

// NewGeneration returns a counter with caching enabled.
func NewGeneration() *Generation {
	g := &Generation{}
	g.enabled.Store(true)
	return g
}

// Invalidate makes every cached entry stale.
func (g *Generation) Invalidate() { g.n.Add(1) }

// SetEnabled turns caching on or off (off while the store cannot learn of
// changes, such as when a change feed is disconnected). Turning it on or
// off also invalidates.
func (g *Generation) SetEnabled(on bool) {
	g.enabled.Store(on)
	g.n.Add(1)
}

// Begin returns the generation to tag an answer read from now on, and
// whether caching is enabled at all.
func (g *Generation) Begin() (uint64, bool) {
	if !g.enabled.Load() {
		return 0, false
	}
	return g.n.Load(), true
}

// Cache maps keys to answers tagged with a generation.
type Cache[K comparable, V any] struct {
	gen     *Generation
	mu      sync.RWMutex
	m       map[K]entry[V]
	maxSize int
	hits    atomic.Int64
	misses  atomic.Int64
}

type entry[V any] struct {
	gen uint64
	val V
}

// New returns a cache bounded to maxSize entries (when full it is
// emptied), invalidated by gen.
func New[K comparable, V any](gen *Generation, maxSize int) *Cache[K, V] {
	return &Cache[K, V]{gen: gen, m: make(map[K]entry[V]), maxSize: maxSize}
}

// Get returns the cached answer for k if it is current.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	v, ok := c.peek(k)
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return v, ok
}

// peek is Get without counting a hit or a miss.
func (c *Cache[K, V]) peek(k K) (V, bool) {
	if g, on := c.gen.Begin(); on {
		c.mu.RLock()
		e, ok := c.m[k]
		c.mu.RUnlock()
		if ok && e.gen == g {
			return e.val, true
		}
	}
	var zero V
	return zero, false
}

// Put caches v for k, tagged with gen from Generation.Begin (called before
// the read that produced v). It does nothing when caching was disabled.
func (c *Cache[K, V]) Put(k K, gen uint64, on bool, v V) {
	if !on {
		return
	}
	c.mu.Lock()
	if len(c.m) >= c.maxSize {
		clear(c.m)
	}
	c.m[k] = entry[V]{gen: gen, val: v}
	c.mu.Unlock()
}

// Stats returns the number of hits and misses so far.
func (c *Cache[K, V]) Stats() (hits, misses int64) { return c.hits.Load(), c.misses.Load() }
