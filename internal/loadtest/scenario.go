package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Scenario is one kind of load the suite can drive. A new scenario is a new
// file with a constructor returning a Scenario, listed in BuiltinScenarios.
type Scenario struct {
	// Name is how --scenarios and --mix refer to it.
	Name string
	// Summary says in one line what an iteration sends.
	Summary string
	// Prepare builds the scenario's action once per run. It checks the
	// inputs the scenario needs and may create fixtures on the server.
	Prepare func(ctx context.Context, env *Env) (Action, error)
}

// Action is one iteration of a scenario. Do is called concurrently from
// every user of a run, so it must be safe for that and cheap: build what
// can be built in Prepare.
type Action interface {
	// Do performs one iteration. With keepBody, the response bodies are kept
	// in the outcome and checked.
	Do(ctx context.Context, keepBody bool) Outcome
	// Explain turns a failed outcome into a message that says what to do,
	// or returns "" when the scenario has nothing to add to the general
	// explanation.
	Explain(o Outcome) string
}

// Gated is implemented by actions whose iterations need something the
// load generator hands out and that may not be free at once, such as the
// users the login scenario signs in with. The engine calls Acquire before
// it starts timing an iteration, so the wait counts neither as latency nor
// as a request in flight.
type Gated interface {
	// Acquire waits until an iteration can start and returns the action
	// that performs exactly that iteration. It fails only when ctx ends.
	// The engine calls Do on the returned action exactly once.
	Acquire(ctx context.Context) (Action, error)
}

// Cleaner is implemented by actions whose preparation left fixtures on the
// server. Run calls Cleanup once after the last step, or after a failed
// preflight, with a context that bounds the time it may take.
type Cleaner interface {
	Cleanup(ctx context.Context)
}

// Env is what a scenario's Prepare may use.
type Env struct {
	Inputs Inputs
	// LoginUsers is the size of the login scenario's user pool given by
	// --login-users; zero means sizing it from Load.
	LoginUsers int
	// Load is the most load the planned steps put on the scenario being
	// prepared, for scenarios that size their fixtures by it.
	Load   ScenarioLoad
	client *client
	con    *console
}

// ScenarioLoad is the most load any planned step puts on one scenario.
type ScenarioLoad struct {
	// Users is the most users of a closed-model step; zero when every step
	// is open.
	Users int
	// Rate is the most iterations per second that a schedule (the open
	// model, or throttled users) asks for.
	Rate float64
	// Unthrottled reports whether some step runs users without a throttle,
	// whose rate only the server's speed limits.
	Unthrottled bool
	// Iterations is the most iterations of the scenario in one step.
	Iterations int64
}

// Note reports something the preparation did, such as a fixture it created.
func (e *Env) Note(format string, args ...any) { e.con.add(fmt.Sprintf(format, args...)) }

// BuiltinScenarios returns the scenarios of the suite, in help order.
func BuiltinScenarios() []Scenario {
	return []Scenario{
		getVersionScenario(),
		getClientScenario(),
		getKeyScenario(),
		createKeyScenario(),
		loginScenario(),
	}
}

// Registry looks scenarios up by name.
type Registry struct {
	scenarios []Scenario
}

// NewRegistry returns a registry of the given scenarios.
func NewRegistry(scenarios ...Scenario) *Registry {
	return &Registry{scenarios: slices.Clone(scenarios)}
}

// Lookup returns the named scenario, or nil.
func (r *Registry) Lookup(name string) *Scenario {
	for i := range r.scenarios {
		if r.scenarios[i].Name == name {
			return &r.scenarios[i]
		}
	}
	return nil
}

// Names lists the registered scenarios.
func (r *Registry) Names() []string {
	names := make([]string, len(r.scenarios))
	for i, s := range r.scenarios {
		names[i] = s.Name
	}
	return names
}

// Choices lists what --scenarios accepts: the registered scenarios and mixed.
func (r *Registry) Choices() []string {
	return append(r.Names(), MixedScenario)
}

// Describe writes one line per scenario, for help text.
func (r *Registry) Describe(w io.Writer) {
	for _, s := range r.scenarios {
		fmt.Fprintf(w, "  %-11s %s\n", s.Name, s.Summary)
	}
	fmt.Fprintf(w, "  %-11s %s\n", MixedScenario, "a weighted mix of the others, set by --mix (default getkey=90,createkey=10)")
}

// singleRequest is an action that sends one prebuilt request.
type singleRequest struct {
	client  *client
	req     *request
	explain func(o Outcome) string
}

func (a *singleRequest) Do(ctx context.Context, keepBody bool) Outcome {
	return a.client.send(ctx, a.req, keepBody)
}

func (a *singleRequest) Explain(o Outcome) string {
	if a.explain == nil {
		return ""
	}
	return a.explain(o)
}

// clientHeaders returns the client credential headers of getclient and
// createkey, after checking that the inputs hold them.
func clientHeaders(scenario string, in Inputs) (http.Header, error) {
	var missing []string
	if in.Tenant == "" {
		missing = append(missing, "X_TMS_TENANT (--tenant)")
	}
	if in.ClientID == "" {
		missing = append(missing, "X_TMS_CLIENT_ID (--client-id)")
	}
	if in.ClientSecret == "" {
		missing = append(missing, "X_TMS_CLIENT_SECRET (--client-secret-file)")
	}
	if len(missing) > 0 {
		return nil, &InputError{Err: fmt.Errorf("%s needs client credentials: set %s (a dev server writes them to <root>/dev.env)",
			scenario, strings.Join(missing, ", "))}
	}
	h := http.Header{}
	h.Set("X-TMS-TENANT", in.Tenant)
	h.Set("X-TMS-CLIENT-ID", in.ClientID)
	h.Set("X-TMS-CLIENT-SECRET", in.ClientSecret.Reveal())
	h.Set("Content-Type", "application/json")
	return h, nil
}

// checkJSONObject accepts any JSON object.
func checkJSONObject(body []byte) error {
	var v map[string]json.RawMessage
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("response is not a JSON object: %w", err)
	}
	return nil
}

// envelope is the result part of every TMS JSON response.
type envelope struct {
	ResultCode string `json:"result_code"`
	ResultMsg  string `json:"result_msg"`
}

// decodeEnvelope reads result_code and result_msg from a response body,
// returning zero values when the body is not the JSON envelope.
func decodeEnvelope(body []byte) envelope {
	var e envelope
	_ = json.Unmarshal(body, &e) // a body that is not the envelope leaves e empty
	return e
}
