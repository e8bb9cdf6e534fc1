package upstream_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/upstream"
)

func TestPendingSingleUseAndTTL(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 7, 13, 12, 0, 0, 0, time.UTC))
	p := upstream.NewPending(upstream.PendingOptions{TTL: time.Minute, Now: clock.Now})
	f, err := p.Begin("campus", "s1", "BCDFGHJK")
	if err != nil {
		t.Fatal(err)
	}
	if f.State == "" || f.Nonce == "" || f.Verifier == "" || f.State == f.Nonce || f.Upstream != "campus" || f.UserCode != "BCDFGHJK" {
		t.Fatalf("flow: %+v", f)
	}
	got, ok := p.Take(f.State)
	if !ok || got != f {
		t.Fatalf("take: %+v %v", got, ok)
	}
	if _, ok := p.Take(f.State); ok {
		t.Fatal("a state was taken twice")
	}
	if _, ok := p.Take("nonsense"); ok {
		t.Fatal("an unknown state was taken")
	}
	f, _ = p.Begin("campus", "s1", "BCDFGHJK")
	clock.Add(time.Minute)
	if _, ok := p.Take(f.State); ok || p.Len() != 0 {
		t.Fatalf("an expired state was taken, or kept (%d)", p.Len())
	}
}

func TestPendingBounds(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 7, 13, 12, 0, 0, 0, time.UTC))
	p := upstream.NewPending(upstream.PendingOptions{TTL: time.Minute, Max: 10, MaxPerSession: 3, Now: clock.Now})
	// One session keeps its three newest flows, however many it begins.
	var flows []upstream.Flow
	for range 1000 {
		f, err := p.Begin("campus", "s1", "BCDFGHJK")
		if err != nil {
			t.Fatal(err)
		}
		flows = append(flows, f)
	}
	if p.Len() != 3 {
		t.Fatalf("one session holds %d flows", p.Len())
	}
	if _, ok := p.Take(flows[996].State); ok {
		t.Fatal("an old flow of the session survived")
	}
	if _, ok := p.Take(flows[999].State); !ok {
		t.Fatal("the newest flow of the session is gone")
	}
	// Many sessions fill the table; then new flows are refused until the
	// old ones expire.
	for i := range 8 {
		if _, err := p.Begin("campus", string(rune('a'+i)), "BCDFGHJK"); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
	}
	if _, err := p.Begin("campus", "late", "BCDFGHJK"); !errors.Is(err, upstream.ErrBusy) {
		t.Fatalf("a full table took another flow: %v", err)
	}
	clock.Add(time.Minute)
	if _, err := p.Begin("campus", "late", "BCDFGHJK"); err != nil || p.Len() != 1 {
		t.Fatalf("after expiry: %v, %d flows", err, p.Len())
	}
}
