package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlstore"
)

// recordConn runs the shared records (sqlstore) on PostgreSQL. Several
// statements go in one batch, which runs as one transaction.
type recordConn struct{ db *DB }

func (c recordConn) QueryOne(ctx context.Context, op string, s sqlstore.Stmt, scan func(sqlstore.Row) error) error {
	return c.db.queryOne(ctx, op, numbered(s.Query), scan, args(s.Args)...)
}

func (c recordConn) QueryAll(ctx context.Context, op string, s sqlstore.Stmt, scan func(sqlstore.Row) error) error {
	return c.db.queryAll(ctx, op, numbered(s.Query), scan, args(s.Args)...)
}

func (c recordConn) Exec(ctx context.Context, op string, onForeignKey error, stmts ...sqlstore.Stmt) ([]int64, error) {
	if len(stmts) == 1 {
		n, err := c.db.execFK(ctx, op, onForeignKey, numbered(stmts[0].Query), args(stmts[0].Args)...)
		return []int64{n}, err
	}
	var counts []int64
	err := c.db.run(ctx, op, onForeignKey, func(ctx context.Context, conn *pgx.Conn) (err error) {
		counts, err = execBatch(ctx, conn, batch(stmts))
		return err
	})
	return counts, err
}

func (recordConn) ValidID(id int64) bool { return validID(id) }

// batch queues statements of the shared records.
func batch(stmts []sqlstore.Stmt) *pgx.Batch {
	b := &pgx.Batch{}
	for _, s := range stmts {
		b.Queue(numbered(s.Query), args(s.Args)...)
	}
	return b
}

// numbered turns the ? placeholders of a shared statement into $1, $2, …
func numbered(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := range len(query) {
		if query[i] != '?' {
			b.WriteByte(query[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// args stores times with the microsecond precision of the timestamptz
// columns, in UTC.
func args(in []any) []any {
	out := make([]any, len(in))
	for i, a := range in {
		if t, ok := a.(time.Time); ok {
			a = store.Micro(t)
		}
		out[i] = a
	}
	return out
}
