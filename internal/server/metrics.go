package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tmsproject/tms/internal/keys"
	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/postgres"
	"github.com/tmsproject/tms/internal/store/readcache"
	"github.com/tmsproject/tms/internal/store/sqlite"
)

// registerCollectors exposes the store's and the key generator's state.
func registerCollectors(m *metrics.Metrics, st store.Store, gen *keys.Generator) {
	if c, ok := st.(*readcache.Store); ok {
		m.CounterFunc("tms_db_read_cache_hits_total", "Key lookups and credential checks answered from the read cache.", nil,
			func() float64 { return float64(c.Stats().Hits) })
		m.CounterFunc("tms_db_read_cache_misses_total", "Key lookups and credential checks that read the database.", nil,
			func() float64 { return float64(c.Stats().Misses) })
		if _, ok := c.Backend().(*postgres.DB); ok {
			m.GaugeFunc("tms_db_change_feed_listening", "1 while the PostgreSQL change feed listens (and the read cache is in use).", nil,
				func() float64 {
					if c.Stats().Enabled {
						return 1
					}
					return 0
				})
		}
		st = c.Backend()
	}
	switch db := st.(type) {
	case *sqlite.DB:
		m.GaugeFunc("tms_db_write_queue_depth", "SQLite writes waiting for the writer.", nil,
			func() float64 { return float64(db.WriterStats().Queued) })
		m.GaugeFunc("tms_db_write_queue_capacity", "SQLite writes that may wait before new ones are refused.", nil,
			func() float64 { return float64(db.WriterStats().Capacity) })
		m.CounterFunc("tms_db_write_batches_total", "SQLite write transactions committed (each holds one or more writes).", nil,
			func() float64 { return float64(db.WriterStats().Batches) })
		m.CounterFunc("tms_db_writes_committed_total", "SQLite writes committed.", nil,
			func() float64 { return float64(db.WriterStats().Committed) })
	case *postgres.DB:
		m.GaugeFunc("tms_db_pool_acquired_connections", "PostgreSQL connections in use.", nil,
			func() float64 { return float64(db.PoolStats().AcquiredConns) })
		m.GaugeFunc("tms_db_pool_idle_connections", "PostgreSQL connections open and idle.", nil,
			func() float64 { return float64(db.PoolStats().IdleConns) })
		m.GaugeFunc("tms_db_pool_max_connections", "PostgreSQL connection pool size.", nil,
			func() float64 { return float64(db.PoolStats().MaxConns) })
		m.CounterFunc("tms_db_pool_acquires_total", "PostgreSQL connections acquired.", nil,
			func() float64 { return float64(db.PoolStats().AcquireCount) })
		m.CounterFunc("tms_db_pool_acquire_waits_total", "PostgreSQL acquires that had to wait for a connection.", nil,
			func() float64 { return float64(db.PoolStats().EmptyAcquireCount) })
		m.CounterFunc("tms_db_pool_acquire_canceled_total", "PostgreSQL acquires given up (timeout or canceled).", nil,
			func() float64 { return float64(db.PoolStats().CanceledAcquireCount) })
		m.CounterFunc("tms_db_pool_acquire_seconds_total", "Time spent acquiring PostgreSQL connections.", nil,
			func() float64 { return db.PoolStats().AcquireDuration.Seconds() })
		m.CounterFunc("tms_db_key_batches_total", "PostgreSQL statements that inserted the keys of several key creations at once.", nil,
			func() float64 { return float64(db.KeyBatchStats().Batches) })
		m.CounterFunc("tms_db_keys_batched_total", "Keys inserted by those statements.", nil,
			func() float64 { return float64(db.KeyBatchStats().Batched) })
	}
	for _, p := range []struct {
		name  string
		stats func() keys.PoolStats
	}{
		{"fast", func() keys.PoolStats { return gen.Stats().Fast }},
		{"rsa", func() keys.PoolStats { return gen.Stats().RSA }},
	} {
		labels := prometheus.Labels{"pool": p.name}
		m.GaugeFunc("tms_keygen_in_use", "Key generations running now.", labels, func() float64 { return float64(p.stats().InUse) })
		m.GaugeFunc("tms_keygen_capacity", "Key generations that can run at once.", labels, func() float64 { return float64(p.stats().Capacity) })
		m.CounterFunc("tms_keygen_refused_total", "Key generations refused because the pool was full.", labels,
			func() float64 { return float64(p.stats().Refused) })
	}
}

// serveMetrics serves /metrics, /healthz and /readyz on a separate plain
// HTTP listener until ctx ends.
func serveMetrics(ctx context.Context, ln net.Listener, m *metrics.Metrics, st store.Store, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	health(st)(mux)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener", "err", err)
		}
	}()
	logger.Info("serving metrics", "addr", ln.Addr().String())
}
