package loadtest

import (
	"fmt"
	"time"
)

// Phase defaults; every one can be overridden by the matching flag.
const (
	defaultUsers          = 1
	defaultIterations     = 100
	defaultOpenDuration   = 30 * time.Second
	defaultMaxOutstanding = 256
	defaultSample         = time.Second
	smokeIterations       = 10
	ladderIterations      = 200
	spikeBaseUsers        = 5
	spikeUsers            = 200
	spikeIterations       = 50
	soakRate              = 200
	soakDuration          = 10 * time.Minute
	soakSample            = 10 * time.Second
)

// DefaultLadderUsers returns the user counts of the ladder phase.
func DefaultLadderUsers() []int { return []int{1, 5, 10, 25, 50, 100} }

// stepPlan is the shape of one step.
type stepPlan struct {
	phase    Phase
	name     string
	workload *workload
	open     bool
	// Closed model.
	users      int
	iterations int
	throttle   float64
	hatchRate  float64
	// Open model.
	rate           float64
	duration       time.Duration
	maxOutstanding int

	sample time.Duration
}

// concurrency is the most requests the step can have outstanding.
func (p stepPlan) concurrency() int {
	if p.open {
		return p.maxOutstanding
	}
	return p.users
}

// planned is the number of requests the step will send.
func (p stepPlan) planned() int64 {
	if p.open {
		return int64(p.rate * p.duration.Seconds())
	}
	return int64(p.users) * int64(p.iterations)
}

// planSteps expands the configured phases into steps: for each phase, each
// workload in turn runs all of the phase's steps.
func planSteps(cfg Config, workloads []*workload) []stepPlan {
	l := cfg.Load
	var plans []stepPlan
	for _, phase := range cfg.Phase.expand() {
		for _, w := range workloads {
			closed := func(label string, users, iterations int, hatch float64) stepPlan {
				p := stepPlan{phase: phase, workload: w, users: users, iterations: iterations, throttle: l.Throttle,
					hatchRate: hatch, sample: or(l.SampleInterval, defaultSample)}
				p.name = stepName(phase, w.name, label, p)
				return p
			}
			open := func(rate float64, duration time.Duration, sample time.Duration) stepPlan {
				p := stepPlan{phase: phase, workload: w, open: true, rate: rate, duration: duration,
					maxOutstanding: or(l.MaxOutstanding, defaultMaxOutstanding), sample: or(l.SampleInterval, sample)}
				p.name = stepName(phase, w.name, "", p)
				return p
			}
			switch phase {
			case PhaseRun:
				if l.Rate > 0 {
					plans = append(plans, open(l.Rate, or(l.Duration, defaultOpenDuration), defaultSample))
				} else {
					plans = append(plans, closed("", or(l.Users, defaultUsers), or(l.Iterations, defaultIterations), l.HatchRate))
				}
			case PhaseSmoke:
				plans = append(plans, closed("", 1, or(l.Iterations, smokeIterations), 0))
			case PhaseLadder:
				users := l.LadderUsers
				if users == nil {
					users = DefaultLadderUsers()
				}
				for _, u := range users {
					plans = append(plans, closed("", u, or(l.Iterations, ladderIterations), l.HatchRate))
				}
			case PhaseSpike:
				base, peak, iterations := or(l.Users, spikeBaseUsers), or(l.SpikeUsers, spikeUsers), or(l.Iterations, spikeIterations)
				plans = append(plans,
					closed("baseline", base, iterations, 0),
					closed("spike", peak, iterations, 0),
					closed("recovery", base, iterations, 0))
			case PhaseSoak:
				plans = append(plans, open(or(l.Rate, soakRate), or(l.Duration, soakDuration), soakSample))
			}
		}
	}
	return plans
}

// stepName names a step, e.g. "ladder getkey 10 users".
func stepName(phase Phase, workload, label string, p stepPlan) string {
	shape := ""
	switch {
	case p.open:
		shape = fmt.Sprintf("%g/s for %s", p.rate, p.duration)
	case p.users == 1:
		shape = "1 user"
	default:
		shape = fmt.Sprintf("%d users", p.users)
	}
	if label != "" {
		return fmt.Sprintf("%s %s %s %s", phase, workload, label, shape)
	}
	return fmt.Sprintf("%s %s %s", phase, workload, shape)
}

// or returns v, or def when v is the zero value.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// maxConcurrency is the most requests any planned step can have outstanding.
func maxConcurrency(cfg Config) int {
	most := 1
	for _, p := range planSteps(cfg, []*workload{{name: "any"}}) {
		most = max(most, p.concurrency())
	}
	return most
}
