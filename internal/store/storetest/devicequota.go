package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

// testDeviceQuota: the bound on a tenant's live device authorizations holds
// under a concurrent burst of insertions; expired ones do not count, and
// those expired before PruneBefore are deleted with the insertion. Other
// tenants are not bound by the tenant's count.
func testDeviceQuota(t *testing.T, s store.Store) {
	oauthWorld(t, s) // one live authorization in t1: dc-1
	c := ctx(t)
	seed := tenantSeed("t2")
	seed.OAuthClients = []store.OAuthClient{cliClient("t2", true)}
	must(t, s.CreateTenant(c, seed))
	quota := store.DeviceQuota{MaxLive: 20, Now: t0}

	const burst = 100
	errs := make([]error, burst)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.CreateDeviceAuthorization(c, pendingDevice(fmt.Sprintf("q-%d", i), fmt.Sprintf("Q%07d", i)), quota)
		}()
	}
	close(start)
	wg.Wait()
	created, full := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case errors.Is(err, store.ErrFull):
			full++
		default:
			t.Fatalf("concurrent insertion: %v", err)
		}
	}
	if created != 19 || full != burst-19 {
		t.Fatalf("%d inserted and %d refused as full in a burst of %d with 1 of 20 live; want 19 and %d", created, full, burst, burst-19)
	}
	// Another tenant has its own count.
	other := pendingDevice("t2-1", "T2000001")
	other.Tenant = "t2"
	must(t, s.CreateDeviceAuthorization(c, other, quota))

	// An hour later they have all expired: none counts, and pruning
	// deletes those that expired before the cutoff, of this tenant only.
	later := t0.Add(time.Hour)
	quota = store.DeviceQuota{MaxLive: 1, Now: later, PruneBefore: later.Add(time.Microsecond)}
	fresh := pendingDevice("fresh", "FRESH001")
	fresh.ExpiresAt = later.Add(10 * time.Minute)
	must(t, s.CreateDeviceAuthorization(c, fresh, quota))
	for i := range burst {
		code := fmt.Sprintf("Q%07d", i)
		if errs[i] != nil {
			continue
		}
		if _, err := s.GetDeviceAuthorization(c, code); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired authorization %s after a pruning insertion: %v", code, err)
		}
	}
	if _, err := s.GetDeviceAuthorization(c, "BCDFGHJK"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired authorization BCDFGHJK after a pruning insertion: %v", err)
	}
	if _, err := s.GetDeviceAuthorization(c, "T2000001"); err != nil {
		t.Errorf("another tenant's expired authorization was pruned: %v", err)
	}
	again := pendingDevice("fresh-2", "FRESH002")
	again.ExpiresAt = fresh.ExpiresAt
	wantErr(t, s.CreateDeviceAuthorization(c, again, quota), store.ErrFull)
	// No bound: anything goes.
	must(t, s.CreateDeviceAuthorization(c, again, store.DeviceQuota{}))
}

// testDeviceSignInBudget: failed sign-ins are counted on a pending
// authorization, atomically, and the one that reaches the budget denies
// it; after that nothing is counted.
func testDeviceSignInBudget(t *testing.T, s store.Store) {
	oauthWorld(t, s)
	c := ctx(t)
	now := t0.Add(time.Minute)
	const burst = 20
	states := make([]store.DeviceAuthorization, burst)
	errs := make([]error, burst)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			states[i], errs[i] = s.FailDeviceSignIn(c, "BCDFGHJK", 5, now)
		}()
	}
	close(start)
	wg.Wait()
	counted, denied := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			counted++
			if states[i].State == store.DeviceDenied {
				denied++
				if states[i].FailedSignIns != 5 {
					t.Errorf("denied at %d failures, budget 5", states[i].FailedSignIns)
				}
			}
		case errors.Is(err, store.ErrNotFound):
		default:
			t.Fatalf("count failure: %v", err)
		}
	}
	if counted != 5 || denied != 1 {
		t.Fatalf("%d of %d concurrent failures counted, %d denials; want 5 and 1", counted, burst, denied)
	}
	d, err := s.GetDeviceAuthorization(c, "BCDFGHJK")
	if err != nil || d.State != store.DeviceDenied || d.FailedSignIns != 5 {
		t.Fatalf("after the budget: %+v %v", d, err)
	}
	_, err = s.FailDeviceSignIn(c, "ZZZZZZZZ", 5, now)
	wantErr(t, err, store.ErrNotFound)
}
