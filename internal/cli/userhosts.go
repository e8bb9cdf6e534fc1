package cli

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/client"
)

func newUserHostsCommand(stdio IO) *cobra.Command {
	g := newAPIGroup(stdio, "userhosts", "Map users to accounts on hosts (administrator)",
		`Manage which account on which host each user may log in to with a TMS key.
A key is issued and accepted only while its user's mapping exists and has
not expired; deleting a mapping deletes the keys that depend on it. These
commands need administrator credentials.`)
	g.cmd.AddCommand(
		newUserHostsCreateCommand(g),
		newUserHostsGetCommand(g),
		newUserHostsListCommand(g),
		newUserHostsUpdateCommand(g),
		newUserHostsDeleteCommand(g),
	)
	return g.cmd
}

// userHostFlags registers --user, --host and --account.
func userHostFlags(cmd *cobra.Command, ref *client.UserHostRef) {
	f := cmd.Flags()
	f.StringVar(&ref.User, "user", "", "user id (required)")
	f.StringVar(&ref.Host, "host", "", "host name (required)")
	f.StringVar(&ref.Account, "account", "", "login account on the host (required)")
}

func newUserHostsCreateCommand(g *apiGroup) *cobra.Command {
	var ref client.UserHostRef
	var ttl int64
	cmd := &cobra.Command{
		Use:     "create --user USER --host HOST --account ACCOUNT [--ttl-minutes N]",
		Short:   "Let a user log in to an account on a host",
		Long:    `Let a user log in to an account on a host with TMS keys. The user needs an MFA record first (tms usermfa create).`,
		Example: "  tms userhosts create --user alice --host login1 --account alice",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(cmd, "user", "host", "account"); err != nil {
				return err
			}
			return checkInt32("ttl-minutes", ttl)
		},
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			h, err := s.api.CreateUserHost(ctx, ref, ttl)
			if err != nil {
				return err
			}
			return g.show(&h, func(o *output) {
				o.field("tms_user_id", h.TMSUserID)
				o.field("host", h.Host)
				o.field("host_account", h.HostAccount)
				o.field("expires_at", when(h.ExpiresAt))
			})
		}),
	}
	userHostFlags(cmd, &ref)
	ttlFlag(cmd, &ttl, "mapping")
	return cmd
}

func newUserHostsGetCommand(g *apiGroup) *cobra.Command {
	return &cobra.Command{
		Use:     "get ID",
		Short:   "Show a user's host mapping by its id",
		Example: "  tms userhosts get 3",
		Args:    exactArgs("ID"),
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			h, err := s.api.GetUserHost(ctx, id)
			if err != nil {
				return err
			}
			return g.show(&h, func(o *output) {
				o.field("id", h.ID)
				o.field("tenant", h.Tenant)
				o.field("tms_user_id", h.TMSUserID)
				o.field("host", h.Host)
				o.field("host_account", h.HostAccount)
				o.field("expires_at", when(h.ExpiresAt))
				o.field("created", when(h.Created))
				o.field("updated", when(h.Updated))
			})
		}),
	}
}

func newUserHostsListCommand(g *apiGroup) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the tenant's user host mappings",
		Example: "  tms userhosts list",
		Args:    noArgs,
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			list, err := s.api.ListUserHosts(ctx)
			if err != nil {
				return err
			}
			return g.show(&list, func(o *output) {
				if len(list.Mappings) == 0 {
					o.line("No user host mappings.")
					return
				}
				o.row("ID", "TMS_USER_ID", "HOST", "HOST_ACCOUNT", "EXPIRES_AT", "CREATED")
				for _, h := range list.Mappings {
					o.row(strconv.FormatInt(h.ID, 10), h.TMSUserID, h.Host, h.HostAccount, when(h.ExpiresAt), when(h.Created))
				}
			})
		}),
	}
}

func newUserHostsUpdateCommand(g *apiGroup) *cobra.Command {
	var ref client.UserHostRef
	var ttl int64
	cmd := &cobra.Command{
		Use:     "update --user USER --host HOST --account ACCOUNT --ttl-minutes N",
		Short:   "Set when a user's host mapping expires",
		Long:    `Set a user's host mapping to expire N minutes from now (-1: never).`,
		Example: "  tms userhosts update --user alice --host login1 --account alice --ttl-minutes 10080",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(cmd, "user", "host", "account"); err != nil {
				return err
			}
			return requiredTTL(cmd, ttl)
		},
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			res, err := s.api.UpdateUserHost(ctx, ref, ttl)
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) { showExpiryUpdate(o, res) })
		}),
	}
	userHostFlags(cmd, &ref)
	ttlFlag(cmd, &ttl, "mapping")
	return cmd
}

func newUserHostsDeleteCommand(g *apiGroup) *cobra.Command {
	var ref client.UserHostRef
	cmd := &cobra.Command{
		Use:     "delete --user USER --host HOST --account ACCOUNT",
		Short:   "Delete a user's host mapping and the keys that depend on it",
		Example: "  tms userhosts delete --user alice --host login1 --account alice",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return required(cmd, "user", "host", "account") },
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			res, err := s.api.DeleteUserHost(ctx, ref)
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) { o.line("%s", res.ResultMsg) })
		}),
	}
	userHostFlags(cmd, &ref)
	return cmd
}
