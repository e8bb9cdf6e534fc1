package store

import (
	"context"
	"time"
)

// AuditEvent is one entry of the audit log: a security-relevant thing that
// happened, who did it, to what, and how it ended. It never holds a secret
// or a private key. Events are only appended and, past their retention,
// pruned; they are never changed.
type AuditEvent struct {
	// ID orders events: a later append gets a larger id.
	ID   int64
	Time time.Time
	// Tenant is the tenant the event belongs to; empty when none is known
	// (such as a lookup of a key that does not exist).
	Tenant string
	// Type names what happened, such as "key.create" or "auth.failure".
	Type string
	// Outcome is "success", "denied", "refused", "invalid" or "error".
	Outcome string
	// Actor is who acted: "client:ID", "admin:ID", "host:ID", "user:NAME",
	// or empty for an anonymous caller.
	Actor      string
	RequestID  string
	RemoteAddr string
	// The subject of the event; each is empty when it does not apply.
	User        string
	Host        string
	HostAccount string
	ClientID    string
	Fingerprint string
	// Detail is a short human-readable description: limits asked for, the
	// reason for a refusal.
	Detail string
	// Repeats is how many identical events the entry stands for: the
	// recorder folds repeated key lookups and authentication failures that
	// differ only in time and request id into one entry, with the first
	// one's time and request id. Zero is stored as 1.
	Repeats int
}

// AuditQuery selects audit events. Events come newest first (by id).
type AuditQuery struct {
	// Tenant is required; "" selects the events that have no tenant.
	Tenant string
	// From and To bound the event time: From inclusive, To exclusive. A zero
	// time leaves that side open.
	From, To time.Time
	// Actor and Type, when set, must match exactly.
	Actor string
	Type  string
	// Limit caps the number of events returned; it must be positive.
	Limit int
	// After continues a listing: only events with an id smaller than After
	// are returned. Zero starts with the newest event.
	After int64
}

// AuditStore keeps the audit log.
type AuditStore interface {
	// AppendAudit appends the events in one transaction: all of them or
	// none. The ids of the events passed in are ignored.
	AppendAudit(ctx context.Context, events []AuditEvent) error
	// ListAudit returns the events q selects, newest first.
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
	// PruneAudit deletes every event older than before and returns how many
	// it deleted. It deletes in bounded chunks so that it never holds the
	// database for long.
	PruneAudit(ctx context.Context, before time.Time) (int64, error)
}
