package api_test

import (
	"sync"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/keys"
	"github.com/tmsproject/tms/internal/store/postgres"
	"github.com/tmsproject/tms/internal/tms"
)

// runConcurrently sends n requests at once, made by req, and returns the
// statuses; a request without an answer fails the test.
func runConcurrently(t *testing.T, s *stack, n int, req func(i int) (method, path string, h hdr, body any)) []int {
	statuses := make([]int, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			method, path, h, body := req(i)
			r, err := s.send(testContext(t), method, path, h, body)
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = r.Status
		}()
	}
	start.Done()
	done.Wait()
	return statuses
}

// countStatuses tallies statuses.
func countStatuses(statuses []int) map[int]int {
	out := map[int]int{}
	for _, s := range statuses {
		out[s]++
	}
	return out
}

// TestConcurrentMVPCreate: 200 clients' requests create keys for the same
// new user at once in MVP mode. Every one succeeds and the user ends up
// with exactly one MFA record, one delegation and one host mapping.
func TestConcurrentMVPCreate(t *testing.T) {
	const n = 200
	eachBackend(t, func(t *testing.T, b backend) {
		// Key generation may queue: this test is about the database.
		s := newStack(t, b, stackOptions{MVP: true, Keys: keys.Options{MaxWait: time.Minute}})
		body := map[string]any{"client_user_id": "crowd", "host": "crowdhost", "host_account": "crowdacct", "num_uses": 1, "ttl_minutes": 10}
		start := time.Now()
		statuses := runConcurrently(t, s, n, func(int) (string, string, hdr, any) {
			return "POST", "/v1/tms/pubkeys/creds", testClient(), body
		})
		t.Logf("%d concurrent MVP key creations for one new user took %v: %v", n, time.Since(start).Round(time.Millisecond), countStatuses(statuses))
		if got := countStatuses(statuses)[201]; got != n {
			t.Fatalf("%d of %d creations answered 201: %v", got, n, countStatuses(statuses))
		}
		snap := s.snapshot(t)
		count := func(n int, pred func(i int) bool) int {
			c := 0
			for i := range n {
				if pred(i) {
					c++
				}
			}
			return c
		}
		mfa, hosts, delegs, keys := snap.UserMFA["test"], snap.UserHosts["test"], snap.Delegations["test"], snap.Pubkeys["test"]
		if c := count(len(mfa), func(i int) bool { return mfa[i].TMSUserID == "crowd" }); c != 1 {
			t.Errorf("%d MFA records for the user, want 1", c)
		}
		if c := count(len(hosts), func(i int) bool { return hosts[i].TMSUserID == "crowd" }); c != 1 {
			t.Errorf("%d host mappings for the user, want 1", c)
		}
		if c := count(len(delegs), func(i int) bool { return delegs[i].ClientUserID == "crowd" }); c != 1 {
			t.Errorf("%d delegations for the user, want 1", c)
		}
		if c := count(len(keys), func(i int) bool { return keys[i].ClientUserID == "crowd" }); c != n {
			t.Errorf("%d keys for the user, want %d", c, n)
		}
	})
}

// TestConcurrentLimitedRetrieve: 200 lookups of one key with 5 uses at
// once, each its own login (repeat window 0): exactly 5 succeed.
func TestConcurrentLimitedRetrieve(t *testing.T) {
	const n, uses = 200, 5
	eachBackend(t, func(t *testing.T, b backend) {
		// The lookups queue for pooled connections rather than being
		// refused: this test counts uses, not overload (a busy machine
		// would otherwise answer some with 503, as it should).
		s := newStack(t, b, stackOptions{Postgres: postgres.Options{AcquireTimeout: time.Minute}})
		fp := s.createKey(t, testClient(), keyBody(tms.TestUser, uses, -1)).str(t, "public_key_fingerprint")
		start := time.Now()
		statuses := runConcurrently(t, s, n, func(int) (string, string, hdr, any) {
			return retrieveRequest(tms.TestHostAccount, tms.TestHost, fp)
		})
		counts := countStatuses(statuses)
		t.Logf("%d concurrent lookups of a %d-use key took %v: %v", n, uses, time.Since(start).Round(time.Millisecond), counts)
		if counts[200] != uses || counts[404] != n-uses {
			t.Fatalf("statuses %v, want %d × 200 and %d × 404", counts, uses, n-uses)
		}
		if left := s.remainingUses(t, s.keyID(t, fp)); left != 0 {
			t.Fatalf("%d uses left, want 0", left)
		}
	})
}

// TestConcurrentRepeatedLookups: lookups of one key within the repeat
// window are one login, however many arrive at once.
func TestConcurrentRepeatedLookups(t *testing.T) {
	const n = 50
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStack(t, b, stackOptions{RepeatWindow: 10 * time.Second})
		fp := s.createKey(t, testClient(), keyBody(tms.TestUser, 2, -1)).str(t, "public_key_fingerprint")
		statuses := runConcurrently(t, s, n, func(int) (string, string, hdr, any) {
			return retrieveRequest(tms.TestHostAccount, tms.TestHost, fp)
		})
		if counts := countStatuses(statuses); counts[200] != n {
			t.Fatalf("statuses %v, want %d × 200", counts, n)
		}
		if left := s.remainingUses(t, s.keyID(t, fp)); left != 1 {
			t.Fatalf("%d uses left after one login, want 1", left)
		}
	})
}
