package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/metrics"
)

type ctxKey int

const infoKey ctxKey = 1

// requestInfo collects what the request log line reports.
type requestInfo struct {
	id     string
	route  string
	tenant string
	actor  string
	err    error
	note   string
	// audit is what the handler reports for the request's audit event.
	audit audit.Facts
	// refusal is why the middleware refused the request (a
	// metrics.RejectReasons value), if it did.
	refusal string
}

func requestInfoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey).(*requestInfo)
	return info
}

// requestID returns the id of the request ctx belongs to.
func requestID(ctx context.Context) string {
	if info := requestInfoFrom(ctx); info != nil {
		return info.id
	}
	return ""
}

// noteRequest attaches a short remark (such as why a key was refused) to
// the request's log line.
func noteRequest(ctx context.Context, note string) {
	if info := requestInfoFrom(ctx); info != nil {
		info.note = note
	}
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
	// errMsg is the message of the error answer, for the audit log.
	errMsg string
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// chain wraps next in the API's middleware: request id and log line,
// panic recovery, the body read before admission, admission control and
// deadline.
func (a *API) chain(next http.Handler) http.Handler {
	slots := make(chan struct{}, a.opts.MaxInFlight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{id: r.Header.Get("X-Request-Id")}
		if !validRequestID(info.id) {
			info.id = newRequestID()
		}
		w.Header().Set("X-Request-Id", info.id)
		sw := &statusWriter{ResponseWriter: w}
		ctx := context.WithValue(r.Context(), infoKey, info)
		if a.opts.Audit != nil {
			ctx = audit.NewContext(ctx, &info.audit)
		}
		r = r.WithContext(ctx)
		// base ends when the client hangs up, unlike the request's
		// deadline below, which ends when the handler returns.
		base := r
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.log.Error("panic serving request", "request_id", info.id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeError(sw, http.StatusInternalServerError, "Internal error. (request id "+info.id+")")
				}
			}
			d := time.Since(start)
			route := info.route
			if route == "" {
				route = metrics.RouteUnmatched
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			a.opts.Metrics.RequestDone(route, r.Method, status, d)
			if reason := refusalReason(base.Context(), status, info); reason != "" {
				a.opts.Metrics.Refused(reason, d)
				a.refusals.Add(reason)
				a.logRequest(base, sw, info, d, slog.LevelDebug)
			} else {
				a.logRequest(base, sw, info, d, slog.LevelInfo)
			}
			a.recordAudit(r, info, sw, status)
		}()

		if !a.readBody(sw, r, info) {
			return
		}
		select {
		case slots <- struct{}{}:
			a.opts.Metrics.Admitted()
			defer func() {
				<-slots
				a.opts.Metrics.Released()
			}()
		default:
			info.refusal = metrics.RejectOverload
			info.note = "overload: too many requests in flight"
			sw.Header().Set("Retry-After", a.retryAfter())
			writeError(sw, http.StatusServiceUnavailable, fmt.Sprintf("The server is at capacity (%d requests in flight); retry shortly.", a.opts.MaxInFlight))
			return
		}
		ctx, cancel := context.WithTimeout(ctx, a.opts.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		next.ServeHTTP(sw, r)
	})
}

// refusalReason tells whether a request was refused or abandoned as
// expected under load — refused for want of capacity, its body too slow,
// its client gone — and why; such requests are counted and summarized
// rather than logged one by one.
func refusalReason(base context.Context, status int, info *requestInfo) string {
	switch {
	case info.refusal != "":
		return info.refusal
	case base.Err() != nil:
		return metrics.RejectClientGone
	case status == http.StatusServiceUnavailable:
		return metrics.RejectBusy
	}
	return ""
}

// readBody receives the request's whole body, at most MaxBodyBytes of it,
// within BodyTimeout, before the request takes an in-flight slot: a client
// that sends its body slowly holds its connection only, never a slot that
// real work needs. The handler then reads the body from memory; a body
// over the limit reads as its first MaxBodyBytes followed by an
// *http.MaxBytesError, as from http.MaxBytesReader. readBody answers a
// body that does not arrive in time with 408 itself and reports whether
// the request goes on.
func (a *API) readBody(w *statusWriter, r *http.Request, info *requestInfo) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	rc := http.NewResponseController(w)
	// Connections that cannot take deadlines (none of net/http's) read
	// under the server's ReadTimeout alone.
	_ = rc.SetReadDeadline(time.Now().Add(a.opts.BodyTimeout))
	a.opts.Metrics.ReadingBody(1)
	body, err := io.ReadAll(io.LimitReader(r.Body, a.opts.MaxBodyBytes+1))
	a.opts.Metrics.ReadingBody(-1)
	var timeout net.Error
	switch {
	case errors.As(err, &timeout) && timeout.Timeout():
		info.refusal = metrics.RejectSlowBody
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusRequestTimeout, fmt.Sprintf("request body: not received within %s", a.opts.BodyTimeout))
		return false
	case err != nil:
		info.refusal = metrics.RejectClientGone
		w.Header().Set("Connection", "close")
		badRequest(w, "request body: "+err.Error())
		return false
	case int64(len(body)) > a.opts.MaxBodyBytes:
		// The rest of the body stays unread; the deadline keeps bounding
		// the server's attempt to drain it, and the connection closes.
		w.Header().Set("Connection", "close")
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body[:a.opts.MaxBodyBytes]),
			errReader{&http.MaxBytesError{Limit: a.opts.MaxBodyBytes}}))
		return true
	}
	// The body is complete: the handler runs under its own deadline.
	_ = rc.SetReadDeadline(time.Time{})
	r.Body = io.NopCloser(bytes.NewReader(body))
	return true
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// validRequestID accepts a caller's request id if it is short and plain.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// logRequest writes the request's log line at level, or at error level
// for a 5xx answer logged at info level.
func (a *API) logRequest(r *http.Request, w *statusWriter, info *requestInfo, d time.Duration, level slog.Level) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	if status >= 500 && level == slog.LevelInfo {
		level = slog.LevelError
	}
	if !a.log.Enabled(r.Context(), level) {
		return
	}
	route := info.route
	if route == "" {
		route = "unmatched"
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.String("request_id", info.id),
		slog.String("remote", r.RemoteAddr),
	}
	if info.tenant != "" {
		attrs = append(attrs, slog.String("tenant", info.tenant))
	}
	if info.actor != "" {
		attrs = append(attrs, slog.String("actor", info.actor))
	}
	if info.note != "" {
		attrs = append(attrs, slog.String("note", info.note))
	}
	if info.err != nil && status >= 500 {
		attrs = append(attrs, slog.String("error", info.err.Error()))
	}
	a.log.LogAttrs(context.WithoutCancel(r.Context()), level, "request", attrs...)
}
