package cli

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"
)

func newHostsCommand(stdio IO) *cobra.Command {
	g := newAPIGroup(stdio, "hosts", "Record the addresses of hosts (administrator)",
		`Manage the tenant's host records: a host name and an address. The records
are kept for reference; key issuance and retrieval do not consult them.
These commands need administrator credentials.`)
	g.cmd.AddCommand(
		newHostsCreateCommand(g),
		newHostsGetCommand(g),
		newHostsListCommand(g),
		newHostsDeleteCommand(g),
		newHostCredentialsCommand(g),
	)
	return g.cmd
}

// hostFlags registers --host and --addr.
func hostFlags(cmd *cobra.Command, host, addr *string) {
	cmd.Flags().StringVar(host, "host", "", "host name (required)")
	cmd.Flags().StringVar(addr, "addr", "", "address of the host (required)")
}

func newHostsCreateCommand(g *apiGroup) *cobra.Command {
	var host, addr string
	cmd := &cobra.Command{
		Use:     "create --host HOST --addr ADDR",
		Short:   "Record an address of a host",
		Example: "  tms hosts create --host login1 --addr 192.0.2.10",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return required(cmd, "host", "addr") },
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			h, err := s.api.CreateHost(ctx, host, addr)
			if err != nil {
				return err
			}
			return g.show(&h, func(o *output) {
				o.field("host", h.Host)
				o.field("addr", h.Addr)
				o.field("tenant", h.Tenant)
			})
		}),
	}
	hostFlags(cmd, &host, &addr)
	return cmd
}

func newHostsGetCommand(g *apiGroup) *cobra.Command {
	return &cobra.Command{
		Use:     "get ID",
		Short:   "Show a host record by its id",
		Example: "  tms hosts get 2",
		Args:    exactArgs("ID"),
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			h, err := s.api.GetHost(ctx, id)
			if err != nil {
				return err
			}
			return g.show(&h, func(o *output) {
				o.field("id", h.ID)
				o.field("tenant", h.Tenant)
				o.field("host", h.Host)
				o.field("addr", h.Addr)
				o.field("created", when(h.Created))
				o.field("updated", when(h.Updated))
			})
		}),
	}
}

func newHostsListCommand(g *apiGroup) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the tenant's host records",
		Example: "  tms hosts list",
		Args:    noArgs,
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			list, err := s.api.ListHosts(ctx)
			if err != nil {
				return err
			}
			return g.show(&list, func(o *output) {
				if len(list.Hosts) == 0 {
					o.line("No hosts.")
					return
				}
				o.row("ID", "HOST", "ADDR", "CREATED")
				for _, h := range list.Hosts {
					o.row(strconv.FormatInt(h.ID, 10), h.Host, h.Addr, when(h.Created))
				}
			})
		}),
	}
}

func newHostsDeleteCommand(g *apiGroup) *cobra.Command {
	var host, addr string
	cmd := &cobra.Command{
		Use:     "delete --host HOST --addr ADDR",
		Short:   "Delete a host record",
		Example: "  tms hosts delete --host login1 --addr 192.0.2.10",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return required(cmd, "host", "addr") },
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			res, err := s.api.DeleteHost(ctx, host, addr)
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) { o.line("%s", res.ResultMsg) })
		}),
	}
	hostFlags(cmd, &host, &addr)
	return cmd
}
