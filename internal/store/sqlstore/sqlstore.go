// Package sqlstore holds the records whose SQL is the same on SQLite and
// PostgreSQL: tenants and their credentials, clients, hosts, host
// credentials, user MFA, user hosts and delegations. Both backends embed
// Records and run it through a Conn of their own, which binds arguments the
// backend's way, maps driver errors to the store's errors and keeps the read
// cache exact. What differs between the two databases (the key path, the
// device flow, users, the audit log, initialisation) stays in the backends.
//
// Statements use ? placeholders, numbered in order by the backend that needs
// numbers. Arguments and scan destinations are plain Go values: a Conn turns
// time.Time and bool into its column types and back.
package sqlstore

import (
	"context"
	"fmt"

	"github.com/tmsproject/tms/internal/store"
)

// Row is one result row.
type Row interface {
	Scan(dest ...any) error
}

// Stmt is one statement with its arguments.
type Stmt struct {
	Query string
	Args  []any
}

// Conn runs the statements of Records on one backend.
type Conn interface {
	// QueryOne runs a query for one row and calls scan with it; no row is
	// store.ErrNotFound.
	QueryOne(ctx context.Context, op string, s Stmt, scan func(Row) error) error
	// QueryAll runs a query and calls scan for every row.
	QueryAll(ctx context.Context, op string, s Stmt, scan func(Row) error) error
	// Exec runs the statements in one transaction and returns the number of
	// rows each changed. A foreign-key failure is reported as onForeignKey:
	// store.ErrMissingParent for inserts and updates, store.ErrInUse for
	// deletes.
	Exec(ctx context.Context, op string, onForeignKey error, stmts ...Stmt) ([]int64, error)
	// ValidID reports whether the schema can hold id, so that a record may
	// have it.
	ValidID(id int64) bool
}

// Records implements the stores named in the package comment over a Conn.
// The zero value is not usable; use New.
type Records struct {
	c Conn
}

// New returns the records of the database that c runs statements on.
func New(c Conn) Records { return Records{c: c} }

// Collect returns a scan function for Conn.QueryAll that appends each row,
// read by scan, to out.
func Collect[T any](out *[]T, scan func(Row, *T) error) func(Row) error {
	return func(r Row) error {
		var v T
		if err := scan(r, &v); err != nil {
			return err
		}
		*out = append(*out, v)
		return nil
	}
}

// q makes a statement.
func q(query string, args ...any) Stmt { return Stmt{Query: query, Args: args} }

// write runs one insert or update and returns the rows it changed.
func (r Records) write(ctx context.Context, op string, s Stmt) (int64, error) {
	n, err := r.c.Exec(ctx, op, store.ErrMissingParent, s)
	return total(n), err
}

// remove runs deletes in one transaction and returns the rows they deleted;
// rows that still reference a deleted one make it fail with store.ErrInUse.
func (r Records) remove(ctx context.Context, op string, stmts ...Stmt) (int64, error) {
	n, err := r.c.Exec(ctx, op, store.ErrInUse, stmts...)
	return total(n), err
}

// get reads one record by the id the schema gave it.
func get[T any](ctx context.Context, r Records, op string, id int64, s Stmt, scan func(Row, *T) error) (T, error) {
	var v T
	if !r.c.ValidID(id) {
		return v, fmt.Errorf("%s: id %d: %w", op, id, store.ErrNotFound)
	}
	err := r.c.QueryOne(ctx, op, s, func(row Row) error { return scan(row, &v) })
	return v, err
}

// one reads one record.
func one[T any](ctx context.Context, r Records, op string, s Stmt, scan func(Row, *T) error) (T, error) {
	var v T
	err := r.c.QueryOne(ctx, op, s, func(row Row) error { return scan(row, &v) })
	return v, err
}

// all reads a list of records; an empty list is not nil.
func all[T any](ctx context.Context, r Records, op string, s Stmt, scan func(Row, *T) error) ([]T, error) {
	out := []T{}
	if err := r.c.QueryAll(ctx, op, s, Collect(&out, scan)); err != nil {
		return nil, err
	}
	return out, nil
}

func total(counts []int64) int64 {
	var n int64
	for _, c := range counts {
		n += c
	}
	return n
}
