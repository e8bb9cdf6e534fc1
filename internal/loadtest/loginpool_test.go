package loadtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/totp"
)

func poolOf(n int, clock *clocktest.Clock) *userPool {
	users := make([]*loginUser, n)
	for i := range users {
		users[i] = &loginUser{name: "u" + string(rune('1'+i))}
	}
	return newUserPool(users, clock.Now)
}

// tryAcquire acquires with a short deadline and reports whether a user was
// free.
func tryAcquire(t *testing.T, p *userPool) (lease, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	l, err := p.acquire(ctx)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire: %v", err)
	}
	return l, err == nil
}

func TestUserPoolOneSignInPerStep(t *testing.T) {
	step := int64(60_000_000)
	clock := clocktest.New(totp.StepStart(step).Add(10 * time.Second))
	p := poolOf(2, clock)

	a, okA := tryAcquire(t, p)
	b, okB := tryAcquire(t, p)
	if !okA || !okB || a.user == b.user || a.step != step || b.step != step {
		t.Fatalf("two free users: got %+v %v, %+v %v", a, okA, b, okB)
	}
	if _, ok := tryAcquire(t, p); ok {
		t.Fatal("a third user was handed out of a pool of two")
	}
	// Back within the same step, a user has spent its code of the step.
	p.release(a)
	if _, ok := tryAcquire(t, p); ok {
		t.Fatal("a user was handed out twice within one TOTP step")
	}
	// In the next step it is free again, with the next step's code.
	clock.Set(totp.StepStart(step + 1))
	again, ok := tryAcquire(t, p)
	if !ok || again.user != a.user || again.step != step+1 {
		t.Fatalf("next step: got %+v %v, want %s for step %d", again, ok, a.user.name, step+1)
	}
	// b, still held from the earlier step, is free as soon as it is back.
	p.release(b)
	if l, ok := tryAcquire(t, p); !ok || l.user != b.user || l.step != step+1 {
		t.Fatalf("after releasing a user of an earlier step: got %+v %v", l, ok)
	}
	if waits, waited := p.waitStats(); waits != 0 || waited != 0 {
		t.Errorf("wait stats %d %s, want none: every acquire that got a user found it free", waits, waited)
	}
}

func TestUserPoolWaiterWakesOnRelease(t *testing.T) {
	step := int64(60_000_000)
	clock := clocktest.New(totp.StepStart(step))
	p := poolOf(1, clock)
	held, ok := tryAcquire(t, p)
	if !ok {
		t.Fatal("the only user is not free")
	}
	clock.Set(totp.StepStart(step + 1))

	got := make(chan lease, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	go func() {
		l, err := p.acquire(ctx)
		if err != nil {
			t.Errorf("waiting acquire: %v", err)
		}
		got <- l
	}()
	select {
	case l := <-got:
		t.Fatalf("acquire returned %+v while the only user was held", l)
	case <-time.After(50 * time.Millisecond):
	}
	p.release(held)
	select {
	case l := <-got:
		if l.user != held.user || l.step != step+1 {
			t.Errorf("the waiter got %+v, want the released user for step %d", l, step+1)
		}
	case <-ctx.Done():
		t.Fatal("the waiter was not woken by the release")
	}
	if waits, waited := p.waitStats(); waits != 1 || waited <= 0 {
		t.Errorf("wait stats %d %s, want one wait", waits, waited)
	}
}

func TestUserPoolAcquireEndsWithContext(t *testing.T) {
	clock := clocktest.New(totp.StepStart(60_000_000))
	p := poolOf(1, clock)
	if _, ok := tryAcquire(t, p); !ok {
		t.Fatal("the only user is not free")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire with an ended context: %v, want context.Canceled", err)
	}
}

func TestDefaultLoginUsers(t *testing.T) {
	tests := []struct {
		name string
		load ScenarioLoad
		want int
	}{
		{"unthrottled users, few iterations", ScenarioLoad{Users: 10, Unthrottled: true, Iterations: 200}, 201},
		{"unthrottled users, many iterations", ScenarioLoad{Users: 10, Unthrottled: true, Iterations: 100000}, 500},
		{"throttled users", ScenarioLoad{Users: 10, Rate: 2, Iterations: 100000}, 76},
		{"open model", ScenarioLoad{Rate: 5, Iterations: 150}, 151},
		{"one login", ScenarioLoad{Users: 1, Unthrottled: true, Iterations: 1}, 2},
	}
	for _, tt := range tests {
		if got := defaultLoginUsers(tt.load); got != tt.want {
			t.Errorf("%s: defaultLoginUsers(%+v) = %d, want %d", tt.name, tt.load, got, tt.want)
		}
	}
}

func TestScenarioLoad(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want ScenarioLoad
	}{
		{"closed", Config{Phase: PhaseRun, Scenarios: []string{"login"}, Load: Load{Users: 4, Iterations: 5}},
			ScenarioLoad{Users: 4, Unthrottled: true, Iterations: 20}},
		{"throttled", Config{Phase: PhaseRun, Scenarios: []string{"login"}, Load: Load{Users: 4, Iterations: 5, Throttle: 0.5}},
			ScenarioLoad{Users: 4, Rate: 2, Iterations: 20}},
		{"open", Config{Phase: PhaseRun, Scenarios: []string{"login"}, Load: Load{Rate: 3, Duration: time.Minute}},
			ScenarioLoad{Rate: 3, Iterations: 180}},
		{"a quarter of a mix", Config{Phase: PhaseRun, Scenarios: []string{"mixed"}, Mix: []MixEntry{{"getkey", 3}, {"login", 1}},
			Load: Load{Rate: 8, Duration: time.Minute}},
			ScenarioLoad{Rate: 2, Iterations: 120}},
		{"ladder", Config{Phase: PhaseLadder, Scenarios: []string{"login"}, Load: Load{LadderUsers: []int{1, 3, 2}, Iterations: 2}},
			ScenarioLoad{Users: 3, Unthrottled: true, Iterations: 6}},
	}
	for _, tt := range tests {
		if got := scenarioLoad(tt.cfg, "login"); got != tt.want {
			t.Errorf("%s: scenarioLoad = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
