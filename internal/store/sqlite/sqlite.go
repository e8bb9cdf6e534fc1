// Package sqlite implements store.Store on an embedded SQLite database
// (modernc.org/sqlite, no cgo). The database runs in WAL mode with foreign
// keys on. Reads use a pool of read-only connections; every write goes
// through one writer connection that batches concurrent writes into a single
// immediate transaction (group commit) and acknowledges each write only after
// that transaction is durably committed.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tmsproject/tms/internal/migrations"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/readcache"
	"github.com/tmsproject/tms/internal/store/sqlstore"
)

// Options configure a SQLite store. Zero values take the defaults.
type Options struct {
	// Path is the database file. It is created if missing.
	Path string
	// ReadConns is the size of the read connection pool (default 2×CPUs, at least 4).
	ReadConns int
	// WriteQueue bounds the writes waiting for the writer (default 4096);
	// beyond it writes fail fast with store.ErrUnavailable.
	WriteQueue int
	// MaxBatch bounds the writes committed in one transaction (default 256).
	MaxBatch int
	// QueryTimeout bounds every read (default 5s).
	QueryTimeout time.Duration
	// BusyTimeout is how long a connection waits for a lock held by another
	// process, such as a backup (default 5s).
	BusyTimeout time.Duration
	// Logger receives operational messages (default: discard).
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.ReadConns <= 0 {
		o.ReadConns = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if o.WriteQueue <= 0 {
		o.WriteQueue = 4096
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = 5 * time.Second
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// DB is a SQLite-backed store.Store.
type DB struct {
	// Records holds the records whose SQL both backends share.
	sqlstore.Records

	opts   Options
	read   *sql.DB
	writeD *sql.DB
	w      *writer
	ckpt   *checkpointer

	closeOnce sync.Once
	closeErr  error
	lock      *os.File
	changes   *readcache.Generation

	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	closed bool // set by Close; reads then fail with store.ErrUnavailable
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database at opts.Path, applies the
// schema migrations and starts the writer.
func Open(ctx context.Context, opts Options) (*DB, error) {
	opts.setDefaults()
	if opts.Path == "" {
		return nil, errors.New("open sqlite: no database path")
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite: create directory: %w", err)
	}
	lock, err := holdShared(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db, err := open(ctx, opts)
	if err != nil {
		lock.Close()
		return nil, err
	}
	db.lock = lock
	// SQLite creates files with the process umask; keep them private.
	for _, p := range []string{opts.Path, opts.Path + "-wal", opts.Path + "-shm"} {
		os.Chmod(p, 0o600)
	}
	return db, nil
}

func open(ctx context.Context, opts Options) (*DB, error) {
	writeD, err := sql.Open("sqlite", dsn(opts.Path, opts.BusyTimeout, false, true))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", opts.Path, err)
	}
	writeD.SetMaxOpenConns(1)
	writeD.SetMaxIdleConns(1)
	writeD.SetConnMaxLifetime(0)
	writeD.SetConnMaxIdleTime(0)
	conn, err := writeD.Conn(ctx)
	if err != nil {
		writeD.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", opts.Path, err)
	}
	if err := migrate(ctx, conn); err != nil {
		conn.Close()
		writeD.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn(opts.Path, opts.BusyTimeout, true, false))
	if err != nil {
		conn.Close()
		writeD.Close()
		return nil, fmt.Errorf("open sqlite %s for reading: %w", opts.Path, err)
	}
	read.SetMaxOpenConns(opts.ReadConns)
	read.SetMaxIdleConns(opts.ReadConns)
	read.SetConnMaxIdleTime(0)
	read.SetConnMaxLifetime(0)
	db := &DB{
		opts:    opts,
		read:    read,
		writeD:  writeD,
		stmts:   make(map[string]*sql.Stmt),
		changes: readcache.NewGeneration(),
	}
	db.Records = sqlstore.New(recordConn{db})
	db.w = newWriter(conn, opts.WriteQueue, opts.MaxBatch, opts.Logger, db.changes)
	db.ckpt, err = newCheckpointer(opts.Path, opts.BusyTimeout, db.w, db.changes, time.Second, opts.Logger)
	if err != nil {
		db.w.close()
		read.Close()
		writeD.Close()
		return nil, err
	}
	return db, nil
}

func dsn(path string, busy time.Duration, readOnly, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	}
	if writer {
		// The checkpointer checkpoints instead; see checkpoint.go.
		q.Add("_pragma", "wal_autocheckpoint(0)")
		q.Add("_pragma", "journal_size_limit(67108864)")
	}
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Close waits for queued writes, stops the writer and closes the database.
// Calling it again returns the first call's result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { db.closeErr = db.close() })
	return db.closeErr
}

func (db *DB) close() error {
	db.changes.SetEnabled(false)
	werr := db.w.close()
	db.mu.Lock()
	db.closed = true
	for _, s := range db.stmts {
		s.Close()
	}
	db.stmts = map[string]*sql.Stmt{}
	db.mu.Unlock()
	rerr := db.read.Close()
	kerr := db.ckpt.close()
	cerr := db.writeD.Close()
	lerr := db.lock.Close()
	return errors.Join(werr, rerr, kerr, cerr, lerr)
}

// Ping checks that the database answers and that every migration is applied.
func (db *DB) Ping(ctx context.Context) error {
	all, err := migrations.Load(migrations.SQLite)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, db.opts.QueryTimeout)
	defer cancel()
	applied, err := appliedVersions(ctx, db.read)
	if err != nil {
		return mapErr("ping", err)
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

// stmt returns a prepared statement for query on the read pool.
func (db *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	db.mu.Lock()
	closed := db.closed
	s, ok := db.stmts[query]
	db.mu.Unlock()
	if closed {
		return nil, errReadClosed()
	}
	if ok {
		return s, nil
	}
	s, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, mapErr("prepare", err)
	}
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		s.Close()
		return nil, errReadClosed()
	}
	if prev, ok := db.stmts[query]; ok {
		db.mu.Unlock()
		s.Close()
		return prev, nil
	}
	db.stmts[query] = s
	db.mu.Unlock()
	return s, nil
}

// errReadClosed is the error of a read after Close.
func errReadClosed() error { return fmt.Errorf("read: %w: store closed", store.ErrUnavailable) }

// row wraps *sql.Row so that the query timeout ends after Scan.
type row struct {
	r      *sql.Row
	cancel context.CancelFunc
}

func (r row) Scan(dest ...any) error {
	defer r.cancel()
	return r.r.Scan(dest...)
}

func (db *DB) queryRow(ctx context.Context, query string, args ...any) (row, error) {
	ctx, cancel := context.WithTimeout(ctx, db.opts.QueryTimeout)
	s, err := db.stmt(ctx, query)
	if err != nil {
		cancel()
		return row{}, err
	}
	return row{r: s.QueryRowContext(ctx, args...), cancel: cancel}, nil
}

// queryRows runs query and calls scan for every row.
func (db *DB) queryRows(ctx context.Context, op, query string, scan func(scanner) error, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, db.opts.QueryTimeout)
	defer cancel()
	s, err := db.stmt(ctx, query)
	if err != nil {
		return err
	}
	rows, err := s.QueryContext(ctx, args...)
	if err != nil {
		return mapErr(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return mapErr(op, err)
		}
	}
	return mapErr(op, rows.Err())
}

// getOne runs a single-row read and maps sql.ErrNoRows to store.ErrNotFound.
func (db *DB) getOne(ctx context.Context, op, query string, scan func(scanner) error, args ...any) error {
	r, err := db.queryRow(ctx, query, args...)
	if err != nil {
		return err
	}
	defer r.cancel()
	return mapErr(op, scan(r.r))
}

type scanner = sqlstore.Row

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mapErr converts driver errors into the store's errors, prefixed with op.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w: %w", op, store.ErrUnavailable, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%s: %w: %v", op, store.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%s: %w: %v", op, store.ErrMissingParent, err)
		case sqlite3.SQLITE_CONSTRAINT_TRIGGER:
			// ON DELETE RESTRICT reports its foreign-key failure this way.
			if strings.Contains(se.Error(), "FOREIGN KEY") {
				return fmt.Errorf("%s: %w: %v", op, store.ErrMissingParent, err)
			}
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_INTERRUPT,
			sqlite3.SQLITE_BUSY_SNAPSHOT, sqlite3.SQLITE_BUSY_TIMEOUT, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN:
			return fmt.Errorf("%s: %w: %v", op, store.ErrUnavailable, err)
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR:
			return fmt.Errorf("%s: %w: %v", op, store.ErrUnavailable, err)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

func migrate(ctx context.Context, conn *sql.Conn) error {
	all, err := migrations.Load(migrations.SQLite)
	if err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS tms_schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return err
	}
	pending, err := migrations.Pending(all, applied)
	if err != nil {
		return err
	}
	for _, m := range pending {
		if err := applyMigration(ctx, conn, m); err != nil {
			return err
		}
	}
	return nil
}

// appliedVersions lists the migrations recorded in the database.
func appliedVersions(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM tms_schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("read schema versions: %w", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema versions: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func applyMigration(ctx context.Context, conn *sql.Conn, m migrations.Migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %04d_%s: begin: %w", m.Version, m.Name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tms_schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("migration %04d_%s: record: %w", m.Version, m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %04d_%s: commit: %w", m.Version, m.Name, err)
	}
	return nil
}

// writeCount runs one write statement and returns the rows it changed.
func (db *DB) writeCount(ctx context.Context, op, query string, args ...any) (int64, error) {
	var n int64
	err := db.w.do(ctx, func(tx *wtx) (err error) {
		n, err = tx.exec(op, query, args...)
		return err
	})
	return n, err
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
