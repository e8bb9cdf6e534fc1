package cli

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/client"
)

func newDelegationsCommand(stdio IO) *cobra.Command {
	g := newAPIGroup(stdio, "delegations", "Let client applications obtain keys for users (administrator)",
		`Manage delegations: a client application may obtain keys for a user only
while a delegation from the user to the client exists and has not expired.
Deleting a delegation deletes the keys that depend on it. These commands
need administrator credentials.`)
	g.cmd.AddCommand(
		newDelegationsCreateCommand(g),
		newDelegationsGetCommand(g),
		newDelegationsListCommand(g),
		newDelegationsUpdateCommand(g),
		newDelegationsDeleteCommand(g),
	)
	return g.cmd
}

// delegationFlags registers --client and --user.
func delegationFlags(cmd *cobra.Command, ref *client.DelegationRef) {
	cmd.Flags().StringVar(&ref.ClientID, "client", "", "client application id (required)")
	cmd.Flags().StringVar(&ref.User, "user", "", "user id (required)")
}

func newDelegationsCreateCommand(g *apiGroup) *cobra.Command {
	var ref client.DelegationRef
	var ttl int64
	cmd := &cobra.Command{
		Use:     "create --client CLIENT --user USER [--ttl-minutes N]",
		Short:   "Let a client application obtain keys for a user",
		Long:    `Let a client application obtain keys for a user. The client must exist and the user needs an MFA record (tms usermfa create).`,
		Example: "  tms delegations create --client gateway1 --user alice",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(cmd, "client", "user"); err != nil {
				return err
			}
			return checkInt32("ttl-minutes", ttl)
		},
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			d, err := s.api.CreateDelegation(ctx, ref, ttl)
			if err != nil {
				return err
			}
			return g.show(&d, func(o *output) {
				o.field("client_id", d.ClientID)
				o.field("client_user_id", d.ClientUserID)
				o.field("expires_at", when(d.ExpiresAt))
			})
		}),
	}
	delegationFlags(cmd, &ref)
	ttlFlag(cmd, &ttl, "delegation")
	return cmd
}

func newDelegationsGetCommand(g *apiGroup) *cobra.Command {
	return &cobra.Command{
		Use:     "get ID",
		Short:   "Show a delegation by its id",
		Example: "  tms delegations get 4",
		Args:    exactArgs("ID"),
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			d, err := s.api.GetDelegation(ctx, id)
			if err != nil {
				return err
			}
			return g.show(&d, func(o *output) {
				o.field("id", d.ID)
				o.field("tenant", d.Tenant)
				o.field("client_id", d.ClientID)
				o.field("client_user_id", d.ClientUserID)
				o.field("expires_at", when(d.ExpiresAt))
				o.field("created", when(d.Created))
				o.field("updated", when(d.Updated))
			})
		}),
	}
}

func newDelegationsListCommand(g *apiGroup) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the tenant's delegations",
		Example: "  tms delegations list",
		Args:    noArgs,
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			list, err := s.api.ListDelegations(ctx)
			if err != nil {
				return err
			}
			return g.show(&list, func(o *output) {
				if len(list.Delegations) == 0 {
					o.line("No delegations.")
					return
				}
				o.row("ID", "CLIENT_ID", "CLIENT_USER_ID", "EXPIRES_AT", "CREATED")
				for _, d := range list.Delegations {
					o.row(strconv.FormatInt(d.ID, 10), d.ClientID, d.ClientUserID, when(d.ExpiresAt), when(d.Created))
				}
			})
		}),
	}
}

func newDelegationsUpdateCommand(g *apiGroup) *cobra.Command {
	var ref client.DelegationRef
	var ttl int64
	cmd := &cobra.Command{
		Use:     "update --client CLIENT --user USER --ttl-minutes N",
		Short:   "Set when a delegation expires",
		Long:    `Set a delegation to expire N minutes from now (-1: never).`,
		Example: "  tms delegations update --client gateway1 --user alice --ttl-minutes 43200",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(cmd, "client", "user"); err != nil {
				return err
			}
			return requiredTTL(cmd, ttl)
		},
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			res, err := s.api.UpdateDelegation(ctx, ref, ttl)
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) { showExpiryUpdate(o, res) })
		}),
	}
	delegationFlags(cmd, &ref)
	ttlFlag(cmd, &ttl, "delegation")
	return cmd
}

func newDelegationsDeleteCommand(g *apiGroup) *cobra.Command {
	var ref client.DelegationRef
	cmd := &cobra.Command{
		Use:     "delete --client CLIENT --user USER",
		Short:   "Delete a delegation and the keys that depend on it",
		Example: "  tms delegations delete --client gateway1 --user alice",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return required(cmd, "client", "user") },
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			res, err := s.api.DeleteDelegation(ctx, ref)
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) { o.line("%s", res.ResultMsg) })
		}),
	}
	delegationFlags(cmd, &ref)
	return cmd
}
