package client

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Envelope is the part every JSON answer of the server has. Answer types
// embed it; Do fills it and keeps the answer as received. In list elements
// it stays empty.
type Envelope struct {
	// ResultCode is "0" on success.
	ResultCode string `json:"result_code"`
	// ResultMsg is "success" or a summary such as "1 deleted: client app1".
	ResultMsg string `json:"result_msg"`
	raw       json.RawMessage
}

// Raw returns the server's JSON answer exactly as received, or nil for a
// value that did not come from Do (such as a list element).
func (e *Envelope) Raw() json.RawMessage { return e.raw }

func (e *Envelope) keepRaw(data []byte) { e.raw = data }

// rawKeeper is implemented by every answer type that embeds Envelope.
type rawKeeper interface{ keepRaw([]byte) }

// Bool is the enabled flag, which the server writes as true or false in
// single records and as 0 or 1 in list elements.
type Bool bool

// UnmarshalJSON accepts true, false, 0 and 1.
func (b *Bool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true", "1":
		*b = true
	case "false", "0":
		*b = false
	case "null":
	default:
		return fmt.Errorf("enabled: %s is neither a boolean nor 0/1", data)
	}
	return nil
}

// Unlimited is the count the server stores for a key with no use limit,
// and the TTL it stores for a key that never expires.
const Unlimited = 2147483647

// Never reports whether t is the server's "never expires" time
// (9999-12-31T23:59:59Z).
func Never(t time.Time) bool { return t.Year() >= 9999 }

// Updated answers update requests.
type Updated struct {
	Envelope
	// FieldsUpdated counts the statements that changed a row; 0 means the
	// record was not found or nothing was asked.
	FieldsUpdated int64 `json:"fields_updated"`
	// ExpiresMsg (user hosts and delegations only) is the new expiry, or
	// "UNCHANGED" when nothing matched.
	ExpiresMsg string `json:"expires_msg,omitempty"`
}

// Deleted answers delete requests.
type Deleted struct {
	Envelope
	// NumDeleted counts the rows removed; 0 means nothing matched.
	NumDeleted int64 `json:"num_deleted"`
}

// pathf builds a request path from a format whose %s verbs are filled with
// path-escaped values.
func pathf(format string, segments ...string) string {
	args := make([]any, len(segments))
	for i, s := range segments {
		args[i] = url.PathEscape(s)
	}
	return fmt.Sprintf(format, args...)
}

// parseCount reads one of the decimal strings of the key-creation answer.
func parseCount(field, s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", field, s)
	}
	return n, nil
}
