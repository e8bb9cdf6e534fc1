package ratelimit

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/clocktest"
)

func TestTakeIsAtomicUnderConcurrency(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 7, 13, 12, 0, 0, 0, time.UTC))
	l := New(Options{Burst: 10, Window: time.Minute, Now: clock.Now})
	var granted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, wait := l.Take("a"); wait == 0 {
				granted.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := granted.Load(); n != 10 {
		t.Fatalf("%d of 200 concurrent takes granted, want exactly the burst of 10", n)
	}
}

func TestBackoffAndRefill(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 7, 13, 12, 0, 0, 0, time.UTC))
	l := New(Options{Burst: 3, Window: 30 * time.Second, MaxBackoff: time.Minute, Now: clock.Now})
	for i := range 3 {
		if _, w := l.Take("a"); w != 0 {
			t.Fatalf("attempt %d refused for %v", i+1, w)
		}
	}
	// One token comes back every 10s; each refusal after the last one
	// ended doubles the wait, up to the maximum.
	for i, want := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute} {
		_, w := l.Take("a")
		if w != want {
			t.Fatalf("refusal %d: wait %v, want %v", i+1, w, want)
		}
		// Trying again during the block does not lengthen it.
		clock.Add(w / 2)
		if _, w2 := l.Take("a"); w2 != w-w/2 {
			t.Fatalf("refusal %d, retried halfway: wait %v, want %v", i+1, w2, w-w/2)
		}
		clock.Add(w - w/2)
		if i < 4 {
			// The tokens earned during the block are spent again at once.
			for l.Wait("a") == 0 {
				l.Take("a")
			}
		}
	}
	// Other keys are not held back.
	if _, w := l.Take("b"); w != 0 {
		t.Fatalf("b refused for %v", w)
	}
	// A bucket that refills completely forgets the strikes.
	clock.Add(time.Hour)
	for range 3 {
		l.Take("a")
	}
	if _, w := l.Take("a"); w != 10*time.Second {
		t.Fatalf("after a quiet hour: wait %v, want 10s", w)
	}
}

func TestTakeIsAllOrNothing(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 7, 13, 12, 0, 0, 0, time.UTC))
	l := New(Options{Burst: 2, Window: time.Minute, Now: clock.Now})
	l.Take("b")
	l.Take("b")
	if _, w := l.Take("a", "b"); w == 0 {
		t.Fatal("take of a and an empty b granted")
	}
	// a lost nothing.
	for i := range 2 {
		if _, w := l.Take("a"); w != 0 {
			t.Fatalf("a attempt %d refused", i+1)
		}
	}
	tk, w := l.Take("c", "")
	if w != 0 {
		t.Fatal(w)
	}
	tk.Refund()
	tk2, _ := l.Take("c")
	tk3, _ := l.Take("c")
	if _, w := l.Take("c"); w == 0 || tk2.l == nil || tk3.l == nil {
		t.Fatal("refund did not give exactly one token back")
	}
}

func TestKeysAreBounded(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 7, 13, 12, 0, 0, 0, time.UTC))
	l := New(Options{Burst: 5, Window: time.Minute, MaxKeys: 1000, Now: clock.Now})
	for i := range 5000 {
		l.Take(fmt.Sprint(i))
		clock.Add(time.Millisecond)
	}
	if n := l.Len(); n > 1000 {
		t.Fatalf("%d keys tracked, bound 1000", n)
	}
}

func TestAddrKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                 "192.0.2.7",
		"::ffff:192.0.2.7":          "192.0.2.7",
		"2001:db8:1:2:3:4:5:6":      "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1":      "2001:db8:1:2::/64",
		"fe80::1%eth0":              "fe80::/64",
		"2001:db8:1:3::1":           "2001:db8:1:3::/64",
		"::1":                       "::/64",
		"2001:db8:aaaa:bbbb:c::d:e": "2001:db8:aaaa:bbbb::/64",
	} {
		if got := AddrKey(netip.MustParseAddr(in)); got != want {
			t.Errorf("AddrKey(%s) = %q, want %q", in, got, want)
		}
	}
	if AddrKey(netip.Addr{}) != "" {
		t.Error("invalid address has a key")
	}
}

// BenchmarkTake measures one attempt counted against an address and an
// account key, with 10,000 addresses tracked.
func BenchmarkTake(b *testing.B) {
	l := New(Options{Burst: 10, Window: time.Minute, MaxBackoff: 15 * time.Minute})
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("192.0.%d.%d", i/256, i%256)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		l.Take(keys[i%len(keys)], "alice\x00"+keys[i%len(keys)])
		i++
	}
}

// TestLongKeysTakeBoundedMemory: keys as long as a request body (an
// account name anyone can make up) are each kept in a bounded number of
// bytes, and still counted apart from each other and together with
// themselves, refunds included.
func TestLongKeysTakeBoundedMemory(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 7, 13, 12, 0, 0, 0, time.UTC))
	l := New(Options{Burst: 1, Window: time.Minute, Now: clock.Now})
	long := func(i int) string { return strings.Repeat("a", 1<<20) + fmt.Sprint(i) }
	for i := range 20 {
		if _, wait := l.Take(long(i)); wait > 0 {
			t.Fatalf("key %d: refused at its first attempt", i)
		}
	}
	for k := range l.buckets {
		if len(k) > 128 {
			t.Fatalf("a key is kept in %d bytes", len(k))
		}
	}
	if l.Len() != 20 {
		t.Fatalf("%d keys tracked, want 20", l.Len())
	}
	if _, wait := l.Take(long(3)); wait <= 0 {
		t.Fatal("a long key's second attempt was not counted with its first")
	}
	if l.Wait(long(3)) <= 0 || l.Wait(long(20)) != 0 {
		t.Fatal("Wait does not find long keys")
	}
	clock.Add(time.Hour)
	tk, wait := l.Take(long(5))
	if wait > 0 {
		t.Fatal("a long key was refused after its window")
	}
	tk.Refund()
	if _, wait := l.Take(long(5)); wait > 0 {
		t.Fatal("a refund did not give a long key its attempt back")
	}
}
