package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/client"
)

func newTenantsCommand(stdio IO) *cobra.Command {
	g := newAPIGroup(stdio, "tenants", "Create, inspect, enable, disable and delete tenants",
		`Manage tenants. Every tenant has one administrator, "~~admin", whose
secret is shown once when the tenant is created.

Creating a tenant needs the credentials of the administrator of the
"default" tenant. Updating, deleting and wiping a tenant need its own
administrator. Reading tenants needs no credentials.`)
	g.cmd.AddCommand(
		newTenantsCreateCommand(g),
		newTenantsGetCommand(g),
		newTenantsListCommand(g),
		newTenantsUpdateCommand(g),
		newTenantsDeleteCommand(g, false),
		newTenantsDeleteCommand(g, true),
	)
	return g.cmd
}

func showTenant(o *output, t client.Tenant) {
	o.field("tenant", t.Name)
	o.field("id", t.ID)
	o.field("enabled", boolText(t.Enabled))
	o.field("created", when(t.Created))
	o.field("updated", when(t.Updated))
}

func newTenantsCreateCommand(g *apiGroup) *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME",
		Short: "Create a tenant and its administrator (needs the default tenant's administrator)",
		Long: `Create a tenant with its administrator "~~admin" and print the
administrator's secret. It is shown only this once; keep it safe.`,
		Example: `  X_TMS_TENANT=default X_TMS_ADMIN_SECRET=... tms tenants create lab`,
		Args:    exactArgs("NAME"),
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, args []string) error {
			res, err := s.api.CreateTenant(ctx, args[0])
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) {
				o.field("tenant", res.Name)
				o.field("enabled", res.Enabled)
				o.field("admin_id", res.AdminID)
				o.field("admin_secret", res.AdminSecret)
				o.line("")
				o.line("The administrator secret is shown only this once.")
			})
		}),
	}
}

func newTenantsGetCommand(g *apiGroup) *cobra.Command {
	return &cobra.Command{
		Use:     "get [NAME]",
		Short:   "Show a tenant (default: the configured tenant)",
		Example: "  tms tenants get test",
		Args:    optionalArg("NAME"),
		RunE: g.run(anonymous, func(ctx context.Context, s *session, args []string) error {
			name := s.tenant
			if len(args) == 1 {
				name = args[0]
			}
			name, err := orDefault(name, "", "tenant", envTenant)
			if err != nil {
				return err
			}
			t, err := s.api.GetTenant(ctx, name)
			if err != nil {
				return err
			}
			return g.show(&t, func(o *output) { showTenant(o, t) })
		}),
	}
}

func newTenantsListCommand(g *apiGroup) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the tenants (every one for the default tenant's administrator)",
		Example: "  X_TMS_TENANT=default tms tenants list",
		Args:    noArgs,
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			list, err := s.api.ListTenants(ctx)
			if err != nil {
				return err
			}
			return g.show(&list, func(o *output) {
				o.row("TENANT", "ID", "ENABLED", "CREATED", "UPDATED")
				for _, t := range list.Tenants {
					o.row(t.Name, strconv.FormatInt(t.ID, 10), boolText(t.Enabled), when(t.Created), when(t.Updated))
				}
			})
		}),
	}
}

func newTenantsUpdateCommand(g *apiGroup) *cobra.Command {
	var enabled bool
	cmd := &cobra.Command{
		Use:   "update [NAME] --enabled=true|false",
		Short: "Enable or disable a tenant (default: the configured tenant)",
		Long: `Enable or disable a tenant. A disabled tenant refuses every request,
including this one: to enable it again, an operator runs
"tms admin enable-tenant" on the server.`,
		Example: "  tms tenants update lab --enabled=false",
		Args:    optionalArg("NAME"),
	}
	cmd.Flags().BoolVar(&enabled, "enabled", false, "enable (true) or disable (false) the tenant (required)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if !cmd.Flags().Changed("enabled") {
			return &usageError{fmt.Errorf("--enabled: required (--enabled=true or --enabled=false)")}
		}
		return g.tenantAction(func(ctx context.Context, s *session, name string) error {
			res, err := s.api.UpdateTenant(ctx, name, enabled)
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) { o.line("%s", res.ResultMsg) })
		})(cmd, args)
	}
	return cmd
}

// tenantAction runs an administrator action on the tenant named by the
// argument or, without one, on the configured tenant. When no tenant is
// configured, the named one is also the tenant of the credentials.
func (g *apiGroup) tenantAction(fn func(ctx context.Context, s *session, name string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		name := ""
		if len(args) == 1 {
			name = args[0]
		}
		s, err := g.connect(cmd.CommandPath(), asAdmin, name)
		if err != nil {
			return &usageError{err}
		}
		if name == "" {
			name = s.tenant
		}
		return serverFailure(fn(cmd.Context(), s, name))
	}
}

func newTenantsDeleteCommand(g *apiGroup, wipe bool) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an empty tenant and its administrator",
		Long: `Delete a tenant that has no clients, users, keys or hosts left, with its
administrator. "tms tenants wipe" deletes a tenant with everything in it.`,
		Example: "  tms tenants delete lab",
		Args:    exactArgs("NAME"),
	}
	if wipe {
		cmd.Use = "wipe NAME --yes"
		cmd.Short = "Delete a tenant with every client, user, key and host in it"
		cmd.Long = `Delete a tenant with everything in it: reservations, keys, delegations,
host mappings, user MFA records, clients, hosts and its administrator. This
cannot be undone, so it asks for --yes.`
		cmd.Example = "  tms tenants wipe lab --yes"
		cmd.Flags().BoolVar(&yes, "yes", false, "confirm that everything in the tenant is to be deleted")
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if wipe && !yes {
			return &usageError{fmt.Errorf("--yes: required to wipe tenant %s and everything in it", args[0])}
		}
		return g.tenantAction(func(ctx context.Context, s *session, name string) error {
			var res client.Deleted
			var err error
			if wipe {
				res, err = s.api.WipeTenant(ctx, name)
			} else {
				res, err = s.api.DeleteTenant(ctx, name)
			}
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) { o.line("%s", res.ResultMsg) })
		})(cmd, args)
	}
	return cmd
}
