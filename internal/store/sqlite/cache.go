package sqlite

import (
	"slices"
	"strings"
	"unicode"

	"github.com/tmsproject/tms/internal/store/readcache"
)

// The read cache above the store (readcache.Store) keeps the answers of the
// hottest reads (key lookups for sshd and credential checks) in memory. This
// store keeps it exact by publishing its changes: every write transaction
// that updates or deletes a row invalidates the generation after it commits
// and before it is acknowledged, and an entry is used only while the
// generation it was read under is current. Inserts change a cached answer
// only where the cache remembers that a record does not exist: the host
// credentials of a host, and unknown tenants, clients and administrators.
// Commits of other processes are noticed through PRAGMA data_version
// (checkpoint.go).

// changesRows reports whether a statement can change or remove existing
// rows that cached answers depend on, which makes them stale. Statements on
// tables that no cached answer reads, and that no cached table depends on,
// leave the cache alone.
//
// Inserts change no cached answer, except into host_credentials, tenants,
// clients and admin, whose caches also remember what does not exist.
func changesRows(query string) bool {
	verb, rest := nextWord(query)
	switch {
	case strings.EqualFold(verb, "UPDATE"):
	case strings.EqualFold(verb, "DELETE"):
		_, rest = nextWord(rest) // FROM
	case strings.EqualFold(verb, "INSERT"):
		_, rest = nextWord(rest) // INTO
		table, _ := nextWord(rest)
		table, _, _ = strings.Cut(table, "(")
		return slices.ContainsFunc([]string{"host_credentials", "tenants", "clients", "admin"},
			func(t string) bool { return strings.EqualFold(table, t) })
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

// Changes returns the generation this store invalidates after every commit
// that may change a cached answer (readcache.Source).
func (db *DB) Changes() *readcache.Generation { return db.changes }
