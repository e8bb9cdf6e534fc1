// Package postgres implements store.Store on PostgreSQL with pgx, for
// deployments where several TMS servers share one database. It caches no
// data. Every call takes a pooled connection within a short acquire timeout,
// every statement runs under a server-side statement_timeout, and a busy or
// unreachable database yields store.ErrUnavailable instead of a wait.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"runtime"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tmsproject/tms/internal/migrations"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/readcache"
	"github.com/tmsproject/tms/internal/store/sqlstore"
)

// Options configure a PostgreSQL store. Zero values take the defaults. The
// options override the pool_* and statement_timeout parameters of URL.
type Options struct {
	// URL is the connection string, as a URL
	// (postgres://user@host:port/db?sslmode=disable) or in key=value form.
	URL string
	// MaxConns is the largest number of open connections (default 4×CPUs,
	// at least 8).
	MaxConns int32
	// MinConns is the number of connections kept open while idle (default 0).
	MinConns int32
	// AcquireTimeout is how long a call waits for a free connection before it
	// fails with store.ErrUnavailable (default 2s).
	AcquireTimeout time.Duration
	// StatementTimeout bounds each statement on the server, as the
	// statement_timeout runtime parameter (default 5s).
	StatementTimeout time.Duration
	// Logger receives operational messages (default: discard).
	Logger *slog.Logger
}

// withDefaults checks the options and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.URL == "":
		return o, errors.New("postgres option URL: must not be empty")
	case o.MaxConns < 0:
		return o, fmt.Errorf("postgres option MaxConns: must not be negative, got %d", o.MaxConns)
	case o.MinConns < 0:
		return o, fmt.Errorf("postgres option MinConns: must not be negative, got %d", o.MinConns)
	case o.AcquireTimeout < 0:
		return o, fmt.Errorf("postgres option AcquireTimeout: must not be negative, got %v", o.AcquireTimeout)
	case o.StatementTimeout < 0:
		return o, fmt.Errorf("postgres option StatementTimeout: must not be negative, got %v", o.StatementTimeout)
	case o.StatementTimeout > 0 && o.StatementTimeout < time.Millisecond:
		return o, fmt.Errorf("postgres option StatementTimeout: must be at least 1ms, got %v", o.StatementTimeout)
	}
	if o.MaxConns == 0 {
		o.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	if o.MinConns > o.MaxConns {
		return o, fmt.Errorf("postgres option MinConns: %d is more than MaxConns (%d)", o.MinConns, o.MaxConns)
	}
	if o.AcquireTimeout == 0 {
		o.AcquireTimeout = 2 * time.Second
	}
	if o.StatementTimeout == 0 {
		o.StatementTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// DB is a PostgreSQL-backed store.Store.
type DB struct {
	// Records holds the records whose SQL both backends share.
	sqlstore.Records

	opts Options
	pool *pgxpool.Pool
	// callTimeout bounds a whole call even when the caller's context has no
	// deadline: a wait for a connection plus up to three statement timeouts
	// (a transaction that is retried once after a deadlock).
	callTimeout time.Duration
	changes     *readcache.Generation
	feed        *changeFeed
	keys        *keyBatcher
}

var _ store.Store = (*DB)(nil)

// cancelGrace is how long a call whose context ended waits for the server
// to cancel its statement before the connection is dropped.
const cancelGrace = time.Second

// Open connects to the database at opts.URL and applies the schema
// migrations. It fails with store.ErrUnavailable when the database cannot be
// reached within the acquire timeout, and refuses a database whose schema is
// newer than this binary.
func Open(ctx context.Context, opts Options) (*DB, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	all, err := migrations.Load(migrations.Postgres)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres option URL: %w", err)
	}
	cfg.MaxConns = opts.MaxConns
	cfg.MinConns = opts.MinConns
	params := cfg.ConnConfig.RuntimeParams
	params["timezone"] = "UTC"
	params["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	if params["application_name"] == "" {
		params["application_name"] = "tms"
	}
	// The change feed waits for notifications, which a cancel request does
	// not end: it keeps pgx's default of dropping the connection.
	feedConfig := cfg.ConnConfig.Copy()
	// When a call's context ends, ask the server to cancel the statement
	// instead of only dropping the connection: a dropped connection leaves
	// the statement running, and a write the caller was told failed could
	// still commit.
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelGrace}
	}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		// Scan timestamps in UTC, whatever the local time zone.
		conn.TypeMap().RegisterType(&pgtype.Type{
			Name: "timestamptz", OID: pgtype.TimestamptzOID, Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db := &DB{
		opts:        opts,
		pool:        pool,
		callTimeout: opts.AcquireTimeout + 3*opts.StatementTimeout,
	}
	db.Records = sqlstore.New(recordConn{db})
	if err := db.migrate(ctx, all); err != nil {
		pool.Close()
		return nil, err
	}
	db.changes = newChanges()
	db.feed = startChangeFeed(feedConfig, db.changes, opts.Logger)
	db.keys = newKeyBatcher(db, 1, 4096, 256)
	return db, nil
}

// Close closes every connection. It waits for calls in progress, which are
// bounded by the acquire and statement timeouts.
func (db *DB) Close() error {
	db.keys.close()
	db.feed.stop()
	db.pool.Close()
	return nil
}

// Ping checks that the database answers and that every migration this
// binary knows is applied.
func (db *DB) Ping(ctx context.Context) error {
	all, err := migrations.Load(migrations.Postgres)
	if err != nil {
		return err
	}
	var applied []int
	err = db.queryAll(ctx, "ping", `SELECT version FROM tms_schema_migrations ORDER BY version`, func(r scanner) error {
		var v int
		if err := r.Scan(&v); err != nil {
			return err
		}
		applied = append(applied, v)
		return nil
	})
	if err != nil {
		return err
	}
	pending, err := migrations.Pending(all, applied)
	if err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	if len(pending) > 0 {
		return fmt.Errorf("ping: schema migration %d is not applied", pending[0].Version)
	}
	return nil
}

// PoolStats describes the connection pool.
type PoolStats struct {
	// AcquiredConns are in use by a call now.
	AcquiredConns int32
	// IdleConns are open and free.
	IdleConns int32
	// TotalConns are open, in use or idle, or being opened.
	TotalConns int32
	// MaxConns is the pool's limit.
	MaxConns int32
	// AcquireCount counts successful acquires since Open.
	AcquireCount int64
	// EmptyAcquireCount counts acquires that had to wait for a connection.
	EmptyAcquireCount int64
	// CanceledAcquireCount counts acquires given up by their context,
	// including those that hit the acquire timeout.
	CanceledAcquireCount int64
	// AcquireDuration is the total time successful acquires took.
	AcquireDuration time.Duration
}

// PoolStats reports the state of the connection pool.
func (db *DB) PoolStats() PoolStats {
	s := db.pool.Stat()
	return PoolStats{
		AcquiredConns:        s.AcquiredConns(),
		IdleConns:            s.IdleConns(),
		TotalConns:           s.TotalConns(),
		MaxConns:             s.MaxConns(),
		AcquireCount:         s.AcquireCount(),
		EmptyAcquireCount:    s.EmptyAcquireCount(),
		CanceledAcquireCount: s.CanceledAcquireCount(),
		AcquireDuration:      s.AcquireDuration(),
	}
}

// run calls fn with a pooled connection. It waits at most AcquireTimeout for
// the connection, bounds the whole call by callTimeout, retries fn once after
// a serialization failure or deadlock, and maps the error onto the store's
// errors with op as prefix; a foreign-key violation becomes onForeignKey.
//
// run is for calls that write: when fn returns, its changes are committed
// (or rolled back), and the read cache is invalidated, so that this
// process never serves an answer older than its own writes. Reads use
// read; writes that cannot change a cached answer may use runKeepCache.
func (db *DB) run(ctx context.Context, op string, onForeignKey error, fn func(context.Context, *pgx.Conn) error) error {
	defer db.changes.Invalidate()
	return db.runKeepCache(ctx, op, onForeignKey, fn)
}

// runKeepCache is run for writes that only insert rows or count key uses,
// which change no cached answer (see cache.go).
func (db *DB) runKeepCache(ctx context.Context, op string, onForeignKey error, fn func(context.Context, *pgx.Conn) error) error {
	ctx, cancel := context.WithTimeout(ctx, db.callTimeout)
	defer cancel()
	return db.withConn(ctx, op, onForeignKey, fn)
}

// read is run for calls that only read.
func (db *DB) read(ctx context.Context, op string, fn func(context.Context, *pgx.Conn) error) error {
	return db.runKeepCache(ctx, op, store.ErrMissingParent, fn)
}

// withConn is run without the bound on the whole call.
func (db *DB) withConn(ctx context.Context, op string, onForeignKey error, fn func(context.Context, *pgx.Conn) error) error {
	acquireCtx, cancelAcquire := context.WithTimeout(ctx, db.opts.AcquireTimeout)
	pc, err := db.pool.Acquire(acquireCtx)
	cancelAcquire()
	if err != nil {
		return fmt.Errorf("%s: %w: acquire connection: %w", op, store.ErrUnavailable, err)
	}
	defer pc.Release()
	conn := pc.Conn()
	err = fn(ctx, conn)
	if retryable(err) {
		db.opts.Logger.DebugContext(ctx, "postgres: retrying after a transaction conflict", "op", op, "err", err)
		err = fn(ctx, conn)
	}
	if err != nil && conn.IsClosed() {
		return fmt.Errorf("%s: %w: connection lost: %w", op, store.ErrUnavailable, err)
	}
	return mapErr(op, err, onForeignKey)
}

// retryable reports whether err aborted a transaction that may succeed when
// run again: a serialization failure or a deadlock.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	return false
}

// mapErr converts driver errors into the store's errors, prefixed with op.
func mapErr(op string, err error, onForeignKey error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w: %w", op, store.ErrUnavailable, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505":
			return fmt.Errorf("%s: %w: %v", op, store.ErrConflict, err)
		case pgErr.Code == "23503":
			return fmt.Errorf("%s: %w: %v", op, onForeignKey, err)
		case unavailableCode(pgErr.Code):
			return fmt.Errorf("%s: %w: %v", op, store.ErrUnavailable, err)
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	if connectionFailure(err) {
		return fmt.Errorf("%s: %w: %v", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// unavailableCode reports whether a SQLSTATE means the database cannot serve
// the call now, although the call itself is fine.
func unavailableCode(code string) bool {
	switch code {
	case "40001", // serialization failure, after the retry
		"40P01", // deadlock, after the retry
		"55P03", // lock not available
		"25P03": // idle in transaction session timeout
		return true
	}
	switch code[:2] {
	case "08", // connection exception
		"53", // insufficient resources: too many connections, disk full, out of memory
		"57", // operator intervention: statement timeout, cancel, shutdown
		"58": // system error: I/O error
		return true
	}
	return false
}

// connectionFailure reports whether err is a failure to reach the server or
// to keep talking to it.
func connectionFailure(err error) bool {
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.Timeout(err) || pgconn.SafeToRetry(err)
}

type scanner = sqlstore.Row

// exec runs one statement and returns the number of rows it changed.
func (db *DB) exec(ctx context.Context, op, query string, args ...any) (int64, error) {
	return db.execFK(ctx, op, store.ErrMissingParent, query, args...)
}

// execDelete runs one delete and returns the number of rows it deleted; rows
// that still reference a deleted one make it fail with store.ErrInUse.
func (db *DB) execDelete(ctx context.Context, op, query string, args ...any) (int64, error) {
	return db.execFK(ctx, op, store.ErrInUse, query, args...)
}

func (db *DB) execFK(ctx context.Context, op string, onForeignKey error, query string, args ...any) (int64, error) {
	var n int64
	err := db.run(ctx, op, onForeignKey, func(ctx context.Context, conn *pgx.Conn) error {
		tag, err := conn.Exec(ctx, query, args...)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// execBatch runs the statements of b as one implicit transaction, in one
// round trip, and returns the number of rows each changed.
func execBatch(ctx context.Context, conn *pgx.Conn, b *pgx.Batch) ([]int64, error) {
	results := conn.SendBatch(ctx, b)
	counts := make([]int64, 0, b.Len())
	for range b.Len() {
		tag, err := results.Exec()
		if err != nil {
			results.Close()
			return nil, err
		}
		counts = append(counts, tag.RowsAffected())
	}
	return counts, results.Close()
}

// runBatch runs the statements of the batch that build returns as one
// transaction and returns the total number of rows they changed. A retry
// sends a new batch, as a batch can be sent only once.
func (db *DB) runBatch(ctx context.Context, op string, onForeignKey error, build func() *pgx.Batch) (int64, error) {
	var total int64
	err := db.run(ctx, op, onForeignKey, func(ctx context.Context, conn *pgx.Conn) error {
		counts, err := execBatch(ctx, conn, build())
		total = sum(counts)
		return err
	})
	return total, err
}

func sum(counts []int64) int64 {
	var total int64
	for _, n := range counts {
		total += n
	}
	return total
}

// queryOne runs a single-row read; no row gives store.ErrNotFound.
func (db *DB) queryOne(ctx context.Context, op, query string, scan func(scanner) error, args ...any) error {
	return db.read(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		return scan(conn.QueryRow(ctx, query, args...))
	})
}

// queryAll runs a read and calls scan for every row.
func (db *DB) queryAll(ctx context.Context, op, query string, scan func(scanner) error, args ...any) error {
	return db.read(ctx, op, func(ctx context.Context, conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// validID reports whether the SERIAL columns of the schema, 32-bit, can
// hold id.
func validID(id int64) bool { return id >= math.MinInt32 && id <= math.MaxInt32 }

// idNotFound returns the error for a record id that the schema cannot hold,
// so that no such record exists.
func idNotFound(op string, id int64) error {
	if !validID(id) {
		return fmt.Errorf("%s: id %d: %w", op, id, store.ErrNotFound)
	}
	return nil
}
