package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlstore"
)

// recordConn runs the shared records (sqlstore) on SQLite: reads on the
// reader pool, writes in the writer's transactions. Times are stored as
// microseconds since the Unix epoch and booleans as 0 and 1.
type recordConn struct{ db *DB }

func (c recordConn) QueryOne(ctx context.Context, op string, s sqlstore.Stmt, scan func(sqlstore.Row) error) error {
	return c.db.getOne(ctx, op, s.Query, timeScan(scan), args(s.Args)...)
}

func (c recordConn) QueryAll(ctx context.Context, op string, s sqlstore.Stmt, scan func(sqlstore.Row) error) error {
	return c.db.queryRows(ctx, op, s.Query, timeScan(scan), args(s.Args)...)
}

func (c recordConn) Exec(ctx context.Context, op string, onForeignKey error, stmts ...sqlstore.Stmt) ([]int64, error) {
	var counts []int64
	err := c.db.w.do(ctx, func(tx *wtx) error {
		counts = counts[:0]
		for _, s := range stmts {
			n, err := tx.exec(op, s.Query, args(s.Args)...)
			if err != nil {
				return err
			}
			counts = append(counts, n)
		}
		return nil
	})
	if errors.Is(err, store.ErrMissingParent) && !errors.Is(onForeignKey, store.ErrMissingParent) {
		err = fmt.Errorf("%w: %v", onForeignKey, err)
	}
	return counts, err
}

// ValidID: SQLite's row ids are 64-bit.
func (recordConn) ValidID(int64) bool { return true }

// args converts times and booleans to the column types of the schema.
func args(in []any) []any {
	out := make([]any, len(in))
	for i, a := range in {
		switch v := a.(type) {
		case time.Time:
			out[i] = micros(v)
		case bool:
			out[i] = boolInt(v)
		default:
			out[i] = a
		}
	}
	return out
}

// timeScan lets scan read time columns into time.Time.
func timeScan(scan func(sqlstore.Row) error) func(scanner) error {
	return func(s scanner) error { return scan(timeRow{s}) }
}

// timeRow is a row whose Scan fills *time.Time destinations from
// microsecond columns.
type timeRow struct{ r scanner }

func (t timeRow) Scan(dest ...any) error {
	for i, d := range dest {
		if p, ok := d.(*time.Time); ok {
			dest[i] = (*microTime)(p)
		}
	}
	return t.r.Scan(dest...)
}

// microTime scans an integer column of microseconds since the Unix epoch.
type microTime time.Time

// Scan implements sql.Scanner.
func (m *microTime) Scan(src any) error {
	v, ok := src.(int64)
	if !ok {
		return fmt.Errorf("time column holds %T, want microseconds", src)
	}
	*m = microTime(fromMicros(v))
	return nil
}
