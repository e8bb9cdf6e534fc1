package sqlite

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlstore"
)

const auditCols = `id, event_time, tenant, type, outcome, actor, request_id, remote_addr,
	username, host, host_account, client_id, fingerprint, detail, repeats`

// pruneChunk bounds the rows one prune transaction deletes, so that the
// writer is never held for long.
const pruneChunk = 5000

func scanAuditEvent(s scanner, e *store.AuditEvent) error {
	var at int64
	if err := s.Scan(&e.ID, &at, &e.Tenant, &e.Type, &e.Outcome, &e.Actor, &e.RequestID, &e.RemoteAddr,
		&e.User, &e.Host, &e.HostAccount, &e.ClientID, &e.Fingerprint, &e.Detail, &e.Repeats); err != nil {
		return err
	}
	e.Time = fromMicros(at)
	return nil
}

// auditInsertRows is the most events one INSERT statement appends.
const auditInsertRows = 32

// AppendAudit implements store.AuditStore. The batch is one job of the
// writer, so it commits with the writes around it; it is inserted with
// multi-row statements, which SQLite runs much faster than one per event.
func (db *DB) AppendAudit(ctx context.Context, events []store.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	return db.w.do(ctx, func(tx *wtx) error {
		for len(events) > 0 {
			n := min(len(events), auditInsertRows)
			args := make([]any, 0, n*14)
			for _, e := range events[:n] {
				args = append(args, micros(e.Time), e.Tenant, e.Type, e.Outcome, e.Actor, e.RequestID, e.RemoteAddr,
					e.User, e.Host, e.HostAccount, e.ClientID, e.Fingerprint, e.Detail, max(e.Repeats, 1))
			}
			if _, err := tx.exec("append audit events", auditInsert(n), args...); err != nil {
				return err
			}
			events = events[n:]
		}
		return nil
	})
}

// auditInsert returns the INSERT statement of n events.
func auditInsert(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO audit_events(event_time, tenant, type, outcome, actor, request_id, remote_addr,
		username, host, host_account, client_id, fingerprint, detail, repeats) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	return b.String()
}

// ListAudit implements store.AuditStore.
func (db *DB) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	if q.Limit <= 0 {
		return nil, errors.New("list audit events: limit must be positive")
	}
	where := []string{"tenant = ?"}
	args := []any{q.Tenant}
	if q.After > 0 {
		where = append(where, "id < ?")
		args = append(args, q.After)
	}
	if !q.From.IsZero() {
		where = append(where, "event_time >= ?")
		args = append(args, micros(q.From))
	}
	if !q.To.IsZero() {
		where = append(where, "event_time < ?")
		args = append(args, micros(q.To))
	}
	if q.Actor != "" {
		where = append(where, "actor = ?")
		args = append(args, q.Actor)
	}
	if q.Type != "" {
		where = append(where, "type = ?")
		args = append(args, q.Type)
	}
	args = append(args, q.Limit)
	out := []store.AuditEvent{}
	err := db.queryRows(ctx, "list audit events", `SELECT `+auditCols+` FROM audit_events
		WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, sqlstore.Collect(&out, scanAuditEvent), args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PruneAudit implements store.AuditStore, deleting pruneChunk rows per
// write transaction.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := db.writeCount(ctx, "prune audit events", `DELETE FROM audit_events WHERE id IN
			(SELECT id FROM audit_events WHERE event_time < ? ORDER BY event_time LIMIT ?)`, micros(before), pruneChunk)
		total += n
		if err != nil || n < pruneChunk {
			return total, err
		}
	}
}
