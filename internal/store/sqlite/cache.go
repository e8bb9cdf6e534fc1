package sqlite

import (
	"strings"
	"unicode"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/readcache"
)

// readCache keeps the answers of the hottest reads (key lookups for sshd
// and credential checks) in memory. It is exact: every write transaction
// that updates or deletes a row bumps a generation counter after it commits
// and before it is acknowledged, and an entry is used only while the
// generation it was read under is current. Inserts cannot change a cached
// answer, because only records that exist are cached. This is safe because
// this process owns the only writer of the database.
type readCache struct {
	gen   *readcache.Generation
	keys  *readcache.Cache[keyQuery, store.KeyState]
	creds *readcache.Cache[credQuery, store.Credential]
}

type keyQuery struct{ host, fingerprint, account string }

type credQuery struct {
	admin      bool
	tenant, id string
}

func newReadCache(maxSize int) *readCache {
	gen := readcache.NewGeneration()
	return &readCache{
		gen:   gen,
		keys:  readcache.New[keyQuery, store.KeyState](gen, maxSize),
		creds: readcache.New[credQuery, store.Credential](gen, maxSize),
	}
}

// invalidate makes every entry stale.
func (c *readCache) invalidate() { c.gen.Invalidate() }

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
// flow or the audit log. The cached key lookups and credential checks read none of these
// tables, and deleting their rows cascades to none of the tables those read.
func uncachedTable(table string) bool {
	for _, t := range [...]string{"users", "oauth_clients", "device_authorizations", "oauth_tokens", "audit_events"} {
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
	kh, km := db.cache.keys.Stats()
	ch, cm := db.cache.creds.Stats()
	return CacheStats{Hits: kh + ch, Misses: km + cm}
}
