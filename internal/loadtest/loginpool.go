package loadtest

import (
	"context"
	"sync"
	"time"

	"github.com/tmsproject/tms/internal/totp"
)

// loginUser is a user of the login scenario's pool.
type loginUser struct {
	name     string
	password string
	key      totp.Key
}

// lease is a user handed out for one sign-in with the code of a TOTP step.
type lease struct {
	user *loginUser
	step int64
}

// code is the one-time code the lease signs in with.
func (l lease) code() string { return l.user.key.Code(l.step) }

// userPool hands out the login users so that none signs in twice within
// one TOTP step: the server accepts each user's code of a step once. A user
// is free when no iteration holds it and it has not signed in during the
// current step. When none is free, acquire waits for a release or for the
// next step.
type userPool struct {
	now func() time.Time

	mu sync.Mutex
	// ready holds the free users: idle, and not yet used in the current
	// step.
	ready []*loginUser
	// spent holds the idle users that signed in during spentStep.
	spent     []*loginUser
	spentStep int64
	// released is closed, and replaced, whenever a user comes back.
	released chan struct{}
	// waits counts the acquisitions that had to wait, and waited adds up
	// how long they waited.
	waits  int64
	waited time.Duration
}

// newUserPool returns a pool of users, all free; now is the clock of the
// TOTP steps.
func newUserPool(users []*loginUser, now func() time.Time) *userPool {
	return &userPool{now: now, ready: users, released: make(chan struct{})}
}

// acquire hands out a free user for the current step, waiting until one is
// free or ctx ends.
func (p *userPool) acquire(ctx context.Context) (lease, error) {
	var waitStart time.Time
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		l, ok, untilNextStep, released := p.take()
		if ok {
			if !waitStart.IsZero() {
				p.noteWait(time.Since(waitStart))
			}
			return l, nil
		}
		if waitStart.IsZero() {
			waitStart = time.Now()
		}
		timer.Reset(untilNextStep)
		select {
		case <-ctx.Done():
			return lease{}, ctx.Err()
		case <-released:
		case <-timer.C:
		}
	}
}

// take hands out a free user if there is one. Otherwise it returns how long
// until the next step begins and a channel closed at the next release.
func (p *userPool) take() (l lease, ok bool, untilNextStep time.Duration, released <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	step := totp.Step(now)
	p.advance(step)
	if n := len(p.ready); n > 0 {
		u := p.ready[n-1]
		p.ready = p.ready[:n-1]
		return lease{user: u, step: step}, true, 0, nil
	}
	return lease{}, false, max(totp.StepStart(step+1).Sub(now), time.Millisecond), p.released
}

// release gives a leased user back. It is free again at once when its step
// has passed, otherwise from the next step on.
func (p *userPool) release(l lease) {
	p.mu.Lock()
	defer p.mu.Unlock()
	step := totp.Step(p.now())
	p.advance(step)
	if l.step < step {
		p.ready = append(p.ready, l.user)
	} else {
		p.spent = append(p.spent, l.user)
	}
	close(p.released)
	p.released = make(chan struct{})
}

// advance frees the spent users when step is later than the step they
// signed in.
func (p *userPool) advance(step int64) {
	if step > p.spentStep {
		p.ready = append(p.ready, p.spent...)
		p.spent = p.spent[:0]
		p.spentStep = step
	}
}

func (p *userPool) noteWait(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waits++
	p.waited += d
}

// waitStats returns how many acquisitions waited and for how long in all.
func (p *userPool) waitStats() (int64, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waits, p.waited
}
