package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/tmsproject/tms/internal/store/readcache"
)

// checkpointer copies committed WAL frames into the database file from its
// own connection, so that the writer never pays for a checkpoint while
// committing. The writer's automatic checkpoints are off.
//
// It also watches for changes committed by other processes (such as
// "tms admin rotate-secret" while the server runs): when PRAGMA
// data_version changes, something committed, and the read cache is
// invalidated, so external changes are seen within watchInterval.
type checkpointer struct {
	db       *sql.DB
	w        *writer
	interval time.Duration
	log      *slog.Logger
	changes  *readcache.Generation
	stop     chan struct{}
	done     chan struct{}
}

// watchInterval is how often the checkpointer looks for commits made by
// other processes.
const watchInterval = 250 * time.Millisecond

func newCheckpointer(path string, busy time.Duration, w *writer, changes *readcache.Generation, interval time.Duration, log *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn(path, busy, false, false))
	if err != nil {
		return nil, fmt.Errorf("open checkpoint connection: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	c := &checkpointer{db: db, w: w, changes: changes, interval: interval, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	var (
		last     int64
		version  int64
		lastCkpt time.Time
	)
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		if v, err := c.dataVersion(); err != nil {
			c.log.Warn("sqlite data_version", "err", err)
		} else if v != version {
			version = v
			c.changes.Invalidate()
		}
		if time.Since(lastCkpt) < c.interval {
			continue
		}
		lastCkpt = time.Now()
		n := c.w.batches.Load()
		if n == last {
			continue
		}
		last = n
		if err := c.checkpoint("PASSIVE"); err != nil {
			c.log.Warn("sqlite checkpoint", "err", err)
		}
	}
}

// dataVersion returns a number that changes whenever another connection
// (of this process or another) commits.
func (c *checkpointer) dataVersion() (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var v int64
	err := c.db.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
	return v, err
}

func (c *checkpointer) checkpoint(mode string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, frames, done int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &done); err != nil {
		return fmt.Errorf("checkpoint (%s): %w", mode, err)
	}
	return nil
}

// close stops the checkpointer and, once nothing else uses the database,
// checkpoints everything and truncates the WAL.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	err := c.checkpoint("TRUNCATE")
	if cerr := c.db.Close(); err == nil {
		err = cerr
	}
	return err
}
