package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

// checkpointer copies committed WAL frames into the database file from its
// own connection, so that the writer never pays for a checkpoint while
// committing. The writer's automatic checkpoints are off.
type checkpointer struct {
	db       *sql.DB
	w        *writer
	interval time.Duration
	log      *slog.Logger
	stop     chan struct{}
	done     chan struct{}
}

func newCheckpointer(path string, busy time.Duration, w *writer, interval time.Duration, log *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn(path, busy, false, false))
	if err != nil {
		return nil, fmt.Errorf("open checkpoint connection: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	c := &checkpointer{db: db, w: w, interval: interval, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	var last int64
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
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
