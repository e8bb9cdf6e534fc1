package upstream

import (
	"errors"
	"sync"
	"time"
)

// ErrBusy is returned by Pending.Begin when the table of sign-ins in
// progress is full of unexpired entries.
var ErrBusy = errors.New("too many sign-ins in progress")

// Flow is a sign-in sent to a provider and not yet back: what the callback
// needs to finish it, found by its state.
type Flow struct {
	Secrets
	// Upstream is the id of the provider the browser was sent to.
	Upstream string
	// SessionHash identifies the browser session that started it.
	SessionHash string
	// UserCode is the device request it signs in for.
	UserCode string
	Expires  time.Time
}

// PendingOptions bound a Pending table.
type PendingOptions struct {
	// TTL is how long a flow may take (default 10m).
	TTL time.Duration
	// Max bounds the flows of all sessions together (default 10000);
	// beyond it Begin refuses with ErrBusy.
	Max int
	// MaxPerSession bounds the flows of one session (default 4); a new
	// one replaces the session's oldest.
	MaxPerSession int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Pending holds the flows in progress in memory, each usable once, for at
// most the TTL. It is safe for concurrent use. Anyone can start a flow, so
// everything it keeps is bounded: the number of flows in all, per session,
// and their age.
type Pending struct {
	opts      PendingOptions
	mu        sync.Mutex
	byState   map[string]Flow
	bySession map[string][]string // states in the order they began
	order     []string            // all states in the order they began (so, of expiry)
}

// NewPending returns an empty table.
func NewPending(opts PendingOptions) *Pending {
	if opts.TTL <= 0 {
		opts.TTL = 10 * time.Minute
	}
	if opts.Max <= 0 {
		opts.Max = 10000
	}
	if opts.MaxPerSession <= 0 {
		opts.MaxPerSession = 4
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Pending{opts: opts, byState: map[string]Flow{}, bySession: map[string][]string{}}
}

// Begin records a new flow with fresh secrets for the session and returns
// it. It returns ErrBusy when the table is full.
func (p *Pending) Begin(upstreamID, sessionHash, userCode string) (Flow, error) {
	now := p.opts.Now()
	f := Flow{Secrets: NewSecrets(), Upstream: upstreamID, SessionHash: sessionHash, UserCode: userCode, Expires: now.Add(p.opts.TTL)}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	if states := p.bySession[sessionHash]; len(states) >= p.opts.MaxPerSession {
		p.remove(states[0])
	}
	if len(p.byState) >= p.opts.Max {
		return Flow{}, ErrBusy
	}
	p.byState[f.State] = f
	p.bySession[sessionHash] = append(p.bySession[sessionHash], f.State)
	p.order = append(p.order, f.State)
	if len(p.order) > 2*p.opts.Max {
		p.expire(now)
	}
	return f, nil
}

// Take removes the flow of state and returns it, if it exists and has not
// expired: a state is good for one callback.
func (p *Pending) Take(state string) (Flow, bool) {
	now := p.opts.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	f, ok := p.byState[state]
	if ok {
		p.remove(state)
	}
	return f, ok
}

// Len returns the number of flows held.
func (p *Pending) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byState)
}

// expire drops the flows that expired by now, oldest first.
func (p *Pending) expire(now time.Time) {
	n := 0
	for _, s := range p.order {
		f, ok := p.byState[s]
		if ok && now.Before(f.Expires) {
			break
		}
		if ok {
			p.remove(s)
		}
		n++
	}
	p.order = p.order[n:]
	if len(p.order) > 2*p.opts.Max {
		// Flows taken or replaced leave their states behind in order; keep
		// it within bounds however many flows one session begins.
		live := make([]string, 0, len(p.byState))
		for _, s := range p.order {
			if _, ok := p.byState[s]; ok {
				live = append(live, s)
			}
		}
		p.order = live
	}
}

// remove drops a flow from the maps; its place in order is skipped later.
func (p *Pending) remove(state string) {
	f, ok := p.byState[state]
	if !ok {
		return
	}
	delete(p.byState, state)
	states := p.bySession[f.SessionHash]
	for i, s := range states {
		if s == state {
			states = append(states[:i:i], states[i+1:]...)
			break
		}
	}
	if len(states) == 0 {
		delete(p.bySession, f.SessionHash)
	} else {
		p.bySession[f.SessionHash] = states
	}
}
