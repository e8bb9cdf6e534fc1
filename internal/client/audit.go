package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	ID          int64     `json:"id"`
	Time        time.Time `json:"time"`
	Tenant      string    `json:"tenant"`
	Type        string    `json:"type"`
	Outcome     string    `json:"outcome"`
	Actor       string    `json:"actor"`
	RequestID   string    `json:"request_id"`
	RemoteAddr  string    `json:"remote_addr"`
	User        string    `json:"user"`
	Host        string    `json:"host"`
	HostAccount string    `json:"host_account"`
	ClientID    string    `json:"client_id"`
	Fingerprint string    `json:"public_key_fingerprint"`
	Detail      string    `json:"detail"`
	// Repeats is how many identical events the entry stands for.
	Repeats int `json:"repeats"`
}

// AuditList answers ListAudit.
type AuditList struct {
	Envelope
	NumEvents int          `json:"num_events"`
	Events    []AuditEvent `json:"events"`
	// NextAfter, when not 0, is the After of the next page.
	NextAfter int64 `json:"next_after"`
}

// AuditQuery selects audit events; zero fields do not filter.
type AuditQuery struct {
	From, To time.Time
	Actor    string
	Type     string
	// Limit is the most events returned (the server's default is 100, its
	// maximum 1000).
	Limit int
	// After continues a listing after the event with this id.
	After int64
	// NoTenant lists the events that belong to no tenant (administrator of
	// the default tenant only).
	NoTenant bool
}

// ListAudit returns the audit events of the credentials' tenant, newest
// first (GET /v1/tms/audit/list). It needs administrator credentials.
func (c *Client) ListAudit(ctx context.Context, q AuditQuery) (AuditList, error) {
	v := url.Values{}
	if !q.From.IsZero() {
		v.Set("from", q.From.Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.Format(time.RFC3339Nano))
	}
	if q.Actor != "" {
		v.Set("actor", q.Actor)
	}
	if q.Type != "" {
		v.Set("type", q.Type)
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.After != 0 {
		v.Set("after", strconv.FormatInt(q.After, 10))
	}
	if q.NoTenant {
		v.Set("no_tenant", "true")
	}
	return call[AuditList](ctx, c, http.MethodGet, "/v1/tms/audit/list", v, nil)
}
