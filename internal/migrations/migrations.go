// Package migrations embeds the SQL schema migrations of every storage
// dialect. Backends apply them in version order at start, each in its own
// transaction, and record the applied versions in tms_schema_migrations.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// Migration is one schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Dialect names a directory of migrations.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Load returns the dialect's migrations in version order. File names have
// the form NNNN_name.sql.
func Load(d Dialect) ([]Migration, error) {
	entries, err := fs.ReadDir(files, string(d))
	if err != nil {
		return nil, fmt.Errorf("read %s migrations: %w", d, err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		version, convErr := strconv.Atoi(num)
		if !ok || convErr != nil || version <= 0 {
			return nil, fmt.Errorf("migration file %s/%s: name must be NNNN_name.sql", d, name)
		}
		body, err := fs.ReadFile(files, path.Join(string(d), name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s/%s: %w", d, name, err)
		}
		out = append(out, Migration{Version: version, Name: rest, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("%s migrations: version %d appears twice", d, out[i].Version)
		}
	}
	return out, nil
}

// Pending returns the migrations of all whose versions are not in applied,
// in version order. A version in applied that all does not know means the
// database was migrated by a newer tms, which this one must not touch.
func Pending(all []Migration, applied []int) ([]Migration, error) {
	known := make(map[int]bool, len(all))
	for _, m := range all {
		known[m.Version] = true
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		if !known[v] {
			return nil, fmt.Errorf("the database has schema migration %d, which this tms does not know: upgrade tms", v)
		}
		done[v] = true
	}
	var out []Migration
	for _, m := range all {
		if !done[m.Version] {
			out = append(out, m)
		}
	}
	return out, nil
}
