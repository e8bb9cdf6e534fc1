package loadtest

import (
	"context"
	"errors"
	"fmt"
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
// assembles the workloads in --scenarios order.
func buildWorkloads(ctx context.Context, cfg Config, scenarios *Registry, env *Env) ([]*workload, []namedAction, error) {
	var prepared []namedAction
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
		action, err := s.Prepare(ctx, env)
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
