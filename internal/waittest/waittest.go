// Package waittest waits in tests for a condition that another process or
// goroutine makes true and that sends no signal of its own (a port that
// starts listening, a file that appears): it checks the condition again
// and again until it holds or a deadline passes. Use a channel or the
// injected clock instead whenever the code under test can signal. Only
// tests import it.
package waittest

import (
	"testing"
	"time"
)

// every is the pause between two checks.
const every = 10 * time.Millisecond

// Until checks cond until it returns true, and fails the test (naming
// what it waited for) when limit passes first. The limit only stops a
// test that would otherwise hang; it decides nothing about speed.
func Until(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Within(limit, cond) {
		t.Fatalf("waited %s for %s", limit, what)
	}
}

// Within checks cond until it returns true or limit passes, and reports
// whether it became true.
func Within(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(every)
	}
}
