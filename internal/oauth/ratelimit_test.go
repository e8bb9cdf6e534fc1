package oauth

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 7, 13, 12, 0, 0, 0, time.UTC)
	l := newLimiter(3, 5, func() time.Time { return now })
	for i := range 3 {
		if w := l.check("a"); w != 0 {
			t.Fatalf("attempt %d of a refused for %v", i+1, w)
		}
		l.fail("a")
	}
	if w := l.check("a"); w <= 0 || w > 20*time.Second {
		t.Fatalf("a after 3 failures: wait %v, want up to 20s", w)
	}
	// Other addresses are not held back by a, until the total is used up.
	l.fail("b")
	l.fail("c")
	if w := l.check("d"); w <= 0 {
		t.Fatal("d allowed after 5 failures in total")
	}
	// Buckets refill evenly over a minute.
	now = now.Add(20 * time.Second)
	if w := l.check("a"); w != 0 {
		t.Fatalf("a after 20s: wait %v", w)
	}
	now = now.Add(time.Minute)
	if w := l.check("d"); w != 0 {
		t.Fatalf("d after a minute: wait %v", w)
	}
	// The number of tracked addresses is bounded.
	for i := range maxTrackedAddrs + 10 {
		l.fail(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
		now = now.Add(time.Millisecond)
	}
	if n := len(l.addrs); n > maxTrackedAddrs {
		t.Fatalf("%d addresses tracked, bound %d", n, maxTrackedAddrs)
	}
}
