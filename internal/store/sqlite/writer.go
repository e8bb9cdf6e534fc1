package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/readcache"
)

// writer owns the only connection that writes. It takes write jobs from a
// bounded queue and commits as many as are waiting (up to maxBatch) in one
// immediate transaction, each job inside its own savepoint so that a failing
// job is rolled back alone. A job is acknowledged only after the commit.
type writer struct {
	conn     *sql.Conn
	jobs     chan *writeJob
	maxBatch int
	log      *slog.Logger

	stmts   map[string]*sql.Stmt // used only by the writer goroutine
	dirty   bool                 // the open batch updated or deleted rows
	changes *readcache.Generation

	closeOnce sync.Once
	closing   chan struct{}
	stopped   chan struct{}
	mu        sync.RWMutex // guards sends on jobs against close
	closed    bool

	queued    atomic.Int64
	batches   atomic.Int64
	committed atomic.Int64
}

type writeJob struct {
	ctx context.Context
	fn  func(*wtx) error
	err chan error
	// state is jobQueued until the writer starts the job (jobStarted) or
	// its caller gives up on it first (jobAbandoned); a job is never both.
	state atomic.Int32
}

// The states of a writeJob.
const (
	jobQueued int32 = iota
	jobStarted
	jobAbandoned
)

// wtx is the view of the write transaction a job gets.
type wtx struct {
	w   *writer
	ctx context.Context
}

func newWriter(conn *sql.Conn, queue, maxBatch int, log *slog.Logger, changes *readcache.Generation) *writer {
	w := &writer{
		conn:     conn,
		changes:  changes,
		jobs:     make(chan *writeJob, queue),
		maxBatch: maxBatch,
		log:      log,
		stmts:    make(map[string]*sql.Stmt),
		closing:  make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	go w.run()
	return w
}

// WriterStats describes the writer's queue and throughput.
type WriterStats struct {
	Queued    int64
	Capacity  int
	Batches   int64
	Committed int64
}

// WriterStats reports the state of the write queue.
func (db *DB) WriterStats() WriterStats {
	return WriterStats{
		Queued:    db.w.queued.Load(),
		Capacity:  cap(db.w.jobs),
		Batches:   db.w.batches.Load(),
		Committed: db.w.committed.Load(),
	}
}

// do runs fn inside the next write transaction and returns its error, or the
// commit's. It fails fast with store.ErrUnavailable when the queue is full.
func (w *writer) do(ctx context.Context, fn func(*wtx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write: %w: %w", store.ErrUnavailable, err)
	}
	job := &writeJob{ctx: ctx, fn: fn, err: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return fmt.Errorf("write: %w: store closed", store.ErrUnavailable)
	}
	select {
	case w.jobs <- job:
		w.queued.Add(1)
		w.mu.RUnlock()
	default:
		w.mu.RUnlock()
		return fmt.Errorf("write: %w: write queue full", store.ErrUnavailable)
	}
	select {
	case err := <-job.err:
		return err
	case <-ctx.Done():
		if job.state.CompareAndSwap(jobQueued, jobAbandoned) {
			return fmt.Errorf("write: %w: %w", store.ErrUnavailable, ctx.Err())
		}
		// The writer has started the job: wait for its outcome, which
		// comes with the commit, so the answer is never a 503 for a
		// write that happened, and fn's results are not read while fn
		// still runs.
		return <-job.err
	}
}

func (w *writer) close() error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		close(w.jobs)
		w.mu.Unlock()
	})
	<-w.stopped
	for _, s := range w.stmts {
		s.Close()
	}
	return w.conn.Close()
}

func (w *writer) run() {
	defer close(w.stopped)
	batch := make([]*writeJob, 0, w.maxBatch)
	for job := range w.jobs {
		batch = append(batch[:0], job)
	drain:
		for len(batch) < w.maxBatch {
			select {
			case more, ok := <-w.jobs:
				if !ok {
					break drain
				}
				batch = append(batch, more)
			default:
				break drain
			}
		}
		w.queued.Add(-int64(len(batch)))
		w.commit(batch)
	}
}

// exec runs a transaction-control statement, prepared once.
func (w *writer) exec(query string) error {
	s, ok := w.stmts[query]
	if !ok {
		var err error
		s, err = w.conn.PrepareContext(context.Background(), query)
		if err != nil {
			return err
		}
		w.stmts[query] = s
	}
	_, err := s.ExecContext(context.Background())
	return err
}

func (w *writer) commit(batch []*writeJob) {
	results := make([]error, len(batch))
	if err := w.exec("BEGIN IMMEDIATE"); err != nil {
		err = mapErr("begin write transaction", err)
		for _, j := range batch {
			j.err <- err
		}
		return
	}
	ran := 0
	for i, j := range batch {
		if !j.state.CompareAndSwap(jobQueued, jobStarted) {
			results[i] = fmt.Errorf("write: %w: abandoned by its caller", store.ErrUnavailable)
			continue
		}
		if err := j.ctx.Err(); err != nil {
			results[i] = fmt.Errorf("write: %w: %w", store.ErrUnavailable, err)
			continue
		}
		if err := w.exec("SAVEPOINT job"); err != nil {
			results[i] = mapErr("savepoint", err)
			continue
		}
		tx := &wtx{w: w, ctx: context.WithoutCancel(j.ctx)}
		if err := j.fn(tx); err != nil {
			results[i] = err
			if rerr := errors.Join(w.exec("ROLLBACK TO job"), w.exec("RELEASE job")); rerr != nil {
				w.log.Error("sqlite writer: roll back job", "err", rerr)
			}
			continue
		}
		if err := w.exec("RELEASE job"); err != nil {
			results[i] = mapErr("release savepoint", err)
			continue
		}
		ran++
	}
	err := w.exec("COMMIT")
	if w.dirty {
		// Whether or not the commit held, readers must not trust answers
		// cached before it.
		w.changes.Invalidate()
		w.dirty = false
	}
	if err != nil {
		cerr := mapErr("commit", err)
		if rerr := w.exec("ROLLBACK"); rerr != nil {
			w.log.Error("sqlite writer: roll back failed commit", "err", rerr)
		}
		for i := range results {
			if results[i] == nil {
				results[i] = cerr
			}
		}
	} else {
		w.batches.Add(1)
		w.committed.Add(int64(ran))
	}
	for i, j := range batch {
		j.err <- results[i]
	}
}

func (t *wtx) stmt(query string) (*sql.Stmt, error) {
	if s, ok := t.w.stmts[query]; ok {
		return s, nil
	}
	s, err := t.w.conn.PrepareContext(t.ctx, query)
	if err != nil {
		return nil, err
	}
	t.w.stmts[query] = s
	return s, nil
}

// exec runs a statement and returns the number of rows it changed.
func (t *wtx) exec(op, query string, args ...any) (int64, error) {
	s, err := t.stmt(query)
	if err != nil {
		return 0, mapErr(op, err)
	}
	res, err := s.ExecContext(t.ctx, args...)
	if err != nil {
		return 0, mapErr(op, err)
	}
	n, err := res.RowsAffected()
	if n > 0 && changesRows(query) {
		t.w.dirty = true
	}
	return n, mapErr(op, err)
}

// queryRow runs a single-row query; sql.ErrNoRows becomes store.ErrNotFound.
func (t *wtx) queryRow(op, query string, scan func(scanner) error, args ...any) error {
	err := t.queryRowKeepCache(op, query, scan, args...)
	if err == nil && changesRows(query) {
		t.w.dirty = true
	}
	return err
}

// queryRowKeepCache is queryRow for an update that changes no cached
// answer, such as counting a use of a key.
func (t *wtx) queryRowKeepCache(op, query string, scan func(scanner) error, args ...any) error {
	s, err := t.stmt(query)
	if err != nil {
		return mapErr(op, err)
	}
	return mapErr(op, scan(s.QueryRowContext(t.ctx, args...)))
}
