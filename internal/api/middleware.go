package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
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
// panic recovery, admission control, deadline and body limit.
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
		a.opts.Metrics.RequestStarted()
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
			a.logRequest(r, sw, info, d)
			route := info.route
			if route == "" {
				route = metrics.RouteUnmatched
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			a.opts.Metrics.RequestDone(route, r.Method, status, d)
			a.recordAudit(r, info, sw, status)
		}()

		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		default:
			info.note = "overload: too many requests in flight"
			a.opts.Metrics.Rejected(metrics.RejectOverload)
			sw.Header().Set("Retry-After", a.retryAfter())
			writeError(sw, http.StatusServiceUnavailable, fmt.Sprintf("The server is at capacity (%d requests in flight); retry shortly.", a.opts.MaxInFlight))
			return
		}
		ctx, cancel := context.WithTimeout(ctx, a.opts.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		r.Body = http.MaxBytesReader(sw, r.Body, a.opts.MaxBodyBytes)
		next.ServeHTTP(sw, r)
	})
}

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

func (a *API) logRequest(r *http.Request, w *statusWriter, info *requestInfo, d time.Duration) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelInfo
	if status >= 500 {
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
