package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/server/servertest"
)

// devServer is a TMS development server (tms server --dev) running in the
// test process, with the variables of its dev.env.
type devServer struct {
	url string
	env map[string]string
}

// startDevServer runs a --dev server on a fresh root directory and port 0
// until the test ends.
func startDevServer(t *testing.T) *devServer {
	t.Helper()
	srv := servertest.StartDev(t)
	return &devServer{url: srv.URL, env: srv.DevEnv(t)}
}

// inputs returns the load-test inputs of the server's dev.env.
func (s *devServer) inputs(t *testing.T) Inputs {
	t.Helper()
	in, err := InputsFromEnv(func(name string) (string, bool) {
		v, ok := s.env[name]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// adminList reads a list endpoint with the test tenant's administrator
// credentials and returns the named field of each record.
func (s *devServer) adminList(t *testing.T, path, listField, nameField string) []string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-TMS-TENANT", s.env["X_TMS_TENANT"])
	req.Header.Set("X-TMS-ADMIN-ID", s.env["X_TMS_ADMIN_ID"])
	req.Header.Set("X-TMS-ADMIN-SECRET", s.env["X_TMS_ADMIN_SECRET"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	var records []map[string]any
	if err := json.Unmarshal(body[listField], &records); err != nil {
		t.Fatalf("GET %s: field %s: %v", path, listField, err)
	}
	var names []string
	for _, r := range records {
		if name, ok := r[nameField].(string); ok {
			names = append(names, name)
		}
	}
	return names
}

var createdPattern = regexp.MustCompile(`login: created (\d+) users? (loadtest-[0-9a-f]+)-`)

func TestLoginScenarioAgainstDevServer(t *testing.T) {
	srv := startDevServer(t)
	cfg := testConfig(srv.url, "login")
	cfg.Inputs = srv.inputs(t)
	cfg.Load = Load{Users: 3, Iterations: 5}
	cfg.Timeout = 20 * time.Second
	cfg.StallTimeout = 20 * time.Second

	rep, log, err := runTest(t, cfg)
	if err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log)
	}
	step := rep.Steps[0]
	if !rep.Passed || step.Requests != 15 || step.Failures != 0 || step.Scenarios[0].StatusCodes["200"] != 15 {
		t.Fatalf("the run did not log in 15 times without failure: passed %v, %d requests, %d failures, %v\nlog:\n%s",
			rep.Passed, step.Requests, step.Failures, step.Scenarios[0].StatusCodes, log)
	}
	m := createdPattern.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("the log does not say which users were created:\n%s", log)
	}
	// Sized from the load: the step's 15 logins and the preflight's one.
	if m[1] != "16" {
		t.Errorf("created %s users, want 16 (one per login of the step and the preflight)", m[1])
	}
	prefix := m[2]
	if !strings.Contains(log, "login: deleted the 16 users it created ("+prefix+"-*)") {
		t.Errorf("the log does not say the users were deleted:\n%s", log)
	}
	if strings.Contains(log, srv.env["X_TMS_ADMIN_SECRET"]) {
		t.Errorf("the log shows the administrator secret:\n%s", log)
	}
	t.Logf("login p50 %.1fms, p99 %.1fms over %d logins", step.Scenarios[0].Latency.P50Ms, step.Scenarios[0].Latency.P99Ms, step.Requests)

	// Nothing of the run is left: users, and the MFA records and
	// delegations their sign-ins made.
	for _, list := range []struct{ path, field, name string }{
		{"/v1/tms/users/list", "users", "username"},
		{"/v1/tms/usermfa/list", "users", "tms_user_id"},
		{"/v1/tms/delegations/list", "users", "client_user_id"},
	} {
		names := srv.adminList(t, list.path, list.field, list.name)
		if len(names) == 0 {
			t.Errorf("%s lists nothing, not even the dev server's test user", list.path)
		}
		for _, name := range names {
			if strings.HasPrefix(name, prefix) {
				t.Errorf("%s still lists %s after the run", list.path, name)
			}
		}
	}
}

func TestLoginPreflightExplainsCredentials(t *testing.T) {
	srv := startDevServer(t)
	tests := []struct {
		name   string
		change func(in *Inputs)
		input  bool // an *InputError rather than a *PreflightError
		want   []string
	}{
		{"no administrator", func(in *Inputs) { in.AdminID, in.AdminSecret = "", "" }, true,
			[]string{"login creates the users it signs in with", "set X_TMS_ADMIN_ID (--admin-id), X_TMS_ADMIN_SECRET (--admin-secret-file)", "dev.env"}},
		{"no tenant", func(in *Inputs) { in.Tenant = "" }, true, []string{"set X_TMS_TENANT (--tenant)"}},
		{"wrong secret", func(in *Inputs) { in.AdminSecret = "not-the-admin-secret" }, false,
			[]string{"preflight login", "refused the tenant administrator credentials", `"~~admin"`, `tenant "test"`, "401",
				"check X_TMS_ADMIN_ID and X_TMS_ADMIN_SECRET"}},
		{"unknown tenant", func(in *Inputs) { in.Tenant = "nosuch" }, false,
			[]string{"preflight login", `tenant "nosuch" is disabled or does not exist`, "X_TMS_TENANT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(srv.url, "login")
			cfg.Inputs = srv.inputs(t)
			tt.change(&cfg.Inputs)
			_, log, err := runTest(t, cfg)
			var inputErr *InputError
			var preflightErr *PreflightError
			if tt.input && !errors.As(err, &inputErr) || !tt.input && !errors.As(err, &preflightErr) {
				t.Fatalf("err = %v (%T), want an input error: %v\nlog:\n%s", err, err, tt.input, log)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if strings.Contains(err.Error()+log, "not-the-admin-secret") {
				t.Errorf("the error or log shows the secret: %v\n%s", err, log)
			}
			if strings.Contains(log, "login: created") {
				t.Errorf("users were created although the run could not start:\n%s", log)
			}
		})
	}
}

// TestLoginFailuresNameTheirStage signs in twice with one user's code of
// one step, which the server refuses (the reason for the pool), and with a
// wrong password.
func TestLoginFailuresNameTheirStage(t *testing.T) {
	srv := startDevServer(t)
	in := srv.inputs(t)
	c, err := newClient(in.URL, TLSOptions{}, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	var log servertest.Buffer
	env := &Env{Inputs: in, LoginUsers: 1, client: c, con: newConsole(&log)}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	action, err := prepareLogin(ctx, env)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	login := action.(*loginAction)
	defer func() {
		login.Cleanup(ctx)
		if !strings.Contains(log.String(), "login: deleted the 1 user it created") {
			t.Errorf("the log does not say the user was deleted:\n%s", log.String())
		}
	}()
	user := login.pool.ready[0]

	first, err := login.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	step := first.(*loginIteration).lease.step
	if o := first.Do(ctx, true); o.Class != ClassNone || o.Status != http.StatusOK {
		t.Fatalf("first login: %+v", o)
	}

	tests := []struct {
		name    string
		lease   lease
		wantErr string
	}{
		{"code used twice", lease{user: user, step: step}, "That one-time code was used already."},
		{"wrong password", lease{user: &loginUser{name: user.name, password: "not the password", key: user.key}, step: step + 1},
			"The username, password or one-time code is not right."},
	}
	for _, tt := range tests {
		o := login.login(ctx, tt.lease, true)
		if o.Stage != stageSignIn || o.Status != http.StatusUnauthorized || o.Class != Class4xx || o.Err == nil || !strings.Contains(o.Err.Error(), tt.wantErr) {
			t.Errorf("%s: outcome %+v, want a 401 at the sign-in stage saying %q", tt.name, o, tt.wantErr)
			continue
		}
		if msg := login.Explain(o); !strings.Contains(msg, "clock") {
			t.Errorf("%s: explanation %q does not mention the clock", tt.name, msg)
		}
	}
}
