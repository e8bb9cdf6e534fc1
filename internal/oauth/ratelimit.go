package oauth

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// limiter counts failed code entries and sign-ins, per client address and
// in total, in token buckets that refill evenly over a minute. A request is
// refused while either bucket it would draw from is empty. It is per
// process: several servers behind a load balancer each allow the limits.
type limiter struct {
	mu       sync.Mutex
	now      func() time.Time
	perAddr  float64
	totalCap float64
	total    bucket
	addrs    map[string]*bucket
}

// bucket holds up to capacity tokens.
type bucket struct {
	tokens float64
	at     time.Time
}

// maxTrackedAddrs bounds the memory of the per-address buckets; beyond it
// the full (idle) buckets are dropped.
const maxTrackedAddrs = 10_000

func newLimiter(perAddr, total int, now func() time.Time) *limiter {
	return &limiter{now: now, perAddr: float64(perAddr), totalCap: float64(total), total: bucket{tokens: float64(total), at: now()},
		addrs: make(map[string]*bucket)}
}

// refill adds the tokens earned since the bucket was last seen.
func (b *bucket) refill(capacity float64, now time.Time) {
	b.tokens = min(capacity, b.tokens+now.Sub(b.at).Minutes()*capacity)
	b.at = now
}

// wait returns how long until one token is available.
func (b *bucket) wait(capacity float64) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / capacity * float64(time.Minute))
}

// check reports how long the address must wait before it may try again;
// zero means it may try now. It takes nothing from the buckets.
func (l *limiter) check(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.total.refill(l.totalCap, now)
	wait := l.total.wait(l.totalCap)
	if b, ok := l.addrs[addr]; ok {
		b.refill(l.perAddr, now)
		wait = max(wait, b.wait(l.perAddr))
	}
	return wait
}

// fail takes one token from the address's bucket and the total bucket.
func (l *limiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.addrs[addr]
	if !ok {
		if len(l.addrs) >= maxTrackedAddrs {
			l.dropIdle(now)
		}
		b = &bucket{tokens: l.perAddr, at: now}
		l.addrs[addr] = b
	}
	b.refill(l.perAddr, now)
	b.tokens = max(0, b.tokens-1)
	l.total.refill(l.totalCap, now)
	l.total.tokens = max(0, l.total.tokens-1)
}

// dropIdle forgets the buckets that have refilled completely, or all of
// them if none has.
func (l *limiter) dropIdle(now time.Time) {
	for addr, b := range l.addrs {
		b.refill(l.perAddr, now)
		if b.tokens >= l.perAddr {
			delete(l.addrs, addr)
		}
	}
	if len(l.addrs) >= maxTrackedAddrs {
		clear(l.addrs)
	}
}

// clientAddr is the address the limits are counted by: the connection's
// remote IP. Forwarded-for headers are not trusted.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
