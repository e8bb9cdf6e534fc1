package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newAccessCommand(stdio IO) *cobra.Command {
	cmd := newGroupCommand("access", "List and revoke the applications that may get keys for you (after tms login)",
		`See which client applications may obtain SSH keys for you, and until when,
and take that access away. Approving a tms login gives the tms command line
(tms-cli) such access; an administrator or a login through another
application gives it to that application.

Revoking an application's access deletes every key it obtained for you
(sshd refuses them from then on) and revokes your tokens for it. Revoking
tms-cli also ends your tms login, as tms logout --revoke does.
`+userConnectionHelp)
	cmd.AddCommand(newAccessListCommand(stdio), newAccessRevokeCommand(stdio))
	return cmd
}

func newAccessListCommand(stdio IO) *cobra.Command {
	var f userFlags
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the applications that may get keys for you, and until when",
		Example: "  tms access list",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openUserSession(cmd.Context(), stdio, f)
			if err != nil {
				return err
			}
			list, err := s.api.ListMyDelegations(cmd.Context())
			if err != nil {
				return serverFailure(err)
			}
			if f.json {
				return printJSON(stdio.Out, list.Raw())
			}
			o := newOutput(stdio.Out)
			if len(list.Delegations) == 0 {
				o.line("No application may get keys for you.")
				return o.flush()
			}
			o.row("APPLICATION", "EXPIRES_AT", "CREATED")
			for _, d := range list.Delegations {
				o.row(d.ClientID, when(d.ExpiresAt), when(d.Created))
			}
			return o.flush()
		},
	}
	addUserFlags(cmd, &f, false)
	cmd.Flags().BoolVar(&f.json, "json", false, "print the server's JSON answer")
	return cmd
}

func newAccessRevokeCommand(stdio IO) *cobra.Command {
	var f userFlags
	cmd := &cobra.Command{
		Use:   "revoke CLIENT",
		Short: "Revoke an application's access: delete its keys for you and revoke its tokens",
		Long: `Revoke the access of the client application CLIENT (as tms access list
shows it): it can no longer obtain keys for you, every key it obtained for
you is deleted, so sshd refuses them at once, and your tokens for it are
revoked. Revoking tms-cli ends this login too; the stored login is then
deleted. Logging in through the application again gives it access anew.
` + userConnectionHelp,
		Example: "  tms access revoke gateway1\n  tms access revoke tms-cli   # as tms logout --revoke",
		Args:    exactArgs("CLIENT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openUserSession(cmd.Context(), stdio, f)
			if err != nil {
				return err
			}
			d, err := s.api.RevokeMyDelegation(cmd.Context(), args[0])
			if err != nil {
				return serverFailure(err)
			}
			if args[0] == cliClientID {
				if err := s.forget(stdio); err != nil {
					return err
				}
			}
			if f.json {
				return printJSON(stdio.Out, d.Raw())
			}
			fmt.Fprintf(stdio.Out, "Revoked the access of %s: deleted the %d keys it obtained for you and revoked %d tokens.\n",
				args[0], d.NumKeysDeleted, d.NumTokensRevoked)
			if args[0] == cliClientID {
				fmt.Fprintf(stdio.Out, "This ended your login to %s; run tms login to log in again.\n", s.login.Server)
			}
			return nil
		},
	}
	addUserFlags(cmd, &f, false)
	cmd.Flags().BoolVar(&f.json, "json", false, "print the server's JSON answer")
	return cmd
}
