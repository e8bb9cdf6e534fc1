// Package clocktest provides a clock that tests set and move by hand, to
// give the code under test as its source of the current time, and the one
// helper with which tests wait for a condition. Only tests import it.
package clocktest

import (
	"sync"
	"testing"
	"time"
)

// Clock is a time source that moves only when the test moves it. It is
// safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock that reads start.
func New(start time.Time) *Clock {
	return &Clock{now: start}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// waitLimit bounds every wait of Eventually: far beyond what any condition
// needs on a busy machine, so that reaching it means the condition will
// never hold.
const waitLimit = time.Minute

// Eventually checks its condition first after firstPoll, then at intervals
// that double up to maxPoll, so that a condition that costs a request or a
// process is not checked thousands of times a second.
const (
	firstPoll = 2 * time.Millisecond
	maxPoll   = 100 * time.Millisecond
)

// Eventually checks cond until it holds, and fails the test when it still
// does not after a minute. It is how tests wait for something another
// goroutine or process does: never a sleep of a guessed length.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for every := firstPoll; !cond(); every = min(2*every, maxPoll) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after %v", what, waitLimit)
		}
		time.Sleep(every)
	}
}
