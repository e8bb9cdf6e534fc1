package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func newUserMFACommand(stdio IO) *cobra.Command {
	g := newAPIGroup(stdio, "usermfa", "Manage users' MFA records (administrator)",
		`Manage the MFA records of a tenant's users. Every key of a user depends on
an enabled, unexpired MFA record: disabling it suspends the user's keys,
deleting it deletes them with the user's host mappings and delegations.
These commands need administrator credentials.`)
	g.cmd.AddCommand(
		newUserMFACreateCommand(g),
		newUserMFAGetCommand(g),
		newUserMFAListCommand(g),
		newUserMFAUpdateCommand(g),
		newUserMFADeleteCommand(g),
	)
	return g.cmd
}

func newUserMFACreateCommand(g *apiGroup) *cobra.Command {
	var user string
	var ttl int64
	cmd := &cobra.Command{
		Use:     "create --user USER [--ttl-minutes N]",
		Short:   "Create an enabled MFA record for a user",
		Example: "  tms usermfa create --user alice\n  tms usermfa create --user bob --ttl-minutes 1440",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(cmd, "user"); err != nil {
				return err
			}
			return checkInt32("ttl-minutes", ttl)
		},
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			m, err := s.api.CreateUserMFA(ctx, user, ttl)
			if err != nil {
				return err
			}
			return g.show(&m, func(o *output) {
				o.field("tms_user_id", m.TMSUserID)
				o.field("enabled", boolText(m.Enabled))
				o.field("expires_at", when(m.ExpiresAt))
			})
		}),
	}
	cmd.Flags().StringVar(&user, "user", "", "user id (required)")
	ttlFlag(cmd, &ttl, "MFA record")
	return cmd
}

func newUserMFAGetCommand(g *apiGroup) *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:     "get --user USER",
		Short:   "Show a user's MFA record",
		Example: "  tms usermfa get --user alice",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return required(cmd, "user") },
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			m, err := s.api.GetUserMFA(ctx, user)
			if err != nil {
				return err
			}
			return g.show(&m, func(o *output) {
				o.field("tms_user_id", m.TMSUserID)
				o.field("tenant", m.Tenant)
				o.field("id", m.ID)
				o.field("enabled", boolText(m.Enabled))
				o.field("expires_at", when(m.ExpiresAt))
				o.field("created", when(m.Created))
				o.field("updated", when(m.Updated))
			})
		}),
	}
	cmd.Flags().StringVar(&user, "user", "", "user id (required)")
	return cmd
}

func newUserMFAListCommand(g *apiGroup) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the tenant's MFA records",
		Example: "  tms usermfa list",
		Args:    noArgs,
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			list, err := s.api.ListUserMFA(ctx)
			if err != nil {
				return err
			}
			return g.show(&list, func(o *output) {
				if len(list.Users) == 0 {
					o.line("No user MFA records.")
					return
				}
				o.row("TMS_USER_ID", "ID", "ENABLED", "EXPIRES_AT", "CREATED", "UPDATED")
				for _, m := range list.Users {
					o.row(m.TMSUserID, strconv.FormatInt(m.ID, 10), boolText(m.Enabled), when(m.ExpiresAt), when(m.Created), when(m.Updated))
				}
			})
		}),
	}
}

func newUserMFAUpdateCommand(g *apiGroup) *cobra.Command {
	var user string
	var enabled bool
	cmd := &cobra.Command{
		Use:     "update --user USER --enabled=true|false",
		Short:   "Enable or disable a user's MFA record",
		Long:    `Enable or disable a user's MFA record. While it is disabled, the user gets no new keys and the user's keys are refused at login.`,
		Example: "  tms usermfa update --user alice --enabled=false",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(cmd, "user"); err != nil {
				return err
			}
			if !cmd.Flags().Changed("enabled") {
				return &usageError{fmt.Errorf("--enabled: required (--enabled=true or --enabled=false)")}
			}
			return nil
		},
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			res, err := s.api.UpdateUserMFA(ctx, user, enabled)
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) { o.line("%s", res.ResultMsg) })
		}),
	}
	cmd.Flags().StringVar(&user, "user", "", "user id (required)")
	cmd.Flags().BoolVar(&enabled, "enabled", false, "enable (true) or disable (false) the record (required)")
	return cmd
}

func newUserMFADeleteCommand(g *apiGroup) *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:     "delete --user USER",
		Short:   "Delete a user's MFA record with the user's host mappings, delegations and keys",
		Example: "  tms usermfa delete --user alice",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return required(cmd, "user") },
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			res, err := s.api.DeleteUserMFA(ctx, user)
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) { o.line("%s", res.ResultMsg) })
		}),
	}
	cmd.Flags().StringVar(&user, "user", "", "user id (required)")
	return cmd
}
