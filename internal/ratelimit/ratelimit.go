// Package ratelimit counts attempts per key (a client address, an account)
// in token buckets, with a backoff for keys that keep trying while they are
// refused. Taking a token is one atomic step with checking for it, so a
// concurrent burst gets at most the tokens there are. A Limiter is per
// process: several servers behind a load balancer each allow the limits.
package ratelimit

import (
	"crypto/sha256"
	"net/netip"
	"sync"
	"time"
)

// Options configure a Limiter.
type Options struct {
	// Burst is how many attempts a key may make at once; the bucket of a
	// key holds up to Burst tokens. It must be positive.
	Burst int
	// Window is how long an empty bucket takes to refill completely: a key
	// may make Burst attempts per Window on average.
	Window time.Duration
	// MaxBackoff is the longest a key is refused after repeated refusals:
	// the first refusal lasts until one token is back, and each refusal
	// after a refusal has ended doubles that, up to MaxBackoff. Zero means
	// no backoff: a key waits only for its next token. A key that makes no
	// attempt for a Window after its last refusal starts afresh.
	MaxBackoff time.Duration
	// MaxKeys bounds the keys tracked at once (default 100,000). Beyond it,
	// full buckets are forgotten first, then the least recently seen. A
	// key longer than 64 bytes is kept as its SHA-256, so each key takes
	// bounded memory too.
	MaxKeys int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Limiter is a set of token buckets, one per key. It is safe for
// concurrent use.
type Limiter struct {
	opts Options
	// perToken is how long one token takes to come back.
	perToken time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
	// strikes counts refusals in a row; blockedUntil is the end of the
	// current refusal.
	strikes      int
	blockedUntil time.Time
}

// sampleSize is how many buckets one eviction looks at.
const sampleSize = 64

// New returns a Limiter. It panics when Burst or Window is not positive.
func New(opts Options) *Limiter {
	if opts.Burst <= 0 || opts.Window <= 0 {
		panic("ratelimit: Burst and Window must be positive")
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = 100_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Limiter{opts: opts, perToken: opts.Window / time.Duration(opts.Burst), buckets: make(map[string]*bucket)}
}

// Ticket is what Take took; Refund gives it back.
type Ticket struct {
	l    *Limiter
	keys []string
}

// Refund returns the tokens of the ticket, for an attempt that turned out
// not to count (such as a successful sign-in). A zero Ticket refunds
// nothing; refunding twice gives back twice.
func (t Ticket) Refund() {
	if t.l == nil {
		return
	}
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	for _, k := range t.keys {
		if b, ok := t.l.buckets[k]; ok {
			b.tokens = min(float64(t.l.opts.Burst), b.tokens+1)
		}
	}
}

// Take takes one token from the bucket of every key, if each has one, in
// one step. Otherwise it takes nothing and returns how long the caller
// must wait before trying again (positive). Empty keys are skipped.
func (l *Limiter) Take(keys ...string) (Ticket, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Now()
	var wait time.Duration
	bs := make([]*bucket, 0, len(keys))
	taken := make([]string, 0, len(keys))
	for _, k := range keys {
		if k == "" {
			continue
		}
		k = storedKey(k)
		b := l.bucket(k, now)
		bs = append(bs, b)
		taken = append(taken, k)
		switch {
		case now.Before(b.blockedUntil):
			wait = max(wait, b.blockedUntil.Sub(now))
		case b.tokens < 1:
			wait = max(wait, l.strike(b, now))
		}
	}
	if wait > 0 {
		return Ticket{}, wait
	}
	for _, b := range bs {
		b.tokens--
	}
	return Ticket{l: l, keys: taken}, 0
}

// Wait returns how long the keys must wait before Take would succeed,
// without taking anything or counting a refusal.
func (l *Limiter) Wait(keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Now()
	var wait time.Duration
	for _, k := range keys {
		b, ok := l.buckets[storedKey(k)]
		if !ok {
			continue
		}
		l.refill(b, now)
		switch {
		case now.Before(b.blockedUntil):
			wait = max(wait, b.blockedUntil.Sub(now))
		case b.tokens < 1:
			wait = max(wait, l.untilToken(b))
		}
	}
	return wait
}

// maxKeyLen bounds the memory one key takes: a longer key (such as an
// account name of a megabyte that anyone can send) is kept as its SHA-256.
const maxKeyLen = 64

// storedKey is the key a bucket is kept under.
func storedKey(k string) string {
	if len(k) <= maxKeyLen {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return "\x00sha256:" + string(sum[:])
}

// strike refuses an empty bucket: it counts the refusal and blocks the key
// for the backoff, and returns the length of the block.
func (l *Limiter) strike(b *bucket, now time.Time) time.Duration {
	d := l.untilToken(b)
	if l.opts.MaxBackoff > 0 {
		backoff := l.perToken
		for range min(b.strikes, 32) {
			backoff *= 2
			if backoff >= l.opts.MaxBackoff {
				break
			}
		}
		d = max(d, min(backoff, l.opts.MaxBackoff))
	}
	b.strikes++
	b.blockedUntil = now.Add(d)
	return d
}

// untilToken is how long until an empty bucket has one token.
func (l *Limiter) untilToken(b *bucket) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return max(time.Nanosecond, time.Duration((1-b.tokens)*float64(l.perToken)))
}

// refill adds the tokens earned since the bucket was last seen. A bucket
// that is full a Window after its last refusal ended forgets its strikes.
func (l *Limiter) refill(b *bucket, now time.Time) {
	if now.After(b.at) {
		b.tokens = min(float64(l.opts.Burst), b.tokens+float64(now.Sub(b.at))/float64(l.perToken))
		b.at = now
	}
	if b.strikes > 0 && b.tokens >= float64(l.opts.Burst) && !now.Before(b.blockedUntil.Add(l.opts.Window)) {
		b.strikes = 0
	}
}

// bucket returns the refilled bucket of key, making a full one if needed.
func (l *Limiter) bucket(key string, now time.Time) *bucket {
	b, ok := l.buckets[key]
	if ok {
		l.refill(b, now)
		return b
	}
	if len(l.buckets) >= l.opts.MaxKeys {
		l.evict(now)
	}
	b = &bucket{tokens: float64(l.opts.Burst), at: now}
	l.buckets[key] = b
	return b
}

// evict forgets one bucket among a sample: a full one if there is one,
// else the one seen longest ago.
func (l *Limiter) evict(now time.Time) {
	var oldest string
	var oldestAt time.Time
	n := 0
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= float64(l.opts.Burst) && b.strikes == 0 {
			delete(l.buckets, k)
			return
		}
		if oldest == "" || b.at.Before(oldestAt) {
			oldest, oldestAt = k, b.at
		}
		if n++; n >= sampleSize {
			break
		}
	}
	delete(l.buckets, oldest)
}

// Len returns the number of keys tracked now.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// AddrKey returns the key a client address is counted by: an IPv4 address
// itself (also when written as IPv4-mapped IPv6), and for IPv6 its /64
// network, which one site or one customer line usually gets whole. It
// returns "" for an invalid address.
func AddrKey(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case !addr.IsValid():
		return ""
	case addr.Is4():
		return addr.String()
	}
	p, _ := addr.WithZone("").Prefix(64)
	return p.String()
}
