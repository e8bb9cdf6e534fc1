package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlstore"
)

const auditCols = `id, event_time, tenant, type, outcome, actor, request_id, remote_addr,
	username, host, host_account, client_id, fingerprint, detail, repeats`

// pruneChunk bounds the rows one prune statement deletes, so that no
// statement runs into the statement timeout on a large table.
const pruneChunk = 5000

func scanAuditEvent(s scanner, e *store.AuditEvent) error {
	return s.Scan(&e.ID, &e.Time, &e.Tenant, &e.Type, &e.Outcome, &e.Actor, &e.RequestID, &e.RemoteAddr,
		&e.User, &e.Host, &e.HostAccount, &e.ClientID, &e.Fingerprint, &e.Detail, &e.Repeats)
}

// AppendAudit implements store.AuditStore with one INSERT of the whole
// batch, so that it is one round trip and one transaction.
func (db *DB) AppendAudit(ctx context.Context, events []store.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	times := make([]time.Time, n)
	repeats := make([]int32, n)
	cols := make([][]string, 12)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	for i, e := range events {
		times[i] = store.Micro(e.Time)
		repeats[i] = int32(max(e.Repeats, 1))
		for j, v := range [...]string{e.Tenant, e.Type, e.Outcome, e.Actor, e.RequestID, e.RemoteAddr,
			e.User, e.Host, e.HostAccount, e.ClientID, e.Fingerprint, e.Detail} {
			cols[j][i] = v
		}
	}
	_, err := db.exec(ctx, "append audit events", `INSERT INTO audit_events(event_time, tenant, type, outcome, actor,
		request_id, remote_addr, username, host, host_account, client_id, fingerprint, detail, repeats)
		SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::int[])`,
		times, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8], cols[9], cols[10], cols[11], repeats)
	return err
}

// ListAudit implements store.AuditStore.
func (db *DB) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	if q.Limit <= 0 {
		return nil, errors.New("list audit events: limit must be positive")
	}
	where := []string{"tenant = $1"}
	args := []any{q.Tenant}
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, cond+" $"+strconv.Itoa(len(args)))
	}
	if q.After > 0 {
		add("id <", q.After)
	}
	if !q.From.IsZero() {
		add("event_time >=", store.Micro(q.From))
	}
	if !q.To.IsZero() {
		add("event_time <", store.Micro(q.To))
	}
	if q.Actor != "" {
		add("actor =", q.Actor)
	}
	if q.Type != "" {
		add("type =", q.Type)
	}
	args = append(args, q.Limit)
	out := []store.AuditEvent{}
	err := db.queryAll(ctx, "list audit events", `SELECT `+auditCols+` FROM audit_events
		WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), sqlstore.Collect(&out, scanAuditEvent), args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PruneAudit implements store.AuditStore, deleting pruneChunk rows per
// statement.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := db.exec(ctx, "prune audit events", `DELETE FROM audit_events WHERE id IN
			(SELECT id FROM audit_events WHERE event_time < $1 ORDER BY event_time LIMIT $2)`, store.Micro(before), pruneChunk)
		total += n
		if err != nil || n < pruneChunk {
			return total, err
		}
	}
}
