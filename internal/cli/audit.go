package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/client"
)

// auditFlags are the filters of tms audit, as typed.
type auditFlags struct {
	from, to   string
	actor, typ string
	limit      int
	after      int64
	noTenant   bool
	now        func() time.Time
}

func newAuditCommand(stdio IO) *cobra.Command {
	g := newAPIGroup(stdio, "audit", "List the audit log of the tenant (newest first)",
		`List the security events of the tenant, newest first: keys issued,
looked up and refused, changes to clients, users, MFA records, host
mappings, delegations, hosts and tenants, secret rotations, sign-ins,
device approvals, and failed authentication. Each event shows when it
happened, who acted (client:ID, admin:ID, host:ID, user:NAME), from
which address, what it concerned and how it ended (success, denied,
refused, invalid, error). Secrets and private keys are never recorded.

It needs the tenant administrator's credentials. The administrator of
the "default" tenant can list the events that belong to no tenant, such
as lookups of unknown keys, with --no-tenant.

--from and --to take an RFC 3339 time (2026-07-13T18:00:00Z) or a
duration before now (24h, 30m). A listing stops after --limit events;
the last line then shows the --after value that continues it.`)
	f := &auditFlags{now: time.Now}
	cmd := g.cmd
	cmd.Args = noArgs
	cmd.Example = `  tms audit
  tms audit --from 24h --type key.retrieve
  tms audit --actor client:gateway1 --limit 20 --json
  X_TMS_TENANT=default tms audit --no-tenant --from 1h`
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "only events at or after `TIME` (RFC 3339, or a duration ago such as 24h)")
	fl.StringVar(&f.to, "to", "", "only events before `TIME` (RFC 3339, or a duration ago)")
	fl.StringVar(&f.actor, "actor", "", "only events of `ACTOR`, e.g. client:gateway1 or admin:~~admin")
	fl.StringVar(&f.typ, "type", "", "only events of `TYPE`, e.g. key.create, key.retrieve, auth.failure")
	fl.IntVar(&f.limit, "limit", 100, "list at most `N` events (1 to 1000)")
	fl.Int64Var(&f.after, "after", 0, "continue after the event with this `ID`")
	fl.BoolVar(&f.noTenant, "no-tenant", false, "list the events that belong to no tenant (administrator of the default tenant)")
	var q client.AuditQuery
	run := g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
		list, err := s.api.ListAudit(ctx, q)
		if err != nil {
			return err
		}
		return g.show(&list, func(o *output) { showAudit(o, list) })
	})
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		if q, err = f.query(); err != nil {
			return &usageError{err}
		}
		return run(cmd, args)
	}
	return cmd
}

// query checks the filters and turns them into a query.
func (f *auditFlags) query() (client.AuditQuery, error) {
	q := client.AuditQuery{Actor: f.actor, Type: f.typ, Limit: f.limit, After: f.after, NoTenant: f.noTenant}
	now := f.now()
	for _, bound := range []struct {
		flag, value string
		dst         *time.Time
	}{{"from", f.from, &q.From}, {"to", f.to, &q.To}} {
		if bound.value == "" {
			continue
		}
		t, err := parseWhen(bound.value, now)
		if err != nil {
			return q, fmt.Errorf("--%s: %w", bound.flag, err)
		}
		*bound.dst = t
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return q, fmt.Errorf("--to: %s is not after --from (%s)", q.To.Format(time.RFC3339), q.From.Format(time.RFC3339))
	}
	if f.limit < 1 || f.limit > 1000 {
		return q, fmt.Errorf("--limit: %d is not from 1 to 1000", f.limit)
	}
	if f.after < 0 {
		return q, fmt.Errorf("--after: %d is not an event id", f.after)
	}
	return q, nil
}

// parseWhen reads an RFC 3339 time or a positive duration before now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-07-13T18:00:00Z) nor a duration ago (24h)", s)
	}
	return now.Add(-d), nil
}

// showAudit prints events as a table, one per row.
func showAudit(o *output, list client.AuditList) {
	o.row("ID", "TIME", "TYPE", "OUTCOME", "TIMES", "ACTOR", "FROM", "SUBJECT", "DETAIL")
	for _, e := range list.Events {
		o.row(strconv.FormatInt(e.ID, 10), e.Time.UTC().Format(time.RFC3339), e.Type, e.Outcome, strconv.Itoa(max(e.Repeats, 1)),
			dash(e.Actor), dash(e.RemoteAddr), dash(auditSubject(e)), dash(e.Detail))
	}
	if list.NextAfter != 0 {
		o.line("")
		o.line("More events may follow: add --after %d.", list.NextAfter)
	}
}

// auditSubject describes what an event concerned in one cell.
func auditSubject(e client.AuditEvent) string {
	var parts []string
	for _, p := range [][2]string{{"user", e.User}, {"client", e.ClientID}, {"account", e.HostAccount},
		{"host", e.Host}, {"key", e.Fingerprint}} {
		if p[1] != "" {
			parts = append(parts, p[0]+"="+p[1])
		}
	}
	return strings.Join(parts, " ")
}

// dash shows an empty cell as "-".
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
