package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/client"
)

func newReservationsCommand(stdio IO) *cobra.Command {
	g := newAPIGroup(stdio, "reservations", "Reserve keys for a time and manage the reservations",
		`Manage reservations: a client application books one of its keys for a
user on a host for up to 48 hours, and may add extensions that share the
deadline of the first reservation. Reservations are bookkeeping for the
client; sshd does not consult them.

Creating and extending need client credentials; reading and deleting
accept client or administrator credentials. Commands that take --client
default to the configured client (X_TMS_CLIENT_ID).`)
	g.cmd.AddCommand(
		newReservationsCreateCommand(g),
		newReservationsExtendCommand(g),
		newReservationsGetCommand(g),
		newReservationsDeleteCommand(g),
	)
	return g.cmd
}

func showReservation(o *output, r client.Reservation) {
	o.field("resid", r.ResID)
	o.field("parent_resid", r.ParentResID)
	if r.ID != 0 {
		o.field("id", r.ID)
		o.field("tenant", r.Tenant)
		o.field("client_id", r.ClientID)
		o.field("client_user_id", r.ClientUserID)
		o.field("host", r.Host)
		o.field("public_key_fingerprint", r.Fingerprint)
	}
	o.field("expires_at", when(r.ExpiresAt))
	if r.ID != 0 {
		o.field("created", when(r.Created))
		o.field("updated", when(r.Updated))
	}
}

// reservationKeyFlags registers --user, --host and --fingerprint.
func reservationKeyFlags(cmd *cobra.Command, user, host, fingerprint *string) {
	f := cmd.Flags()
	f.StringVar(user, "user", "", "the client's user id (required)")
	f.StringVar(host, "host", "", "host of the key (required)")
	f.StringVar(fingerprint, "fingerprint", "", "fingerprint of the key, SHA256:... (required)")
}

func newReservationsCreateCommand(g *apiGroup) *cobra.Command {
	var req client.ReservationRequest
	cmd := &cobra.Command{
		Use:     "create --user USER --host HOST --fingerprint FP [--ttl-minutes N]",
		Short:   "Reserve one of the client's keys",
		Long:    `Reserve one of the client's keys, which must be unexpired with uses left, for N minutes (at most 2880; -1: 2880).`,
		Example: "  tms reservations create --user alice --host login1 --fingerprint SHA256:... --ttl-minutes 120",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(cmd, "user", "host", "fingerprint"); err != nil {
				return err
			}
			return checkInt32("ttl-minutes", req.TTLMinutes)
		},
		RunE: g.run(asClient, func(ctx context.Context, s *session, _ []string) error {
			r, err := s.api.CreateReservation(ctx, req)
			if err != nil {
				return err
			}
			return g.show(&r, func(o *output) { showReservation(o, r) })
		}),
	}
	reservationKeyFlags(cmd, &req.User, &req.Host, &req.Fingerprint)
	cmd.Flags().Int64Var(&req.TTLMinutes, "ttl-minutes", -1, "minutes until the reservation expires, at most 2880; -1 the most")
	return cmd
}

func newReservationsExtendCommand(g *apiGroup) *cobra.Command {
	var req client.ExtensionRequest
	cmd := &cobra.Command{
		Use:     "extend --parent RESID --user USER --host HOST --fingerprint FP",
		Short:   "Add a reservation that shares the deadline of a top-level one",
		Example: "  tms reservations extend --parent 0b9f...-... --user alice --host login2 --fingerprint SHA256:...",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return required(cmd, "parent", "user", "host", "fingerprint")
		},
		RunE: g.run(asClient, func(ctx context.Context, s *session, _ []string) error {
			r, err := s.api.ExtendReservation(ctx, req)
			if err != nil {
				return err
			}
			return g.show(&r, func(o *output) { showReservation(o, r) })
		}),
	}
	cmd.Flags().StringVar(&req.ParentResID, "parent", "", "the top-level reservation id (required)")
	reservationKeyFlags(cmd, &req.User, &req.Host, &req.Fingerprint)
	return cmd
}

func newReservationsGetCommand(g *apiGroup) *cobra.Command {
	var clientID string
	cmd := &cobra.Command{
		Use:     "get RESID [--client ID]",
		Short:   "Show a reservation",
		Example: "  tms reservations get 0b9f...-...",
		Args:    exactArgs("RESID"),
		RunE: g.run(asAdminOrClient, func(ctx context.Context, s *session, args []string) error {
			id, err := orDefault(clientID, s.clientID, "client", envClientID)
			if err != nil {
				return err
			}
			r, err := s.api.GetReservation(ctx, id, args[0])
			if err != nil {
				return err
			}
			return g.show(&r, func(o *output) { showReservation(o, r) })
		}),
	}
	clientFlag(cmd, &clientID)
	return cmd
}

func newReservationsDeleteCommand(g *apiGroup) *cobra.Command {
	var clientID string
	var related bool
	cmd := &cobra.Command{
		Use:     "delete RESID [--client ID] [--related]",
		Short:   "Delete a reservation, with --related also its extensions",
		Example: "  tms reservations delete 0b9f...-...\n  tms reservations delete 0b9f...-... --related",
		Args:    exactArgs("RESID"),
		RunE: g.run(asAdminOrClient, func(ctx context.Context, s *session, args []string) error {
			id, err := orDefault(clientID, s.clientID, "client", envClientID)
			if err != nil {
				return err
			}
			var res client.Deleted
			if related {
				res, err = s.api.DeleteRelatedReservations(ctx, id, args[0])
			} else {
				res, err = s.api.DeleteReservation(ctx, id, args[0])
			}
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) { o.line("%s", res.ResultMsg) })
		}),
	}
	clientFlag(cmd, &clientID)
	cmd.Flags().BoolVar(&related, "related", false, "also delete the reservations that extend it")
	return cmd
}
