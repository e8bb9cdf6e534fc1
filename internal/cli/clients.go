package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/client"
)

func newClientsCommand(stdio IO) *cobra.Command {
	g := newAPIGroup(stdio, "clients", "Register and manage client applications",
		`Manage the client applications of a tenant: the trusted applications that
obtain SSH keys for their users.

Registering a client needs administrator credentials; its secret is shown
once. A client may read, update, rotate and delete only itself; an
administrator may act on every client of the tenant. Commands that take
--client default to the configured client (X_TMS_CLIENT_ID).`)
	g.cmd.AddCommand(
		newClientsCreateCommand(g),
		newClientsGetCommand(g),
		newClientsListCommand(g),
		newClientsUpdateCommand(g),
		newClientsRotateSecretCommand(g),
		newClientsDeleteCommand(g),
	)
	return g.cmd
}

func showClientSecret(o *output, res client.ClientSecret) {
	o.field("client_id", res.ClientID)
	o.field("client_secret", res.ClientSecret)
	o.line("")
	o.line("The client secret is shown only this once.")
}

func newClientsCreateCommand(g *apiGroup) *cobra.Command {
	var nc client.NewClient
	cmd := &cobra.Command{
		Use:   "create --client ID --app-name NAME --app-version VERSION",
		Short: "Register a client application and print its secret",
		Long: `Register a client application in the tenant and print its secret, which
is shown only this once. The application's name and version pair must be
unique in the tenant. VERSION is a version requirement such as 1.0, 1.2.3,
>=1.0 or *.`,
		Example: `  tms clients create --client gateway1 --app-name gateway --app-version 1.0`,
		Args:    noArgs,
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			res, err := s.api.CreateClient(ctx, nc)
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) { showClientSecret(o, res) })
		}),
	}
	f := cmd.Flags()
	f.StringVar(&nc.ClientID, "client", "", "client id to register (required)")
	f.StringVar(&nc.AppName, "app-name", "", "application name (required)")
	f.StringVar(&nc.AppVersion, "app-version", "", "application version requirement, e.g. 1.0 (required)")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error { return required(cmd, "client", "app-name", "app-version") }
	return cmd
}

// clientFlag registers --client for commands that act on one client,
// defaulting to the configured one.
func clientFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "client", "", "client `ID` (default: the configured client, $X_TMS_CLIENT_ID)")
}

func newClientsGetCommand(g *apiGroup) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:     "get [--client ID]",
		Short:   "Show a client application",
		Example: "  tms clients get --client gateway1\n  tms clients get --as client    # the configured client, with its own credentials",
		Args:    noArgs,
		RunE: g.run(asAdminOrClient, func(ctx context.Context, s *session, _ []string) error {
			id, err := orDefault(id, s.clientID, "client", envClientID)
			if err != nil {
				return err
			}
			c, err := s.api.GetClient(ctx, id)
			if err != nil {
				return err
			}
			return g.show(&c, func(o *output) {
				o.field("client_id", c.ClientID)
				o.field("tenant", c.Tenant)
				o.field("id", c.ID)
				o.field("app_name", c.AppName)
				o.field("app_version", c.AppVersion)
				o.field("enabled", boolText(c.Enabled))
				o.field("created", when(c.Created))
				o.field("updated", when(c.Updated))
			})
		}),
	}
	clientFlag(cmd, &id)
	return cmd
}

func newClientsListCommand(g *apiGroup) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the tenant's client applications (a client sees only itself)",
		Example: "  tms clients list",
		Args:    noArgs,
		RunE: g.run(asAdminOrClient, func(ctx context.Context, s *session, _ []string) error {
			list, err := s.api.ListClients(ctx)
			if err != nil {
				return err
			}
			return g.show(&list, func(o *output) {
				if len(list.Clients) == 0 {
					o.line("No clients.")
					return
				}
				o.row("CLIENT_ID", "ID", "APP_NAME", "APP_VERSION", "ENABLED", "CREATED", "UPDATED")
				for _, c := range list.Clients {
					o.row(c.ClientID, strconv.FormatInt(c.ID, 10), c.AppName, c.AppVersion, boolText(c.Enabled), when(c.Created), when(c.Updated))
				}
			})
		}),
	}
}

func newClientsUpdateCommand(g *apiGroup) *cobra.Command {
	var id, version string
	var enabled bool
	cmd := &cobra.Command{
		Use:     "update [--client ID] [--app-version VERSION] [--enabled=true|false]",
		Short:   "Change a client's application version or enable or disable it",
		Long:    `Change a client's application version, or enable or disable it. A disabled client cannot obtain keys, and its keys are refused at login.`,
		Example: "  tms clients update --client gateway1 --app-version 1.1\n  tms clients update --client gateway1 --enabled=false",
		Args:    noArgs,
	}
	clientFlag(cmd, &id)
	cmd.Flags().StringVar(&version, "app-version", "", "new application version requirement")
	cmd.Flags().BoolVar(&enabled, "enabled", false, "enable (true) or disable (false) the client")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if !cmd.Flags().Changed("app-version") && !cmd.Flags().Changed("enabled") {
			return &usageError{fmt.Errorf("nothing to update: give --app-version or --enabled")}
		}
		if cmd.Flags().Changed("app-version") && version == "" {
			return &usageError{fmt.Errorf("--app-version: must not be empty")}
		}
		return nil
	}
	cmd.RunE = g.run(asAdminOrClient, func(ctx context.Context, s *session, _ []string) error {
		id, err := orDefault(id, s.clientID, "client", envClientID)
		if err != nil {
			return err
		}
		var upd client.ClientUpdate
		if cmd.Flags().Changed("app-version") {
			upd.AppVersion = &version
		}
		if cmd.Flags().Changed("enabled") {
			upd.Enabled = &enabled
		}
		res, err := s.api.UpdateClient(ctx, id, upd)
		if err != nil {
			return err
		}
		return g.show(&res, func(o *output) { o.line("%s", res.ResultMsg) })
	})
	return cmd
}

func newClientsRotateSecretCommand(g *apiGroup) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "rotate-secret [--client ID]",
		Short: "Give a client a new secret and print it",
		Long: `Give a client a new secret and print it; the old secret stops working at
once. The new secret is shown only this once.`,
		Example: "  tms clients rotate-secret --client gateway1",
		Args:    noArgs,
		RunE: g.run(asAdminOrClient, func(ctx context.Context, s *session, _ []string) error {
			id, err := orDefault(id, s.clientID, "client", envClientID)
			if err != nil {
				return err
			}
			res, err := s.api.RotateClientSecret(ctx, id)
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) { showClientSecret(o, res) })
		}),
	}
	clientFlag(cmd, &id)
	return cmd
}

func newClientsDeleteCommand(g *apiGroup) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "delete --client ID",
		Short: "Delete a client with its delegations, keys and reservations",
		Long: `Delete a client application. Its delegations, keys and reservations are
deleted with it, so its keys stop working at once.`,
		Example: "  tms clients delete --client gateway1",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return required(cmd, "client") },
		RunE: g.run(asAdminOrClient, func(ctx context.Context, s *session, _ []string) error {
			res, err := s.api.DeleteClient(ctx, id)
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) { o.line("%s", res.ResultMsg) })
		}),
	}
	cmd.Flags().StringVar(&id, "client", "", "client `ID` to delete (required)")
	return cmd
}
