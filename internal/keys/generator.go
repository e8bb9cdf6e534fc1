package keys

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// ErrBusy reports that every generation slot for the requested key type
// stayed taken for the whole allowed wait. Callers answer it with 503 and a
// Retry-After header; nothing was generated.
var ErrBusy = errors.New("key generation is at capacity, try again shortly")

// Default pool settings, used for zero Options fields.
const (
	// DefaultMaxWait is how long Generate waits for an Ed25519 or ECDSA slot.
	DefaultMaxWait = time.Second
	// DefaultRSAMaxWait is how long Generate waits for an RSA slot. It is
	// short on purpose: an RSA key takes a second or more, so queueing for
	// one would only hold the request open.
	DefaultRSAMaxWait = 50 * time.Millisecond
)

// Options sizes the generation pools. A zero field selects its default.
type Options struct {
	// Workers is the number of Ed25519 and ECDSA keys generated at once.
	// Default: GOMAXPROCS.
	Workers int
	// RSAWorkers is the number of RSA keys generated at once, in a pool of
	// its own. Default: half of GOMAXPROCS, at least 1.
	RSAWorkers int
	// MaxWait is the longest Generate waits for an Ed25519 or ECDSA slot
	// before it returns ErrBusy. Default: DefaultMaxWait.
	MaxWait time.Duration
	// RSAMaxWait is the longest Generate waits for an RSA slot before it
	// returns ErrBusy. Default: DefaultRSAMaxWait.
	RSAMaxWait time.Duration
}

// Validate reports the first option that is out of range. Zero is always
// valid (it means the default); negative values are not.
func (o Options) Validate() error {
	switch {
	case o.Workers < 0:
		return fmt.Errorf("key generator Workers is %d: must be positive, or 0 for the default", o.Workers)
	case o.RSAWorkers < 0:
		return fmt.Errorf("key generator RSAWorkers is %d: must be positive, or 0 for the default", o.RSAWorkers)
	case o.MaxWait < 0:
		return fmt.Errorf("key generator MaxWait is %s: must be positive, or 0 for the default", o.MaxWait)
	case o.RSAMaxWait < 0:
		return fmt.Errorf("key generator RSAMaxWait is %s: must be positive, or 0 for the default", o.RSAMaxWait)
	}
	return nil
}

// withDefaults returns o with every zero field replaced by its default.
func (o Options) withDefaults() Options {
	procs := runtime.GOMAXPROCS(0)
	if o.Workers == 0 {
		o.Workers = procs
	}
	if o.RSAWorkers == 0 {
		o.RSAWorkers = max(1, procs/2)
	}
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.RSAMaxWait == 0 {
		o.RSAMaxWait = DefaultRSAMaxWait
	}
	return o
}

// Generator generates key pairs in two bounded pools: one for Ed25519 and
// ECDSA, and a separate, smaller one for RSA, so RSA requests can never take
// the slots the fast key types need. It is safe for concurrent use.
type Generator struct {
	fast *pool
	rsa  *pool
}

// NewGenerator returns a Generator sized by opts, or the error from
// opts.Validate.
func NewGenerator(opts Options) (*Generator, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return &Generator{
		fast: newPool(opts.Workers, opts.MaxWait),
		rsa:  newPool(opts.RSAWorkers, opts.RSAMaxWait),
	}, nil
}

// Generate creates a key pair of type t. It waits for a free slot in the
// pool for t at most that pool's maximum wait, and returns an error wrapping
// ErrBusy if none freed up. If ctx ends first, while waiting or while the key
// is being generated, it returns at once with an error wrapping ctx's error;
// a generation already under way then finishes in the background and only
// then frees its slot, so the pools never run more than their size.
func (g *Generator) Generate(ctx context.Context, t Type) (KeyPair, error) {
	var p *pool
	switch t {
	case Ed25519, ECDSA:
		p = g.fast
	case RSA:
		p = g.rsa
	default:
		return KeyPair{}, fmt.Errorf("generate key: unknown key type %q", t)
	}
	if err := p.acquire(ctx); err != nil {
		return KeyPair{}, fmt.Errorf("generate %s key: %w", t, err)
	}
	type outcome struct {
		pair KeyPair
		err  error
	}
	done := make(chan outcome, 1)
	go func() {
		pair, err := generate(t)
		p.release() // before the caller can see the result
		done <- outcome{pair, err}
	}()
	select {
	case out := <-done:
		return out.pair, out.err
	case <-ctx.Done():
		return KeyPair{}, fmt.Errorf("generate %s key: %w", t, context.Cause(ctx))
	}
}

// PoolStats describes one generation pool at one moment.
type PoolStats struct {
	// InUse is the number of keys being generated now.
	InUse int
	// Capacity is the number of keys the pool generates at once.
	Capacity int
	// Waiting is the number of requests waiting for a slot now.
	Waiting int64
	// Refused counts the requests that got ErrBusy since the Generator was
	// created.
	Refused uint64
}

// Stats describes both generation pools.
type Stats struct {
	// Fast is the Ed25519 and ECDSA pool.
	Fast PoolStats
	// RSA is the RSA pool.
	RSA PoolStats
}

// Stats returns the current use of both pools.
func (g *Generator) Stats() Stats {
	return Stats{Fast: g.fast.stats(), RSA: g.rsa.stats()}
}

// pool is a counting semaphore with a bounded wait.
type pool struct {
	slots   chan struct{}
	maxWait time.Duration
	waiting atomic.Int64
	refused atomic.Uint64
}

func newPool(size int, maxWait time.Duration) *pool {
	return &pool{slots: make(chan struct{}, size), maxWait: maxWait}
}

// acquire takes a slot, waiting at most p.maxWait and never after ctx ends.
func (p *pool) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	select {
	case p.slots <- struct{}{}:
		return nil
	default:
	}
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	timer := time.NewTimer(p.maxWait)
	defer timer.Stop()
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-timer.C:
		p.refused.Add(1)
		return ErrBusy
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (p *pool) release() { <-p.slots }

func (p *pool) stats() PoolStats {
	return PoolStats{InUse: len(p.slots), Capacity: cap(p.slots), Waiting: p.waiting.Load(), Refused: p.refused.Load()}
}
