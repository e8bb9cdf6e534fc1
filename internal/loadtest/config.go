package loadtest

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Phase is a preset list of steps.
type Phase string

// The phases. PhaseRun is a single step shaped by the load flags.
const (
	PhaseRun    Phase = "run"
	PhaseSmoke  Phase = "smoke"
	PhaseLadder Phase = "ladder"
	PhaseSpike  Phase = "spike"
	PhaseSoak   Phase = "soak"
	PhaseAll    Phase = "all"
)

// Phases lists the phases that can be chosen.
func Phases() []Phase {
	return []Phase{PhaseRun, PhaseSmoke, PhaseLadder, PhaseSpike, PhaseSoak, PhaseAll}
}

// expand returns the phases a choice stands for, in the order they run.
func (p Phase) expand() []Phase {
	if p == PhaseAll {
		return []Phase{PhaseSmoke, PhaseLadder, PhaseSpike, PhaseSoak}
	}
	return []Phase{p}
}

// MixedScenario is the name of the weighted mix of other scenarios.
const MixedScenario = "mixed"

// MixEntry is one scenario of the mixed workload and its weight.
type MixEntry struct {
	Scenario string
	Weight   int
}

// DefaultMix is the mix used when mixed is chosen without --mix.
func DefaultMix() []MixEntry {
	return []MixEntry{{Scenario: "getkey", Weight: 90}, {Scenario: "createkey", Weight: 10}}
}

// ParseMix reads a mix such as "getkey=90,createkey=10".
func ParseMix(s string) ([]MixEntry, error) {
	var mix []MixEntry
	for part := range strings.SplitSeq(s, ",") {
		name, weight, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("want scenario=weight pairs separated by commas, got %q", part)
		}
		w, err := strconv.Atoi(weight)
		if err != nil || w < 1 || w > 1000 {
			return nil, fmt.Errorf("weight of %s must be a whole number from 1 to 1000, got %q", name, weight)
		}
		if slices.ContainsFunc(mix, func(e MixEntry) bool { return e.Scenario == name }) {
			return nil, fmt.Errorf("%s appears twice", name)
		}
		mix = append(mix, MixEntry{Scenario: name, Weight: w})
	}
	return mix, nil
}

// ParseUserList reads a list of user counts such as "1,5,10".
func ParseUserList(s string) ([]int, error) {
	var users []int
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("want user counts of at least 1 separated by commas, got %q", part)
		}
		users = append(users, n)
	}
	return users, nil
}

// ParseRate reads a fraction such as "0.01" or a percentage such as "1%".
func ParseRate(s string) (float64, error) {
	v, percent := strings.CutSuffix(strings.TrimSpace(s), "%")
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) {
		return 0, fmt.Errorf("want a fraction like 0.01 or a percentage like 1%%, got %q", s)
	}
	if percent {
		f /= 100
	}
	if f < 0 || f > 1 {
		return 0, fmt.Errorf("must be between 0 and 1 (0%% and 100%%), got %q", s)
	}
	return f, nil
}

// Load holds the load-shape settings given explicitly. A zero value means
// "use the phase's default".
type Load struct {
	Users          int
	Iterations     int
	Throttle       float64 // requests per second per user
	HatchRate      float64 // users started per second
	Rate           float64 // open model: requests per second
	Duration       time.Duration
	MaxOutstanding int
	LadderUsers    []int
	SpikeUsers     int
	SampleInterval time.Duration
}

// TLSOptions says how to trust the server's certificate.
type TLSOptions struct {
	// Insecure skips certificate verification.
	Insecure bool
	// CACertFile is a PEM file of extra certificate authorities to trust.
	CACertFile string
}

// Config is the complete description of a run.
type Config struct {
	Inputs    Inputs
	Phase     Phase
	Scenarios []string
	// Mix is the weighted mix of the mixed scenario; nil means DefaultMix.
	Mix  []MixEntry
	Load Load
	// LoginUsers is the number of users the login scenario creates and
	// signs in with; zero sizes the pool from the load.
	LoginUsers int
	// Timeout bounds each request.
	Timeout time.Duration
	// StallTimeout is how long requests may be outstanding with no response
	// before the run is declared stalled and stopped.
	StallTimeout time.Duration
	TLS          TLSOptions
	// MetricsURL is where the server's Prometheus metrics are read; empty
	// means <URL>/metrics, MetricsOff disables reading them.
	MetricsURL string
	// MaxErrorRate, when set, lets up to that fraction of requests fail in
	// every step; otherwise any failed request fails the run.
	MaxErrorRate *float64
	// MaxP99, when positive, fails the run if any scenario's p99 latency in
	// any step exceeds it.
	MaxP99 time.Duration
}

// MetricsOff as Config.MetricsURL disables reading server metrics.
const MetricsOff = "off"

// Defaults of the request bounds.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultStallTimeout = 10 * time.Second
)

// loadFlagPhases lists the phases that use a load setting, by flag name.
func loadFlagPhases(flag string) []Phase {
	switch flag {
	case "users":
		return []Phase{PhaseRun, PhaseSpike}
	case "iterations":
		return []Phase{PhaseRun, PhaseSmoke, PhaseLadder, PhaseSpike}
	case "throttle":
		return []Phase{PhaseRun, PhaseLadder, PhaseSpike}
	case "hatch-rate":
		return []Phase{PhaseRun, PhaseLadder}
	case "rate", "duration", "max-outstanding":
		return []Phase{PhaseRun, PhaseSoak}
	case "ladder-users":
		return []Phase{PhaseLadder}
	case "spike-users":
		return []Phase{PhaseSpike}
	}
	return nil
}

// setLoadFlags names the load settings given explicitly, by flag name.
func (l Load) setLoadFlags() []string {
	var set []string
	add := func(name string, isSet bool) {
		if isSet {
			set = append(set, name)
		}
	}
	add("users", l.Users != 0)
	add("iterations", l.Iterations != 0)
	add("throttle", l.Throttle != 0)
	add("hatch-rate", l.HatchRate != 0)
	add("rate", l.Rate != 0)
	add("duration", l.Duration != 0)
	add("max-outstanding", l.MaxOutstanding != 0)
	add("ladder-users", l.LadderUsers != nil)
	add("spike-users", l.SpikeUsers != 0)
	return set
}

// Validate checks the configuration against the scenarios it can run and
// returns an *InputError naming every field that is wrong.
func (c Config) Validate(scenarios *Registry) error {
	var errs []string
	bad := func(field, format string, args ...any) {
		errs = append(errs, field+": "+fmt.Sprintf(format, args...))
	}

	if !slices.Contains(Phases(), c.Phase) {
		bad("--phase", "unknown phase %q (want one of %s)", c.Phase, joinPhases())
	}
	if len(c.Scenarios) == 0 {
		bad("--scenarios", "required: one or more of %s, separated by commas", strings.Join(scenarios.Choices(), ", "))
	}
	for i, name := range c.Scenarios {
		switch {
		case name != MixedScenario && scenarios.Lookup(name) == nil:
			bad("--scenarios", "unknown scenario %q (want %s)", name, strings.Join(scenarios.Choices(), ", "))
		case slices.Index(c.Scenarios, name) != i:
			bad("--scenarios", "%s is listed twice", name)
		}
	}
	if c.Mix != nil {
		if !slices.Contains(c.Scenarios, MixedScenario) {
			bad("--mix", "only applies to the mixed scenario; add mixed to --scenarios")
		}
		for _, e := range c.Mix {
			if e.Scenario == MixedScenario || scenarios.Lookup(e.Scenario) == nil {
				bad("--mix", "unknown scenario %q (want %s)", e.Scenario, strings.Join(scenarios.Names(), ", "))
			}
		}
	}

	if c.LoginUsers < 0 || c.LoginUsers > MaxLoginUsers {
		bad("--login-users", "must be from 1 to %d, got %d", MaxLoginUsers, c.LoginUsers)
	}
	if c.LoginUsers != 0 && !c.runs(LoginScenario) {
		bad("--login-users", "only applies to the %s scenario; add it to --scenarios or --mix", LoginScenario)
	}

	l := c.Load
	if l.Users < 0 {
		bad("--users", "must be at least 1, got %d", l.Users)
	}
	if l.Iterations < 0 {
		bad("--iterations", "must be at least 1, got %d", l.Iterations)
	}
	checkPositive := func(field string, v float64) {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			bad(field, "must be a positive number, got %v", v)
		}
	}
	checkPositive("--throttle", l.Throttle)
	checkPositive("--hatch-rate", l.HatchRate)
	checkPositive("--rate", l.Rate)
	if l.Rate > 1e6 {
		bad("--rate", "at most 1000000 requests per second, got %v", l.Rate)
	}
	if l.Throttle > 1e5 {
		bad("--throttle", "at most 100000 requests per second per user, got %v", l.Throttle)
	}
	if l.Duration < 0 {
		bad("--duration", "must be positive, got %s", l.Duration)
	}
	if l.MaxOutstanding < 0 || l.MaxOutstanding > 100000 {
		bad("--max-outstanding", "must be from 1 to 100000, got %d", l.MaxOutstanding)
	}
	if l.SpikeUsers < 0 {
		bad("--spike-users", "must be at least 1, got %d", l.SpikeUsers)
	}
	for _, n := range l.LadderUsers {
		if n < 1 {
			bad("--ladder-users", "user counts must be at least 1, got %d", n)
		}
	}
	const maxUsers = 100000
	if l.Users > maxUsers {
		bad("--users", "at most %d, got %d", maxUsers, l.Users)
	}
	if l.SpikeUsers > maxUsers {
		bad("--spike-users", "at most %d, got %d", maxUsers, l.SpikeUsers)
	}
	if slices.ContainsFunc(l.LadderUsers, func(n int) bool { return n > maxUsers }) {
		bad("--ladder-users", "user counts of at most %d", maxUsers)
	}
	if l.SampleInterval < 0 || (l.SampleInterval > 0 && l.SampleInterval < 100*time.Millisecond) {
		bad("--sample-interval", "must be at least 100ms, got %s", l.SampleInterval)
	}
	phases := c.Phase.expand()
	for _, flag := range l.setLoadFlags() {
		uses := loadFlagPhases(flag)
		if !slices.ContainsFunc(phases, func(p Phase) bool { return slices.Contains(uses, p) }) {
			bad("--"+flag, "not used by --phase %s (it applies to %s)", c.Phase, joinPhaseList(uses))
		}
	}
	if c.Phase == PhaseRun {
		closed := l.Users != 0 || l.Iterations != 0 || l.Throttle != 0 || l.HatchRate != 0
		open := l.Rate != 0 || l.Duration != 0 || l.MaxOutstanding != 0
		switch {
		case closed && open:
			bad("--rate", "cannot be combined with --users, --iterations, --throttle or --hatch-rate: choose the open model (--rate, --duration, --max-outstanding) or the closed one")
		case !closed && open && l.Rate == 0:
			bad("--rate", "required with --duration or --max-outstanding")
		}
	}

	if c.Timeout <= 0 {
		bad("--timeout", "must be positive, got %s", c.Timeout)
	}
	if c.StallTimeout <= 0 {
		bad("--stall-timeout", "must be positive, got %s", c.StallTimeout)
	}
	if c.TLS.Insecure && c.TLS.CACertFile != "" {
		bad("--insecure", "cannot be combined with --cacert: trust the CA, or skip verification, not both")
	}
	if c.MetricsURL != "" && c.MetricsURL != MetricsOff {
		if u, err := url.Parse(c.MetricsURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("--metrics-url", "want an http:// or https:// URL or %q, got %q", MetricsOff, c.MetricsURL)
		}
	}
	if c.MaxErrorRate != nil && (*c.MaxErrorRate < 0 || *c.MaxErrorRate > 1) {
		bad("--max-error-rate", "must be between 0 and 1, got %v", *c.MaxErrorRate)
	}
	if c.MaxP99 < 0 {
		bad("--max-p99", "must be positive, got %s", c.MaxP99)
	}
	if len(errs) > 0 {
		return &InputError{Err: errors.New(strings.Join(errs, "; "))}
	}
	return nil
}

// metricsURL resolves where server metrics are read, or "" when off.
func (c Config) metricsURL() string {
	switch c.MetricsURL {
	case MetricsOff:
		return ""
	case "":
		return c.Inputs.URL + "/metrics"
	}
	return c.MetricsURL
}

// runs reports whether the run drives the named scenario, on its own or in
// the mix.
func (c Config) runs(scenario string) bool {
	return slices.Contains(c.Scenarios, scenario) || (slices.Contains(c.Scenarios, MixedScenario) &&
		slices.ContainsFunc(c.mix(), func(e MixEntry) bool { return e.Scenario == scenario }))
}

// mix returns the configured mix, or the default one.
func (c Config) mix() []MixEntry {
	if c.Mix != nil {
		return c.Mix
	}
	return DefaultMix()
}

func joinPhases() string {
	return joinPhaseList(Phases())
}

func joinPhaseList(phases []Phase) string {
	names := make([]string, len(phases))
	for i, p := range phases {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}
