package oauth

import (
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/ratelimit"
)

// guard holds the limits of the unauthenticated routes: attempts on the
// pages that look up a user code or check a password, per client address
// (an IPv4 address or an IPv6 /64); failed sign-ins per account and
// address; device authorizations started per address; and an alarm when
// failures from all addresses together pass a threshold. Nothing is
// limited for all addresses together, so that an attacker cannot lock out
// everybody.
type guard struct {
	attempts    *ratelimit.Limiter
	accounts    *ratelimit.Limiter
	deviceCodes *ratelimit.Limiter
	alarm       *alarm
	metrics     *metrics.Metrics
}

func newGuard(o Options) *guard {
	return &guard{
		attempts: ratelimit.New(ratelimit.Options{Burst: o.AttemptsPerMinute, Window: time.Minute,
			MaxBackoff: o.AttemptBackoffMax, Now: o.Now}),
		accounts: ratelimit.New(ratelimit.Options{Burst: o.AccountFailures, Window: o.AccountWindow,
			MaxBackoff: o.AttemptBackoffMax, Now: o.Now}),
		deviceCodes: ratelimit.New(ratelimit.Options{Burst: o.DeviceCodesPerMinute, Window: time.Minute,
			MaxBackoff: o.AttemptBackoffMax, Now: o.Now}),
		alarm:   &alarm{threshold: o.AttemptsPerMinuteTotal, now: o.Now, log: o.Logger, metrics: o.Metrics},
		metrics: o.Metrics,
	}
}

// attempt is one counted try at a code or a password. Unless it is
// refunded, it stays counted.
type attempt struct {
	addr, account ratelimit.Ticket
	g             *guard
}

// refund gives the attempt back: it was the user's own, successful step.
func (a attempt) refund() {
	a.addr.Refund()
	a.account.Refund()
}

// failed counts the attempt as a failure towards the alarm.
func (a attempt) failed() {
	if a.g != nil {
		a.g.alarm.add()
	}
}

// accountKey is the key of an account's failures from one address.
func accountKey(account, addr string) string {
	if account == "" {
		return ""
	}
	return strings.ToLower(account) + "\x00" + addr
}

// admit counts an attempt of the request's client, against the account
// when one is named, in one atomic step with checking the limits. When a
// limit is reached it answers 429 with Retry-After and returns false.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request, account string) (attempt, bool) {
	addr := addrKey(r)
	tAddr, wait := h.guard.attempts.Take(addr)
	if wait > 0 {
		h.tooMany(w, r, metrics.RejectAttemptLimit, wait)
		return attempt{}, false
	}
	tAcct, wait := h.guard.accounts.Take(accountKey(account, addr))
	if wait > 0 {
		// The refused account attempt does not count for the address.
		tAddr.Refund()
		h.tooMany(w, r, metrics.RejectAccountBackoff, wait)
		return attempt{}, false
	}
	return attempt{addr: tAddr, account: tAcct, g: h.guard}, true
}

// held answers 429 when the client's address is refused now, without
// counting an attempt; it reports whether it did. Pages that look nothing
// up use it, so that a refused client is refused everywhere.
func (h *Handler) held(w http.ResponseWriter, r *http.Request) bool {
	wait := h.guard.attempts.Wait(addrKey(r))
	if wait <= 0 {
		return false
	}
	h.tooMany(w, r, metrics.RejectAttemptLimit, wait)
	return true
}

// tooMany answers a refused attempt.
func (h *Handler) tooMany(w http.ResponseWriter, r *http.Request, reason string, wait time.Duration) {
	h.metrics.Rejected(reason)
	noteRefusal(r, reason)
	w.Header().Set("Retry-After", retryAfter(wait))
	h.result(w, r, http.StatusTooManyRequests, "Too many attempts", "error",
		"Too many codes or sign-ins were tried from your network. Wait a while, then try again.", false)
}

// retryAfter formats a wait as whole seconds, at least one.
func retryAfter(wait time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
}

// alarm warns when failed attempts from all addresses together pass a
// threshold in a minute: it refuses nothing, so that an attacker cannot
// lock out everybody, but an operator learns of the attack.
type alarm struct {
	threshold int
	now       func() time.Time
	log       *slog.Logger
	metrics   *metrics.Metrics

	mu     sync.Mutex
	window time.Time // start of the current minute
	count  int
}

// add counts one failure and raises the alarm when the count of the
// current minute reaches the threshold (once a minute at most).
func (a *alarm) add() {
	a.mu.Lock()
	now := a.now()
	if now.Sub(a.window) >= time.Minute || now.Before(a.window) {
		a.window, a.count = now, 0
	}
	a.count++
	raise := a.count == a.threshold
	a.mu.Unlock()
	if raise {
		a.metrics.Alarm(metrics.AlarmSignInFailures)
		a.log.Warn("many failed code entries and sign-ins: an attack may be under way",
			"failures", a.threshold, "per", time.Minute, "setting", "oauth.user_code_attempts_per_minute_total")
	}
}

// clientAddr is the address of the request's client: the connection's
// remote IP. Forwarded-for headers are not trusted.
func clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		a, _ := netip.ParseAddr(r.RemoteAddr)
		return a
	}
	return ap.Addr()
}

// addrKey is the key the request's client is counted by.
func addrKey(r *http.Request) string {
	if k := ratelimit.AddrKey(clientAddr(r)); k != "" {
		return k
	}
	return r.RemoteAddr
}
