package postgres

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmsproject/tms/internal/store/readcache"
)

// The read cache above the store (readcache.Store) keeps key lookups and
// credential checks in memory. Several servers share the database, so this
// store publishes the changes of all of them: triggers (migration 0005)
// notify the channel tms_changes whenever a statement that may change a
// cached answer commits, every server listens, and each notification
// invalidates the generation. While the listening connection is down, the
// generation is disabled and nothing is cached. A change committed by
// another server is seen once its notification arrives, normally within a
// millisecond of the commit; this server's own writes invalidate at once
// (see run in postgres.go).

// newChanges returns the generation, disabled until the change feed
// listens.
func newChanges() *readcache.Generation {
	g := readcache.NewGeneration()
	g.SetEnabled(false)
	return g
}

// Changes returns the generation this store invalidates on every change
// (readcache.Source).
func (db *DB) Changes() *readcache.Generation { return db.changes }

// changeFeed listens for change notifications on its own connection and
// invalidates the cache on each; it reconnects after failures, with the
// cache disabled meanwhile.
type changeFeed struct {
	config *pgx.ConnConfig
	gen    *readcache.Generation
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

func startChangeFeed(config *pgx.ConnConfig, gen *readcache.Generation, log *slog.Logger) *changeFeed {
	ctx, cancel := context.WithCancel(context.Background())
	f := &changeFeed{config: config, gen: gen, log: log, cancel: cancel, done: make(chan struct{})}
	go f.run(ctx)
	return f
}

func (f *changeFeed) run(ctx context.Context) {
	defer close(f.done)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := f.listen(ctx)
		f.gen.SetEnabled(false)
		if ctx.Err() != nil {
			return
		}
		f.log.Warn("postgres change feed lost; caching is off until it reconnects", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// listen connects, listens, and invalidates the cache on every
// notification until the connection fails or ctx ends.
func (f *changeFeed) listen(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, f.config)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN tms_changes"); err != nil {
		return err
	}
	// Anything committed before LISTEN took effect was missed: start afresh.
	f.gen.SetEnabled(true)
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		f.gen.Invalidate()
	}
}

func (f *changeFeed) stop() {
	f.cancel()
	<-f.done
}
