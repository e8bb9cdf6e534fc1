package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// workload is what the users of a step send: one scenario, or a weighted
// mix of several.
type workload struct {
	name  string
	parts []namedAction
	// sequence is the order in which iterations pick parts; each part
	// appears in proportion to its weight, spread as evenly as possible.
	sequence []int
}

// namedAction is a prepared scenario.
type namedAction struct {
	name   string
	action Action
}

// pick returns the part index for a user's iteration; offset spreads users
// over the sequence so that they do not move in lockstep.
func (w *workload) pick(offset, iteration int) int {
	return w.sequence[(offset+iteration)%len(w.sequence)]
}

// buildWorkloads prepares every scenario of the configuration once and
// assembles the workloads in --scenarios order. When a preparation fails,
// the fixtures of those prepared before it are removed.
func buildWorkloads(ctx context.Context, cfg Config, scenarios *Registry, env *Env) (_ []*workload, _ []namedAction, err error) {
	var prepared []namedAction
	defer func() {
		if err != nil {
			cleanUp(ctx, prepared)
		}
	}()
	prepare := func(name string) (int, error) {
		for i, p := range prepared {
			if p.name == name {
				return i, nil
			}
		}
		s := scenarios.Lookup(name)
		if s == nil {
			return 0, &InputError{Err: fmt.Errorf("--scenarios: unknown scenario %q", name)}
		}
		scenarioEnv := *env
		scenarioEnv.Load = scenarioLoad(cfg, name)
		action, err := s.Prepare(ctx, &scenarioEnv)
		var inputErr *InputError
		var preflightErr *PreflightError
		if errors.As(err, &inputErr) || errors.As(err, &preflightErr) {
			return 0, err
		}
		if err != nil {
			return 0, fmt.Errorf("prepare %s: %w", name, err)
		}
		prepared = append(prepared, namedAction{name: name, action: action})
		return len(prepared) - 1, nil
	}

	var workloads []*workload
	for _, name := range cfg.Scenarios {
		if name != MixedScenario {
			i, err := prepare(name)
			if err != nil {
				return nil, nil, err
			}
			workloads = append(workloads, &workload{name: name, parts: []namedAction{prepared[i]}, sequence: []int{0}})
			continue
		}
		w := &workload{name: MixedScenario}
		var weights []int
		for _, e := range cfg.mix() {
			i, err := prepare(e.Scenario)
			if err != nil {
				return nil, nil, err
			}
			w.parts = append(w.parts, prepared[i])
			weights = append(weights, e.Weight)
		}
		w.sequence = weightedSequence(weights)
		workloads = append(workloads, w)
	}
	return workloads, prepared, nil
}

// cleanupTimeout bounds the removal of a run's fixtures.
const cleanupTimeout = time.Minute

// cleanUp removes the fixtures of prepared actions, best effort, within
// cleanupTimeout even when ctx has ended.
func cleanUp(ctx context.Context, prepared []namedAction) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	for _, p := range prepared {
		if c, ok := p.action.(Cleaner); ok {
			c.Cleanup(ctx)
		}
	}
}

// scenarioLoad is the most load the planned steps put on the named
// scenario; in a mix, it gets its weight's share.
func scenarioLoad(cfg Config, name string) ScenarioLoad {
	share := 0.0
	for _, w := range cfg.Scenarios {
		switch w {
		case name:
			share = 1
		case MixedScenario:
			total, weight := 0, 0
			for _, e := range cfg.mix() {
				total += e.Weight
				if e.Scenario == name {
					weight = e.Weight
				}
			}
			if total > 0 {
				share = max(share, float64(weight)/float64(total))
			}
		}
	}
	var l ScenarioLoad
	for _, p := range planSteps(cfg, []*workload{{name: name}}) {
		l.Iterations = max(l.Iterations, int64(math.Ceil(float64(p.planned())*share)))
		switch {
		case p.open:
			l.Rate = max(l.Rate, p.rate*share)
		case p.throttle > 0:
			l.Users = max(l.Users, p.users)
			l.Rate = max(l.Rate, float64(p.users)*p.throttle*share)
		default:
			l.Users = max(l.Users, p.users)
			l.Unthrottled = true
		}
	}
	return l
}

// weightedSequence returns part indexes in which part i appears weights[i]
// times per cycle (after dividing all weights by their common divisor),
// interleaved by smooth weighted round-robin.
func weightedSequence(weights []int) []int {
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	total := 0
	reduced := make([]int, len(weights))
	for i, w := range weights {
		reduced[i] = w / g
		total += reduced[i]
	}
	current := make([]int, len(weights))
	seq := make([]int, 0, total)
	for range total {
		best := 0
		for i := range current {
			current[i] += reduced[i]
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		seq = append(seq, best)
	}
	return seq
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
