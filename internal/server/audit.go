package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/config"
	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/store"
)

// auditCloseTimeout bounds the flush of the audit events still buffered at
// shutdown.
const auditCloseTimeout = 10 * time.Second

// startAudit starts the audit recorder the [audit] settings ask for, with
// its metrics in m (which may be nil). It returns nil when the audit log is
// off, and a function that flushes and stops the recorder; call it before
// closing the store.
func startAudit(c config.Audit, st store.Store, m *metrics.Metrics, logger *slog.Logger) (*audit.Recorder, func()) {
	if !c.Enabled {
		logger.Info("audit log is off")
		return nil, func() {}
	}
	rec := audit.New(st, audit.Options{Retention: c.Retention.Duration, FailureWindow: c.FailureWindow.Duration, Logger: logger})
	rec.RegisterMetrics(m)
	return rec, func() {
		ctx, cancel := context.WithTimeout(context.Background(), auditCloseTimeout)
		defer cancel()
		if err := rec.Close(ctx); err != nil {
			logger.Error("flush the audit log", "err", err)
		}
	}
}

// AuditEnabled reports whether the server keeps an audit log.
func (d Database) AuditEnabled() bool { return d.cfg.Audit.Enabled }
