package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/store"
)

// auditEvents lists the audit log with --json until it holds at least n
// events (they are written a moment after the requests) and returns them.
func auditEvents(t *testing.T, env cliEnv, n int, args ...string) []map[string]any {
	t.Helper()
	var events []map[string]any
	clocktest.Eventually(t, fmt.Sprintf("tms audit %s lists %d events", strings.Join(args, " "), n), func() bool {
		out := env.ok(t, append(append([]string{"audit"}, args...), "--json")...)
		var answer struct {
			Events []map[string]any `json:"events"`
		}
		if err := json.Unmarshal([]byte(out), &answer); err != nil {
			t.Fatalf("tms audit --json: %v\n%s", err, out)
		}
		events = answer.Events
		return len(events) >= n
	})
	return events
}

func TestAuditCommand(t *testing.T) {
	t.Parallel()
	_, admin := startDevServer(t)

	admin.ok(t, "clients", "create", "--client", "gateway1", "--app-name", "gateway", "--app-version", "1.0")
	admin.ok(t, "pubkeys", "create", "--user", "testuser1", "--host", "testhost1", "--account", "testhostaccount1", "--stdout")
	admin.with("X_TMS_ADMIN_SECRET=", "X_TMS_CLIENT_SECRET=wrong").fails(t, 1, "NOT AUTHORIZED", "clients", "list")

	events := auditEvents(t, admin, 3)
	if events[0]["type"] != "auth.failure" || events[1]["type"] != "key.create" || events[2]["type"] != "client.create" {
		t.Fatalf("newest three events: %v, %v, %v", events[0]["type"], events[1]["type"], events[2]["type"])
	}

	table := admin.ok(t, "audit")
	for _, want := range []string{"ID", "TYPE", "OUTCOME", "ACTOR", "client.create", "admin:~~admin", "client=gateway1",
		"key.create", "client:testclient1", "user=testuser1", "auth.failure", "denied"} {
		if !strings.Contains(table, want) {
			t.Errorf("tms audit lacks %q:\n%s", want, table)
		}
	}

	only := auditEvents(t, admin, 1, "--type", "key.create", "--from", "1h")
	if len(only) != 1 || only[0]["actor"] != "client:testclient1" {
		t.Fatalf("--type key.create --from 1h: %v", only)
	}
	if got := auditEvents(t, admin, 0, "--actor", "admin:~~admin", "--to", "2000-01-01T00:00:00Z"); len(got) != 0 {
		t.Fatalf("events before 2000: %v", got)
	}
	page := admin.ok(t, "audit", "--limit", "1")
	if !strings.Contains(page, "add --after ") {
		t.Errorf("a full page does not say how to continue:\n%s", page)
	}
	next := auditEvents(t, admin, 1, "--limit", "1", "--after", jsonNumber(events[0]["id"]))
	if next[0]["id"] != events[1]["id"] {
		t.Errorf("--after continued with %v, want event %v", next[0]["id"], events[1]["id"])
	}

	admin.fails(t, 1, "'default' tenant", "audit", "--no-tenant")
	admin.with("X_TMS_ADMIN_SECRET=").fails(t, 2, "needs administrator credentials", "audit")
}

func TestAuditCommandBadInput(t *testing.T) {
	t.Parallel()
	url, connections := countingListener(t)
	env := cliEnv{"TMS_URL": url, "X_TMS_TENANT": "test", "X_TMS_ADMIN_SECRET": "a"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "yesterday"}, `--from: "yesterday" is neither an RFC 3339 time`},
		{[]string{"--to", "-5m"}, `--to: "-5m" is neither`},
		{[]string{"--from", "1h", "--to", "2h"}, "--to: "},
		{[]string{"--limit", "0"}, "--limit: 0 is not from 1 to 1000"},
		{[]string{"--limit", "1001"}, "--limit: 1001"},
		{[]string{"--limit", "many"}, `"--limit"`},
		{[]string{"--after", "-1"}, "--after: -1 is not an event id"},
		{[]string{"extra"}, "takes no arguments"},
	} {
		env.fails(t, 2, tc.want, append([]string{"audit"}, tc.args...)...)
	}
	if n := connections.Load(); n != 0 {
		t.Errorf("bad input reached the server: %d connections", n)
	}
}

func TestAdminCommandsAreAudited(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		env     cliEnv
		records bool
	}{
		{"audit on", cliEnv{}, true},
		{"audit off", cliEnv{"TMS_AUDIT_ENABLED": "false"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			installRoot(t, root, nil)
			out := tc.env.ok(t, "admin", "rotate-secret", "--tenant", "test", "--root-dir", root)
			secret := field(t, out, "admin_secret")
			tc.env.ok(t, "admin", "enable-tenant", "--tenant", "test", "--root-dir", root)

			st, err := server.OpenStore(t.Context(), server.StoreOptions{RootDir: root, Env: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			events, err := st.ListAudit(t.Context(), store.AuditQuery{Tenant: "test", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.records {
				if len(events) != 0 {
					t.Fatalf("with the audit log off: %d events", len(events))
				}
				return
			}
			if len(events) != 2 || events[0].Type != "tenant.update" || events[1].Type != "admin.secret_rotate" {
				t.Fatalf("events: %+v", events)
			}
			for _, e := range events {
				if !strings.HasPrefix(e.Actor, "operator:") || e.RemoteAddr != "local" || e.Outcome != "success" {
					t.Errorf("event %+v: want an operator actor, a local address and success", e)
				}
				if strings.Contains(fmt.Sprintf("%+v", e), secret) {
					t.Errorf("event %+v holds the new secret", e)
				}
			}
		})
	}
}
