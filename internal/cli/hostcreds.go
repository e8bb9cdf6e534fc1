package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"github.com/spf13/cobra"
)

// newHostCredentialsCommand returns "tms hosts credentials", which shares
// the connection flags of the hosts group g.
func newHostCredentialsCommand(g *apiGroup) *cobra.Command {
	cmd := newGroupCommand("credentials", "Manage the credentials login hosts send with key lookups (administrator)",
		`Manage host credentials. A login host sends its credential with every key
lookup that sshd makes through "tms authorized-keys" (host_secret_file in
tms_keycmd.toml). A server with require_host_credential = true answers only
lookups that carry a valid credential for the host they ask about, so no one
else can probe keys or use up a limited key's uses. A host credential also
registers the host in the tenant: a registered host gets only the keys of
the tenants that registered it, and a host no tenant registered gets none
unless the server sets unregistered_hosts = "any_tenant". A tenant has at most
one credential per host; its secret is shown only when it is created.
These commands need administrator credentials.`)
	cmd.AddCommand(
		newHostCredentialsCreateCommand(g),
		newHostCredentialsListCommand(g),
		newHostCredentialsDeleteCommand(g),
	)
	return cmd
}

func newHostCredentialsCreateCommand(g *apiGroup) *cobra.Command {
	var host, secretFile string
	cmd := &cobra.Command{
		Use:   "create --host HOST [--secret-file FILE]",
		Short: "Create a host's credential and print or save its secret",
		Long: `Create the credential of a login host and print its secret, which is shown
only this once. With --secret-file the secret is written to a new file
(mode 0600) instead, ready to be installed as the host's host_secret_file.
To replace a lost or leaked secret, delete the credential and create it
again.`,
		Example: `  tms hosts credentials create --host login1
  tms hosts credentials create --host login1 --secret-file ./login1.secret`,
		Args: noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(cmd, "host"); err != nil {
				return err
			}
			if secretFile != "" && g.flags.json {
				return &usageError{errors.New("--secret-file and --json: choose one, as --json prints the secret")}
			}
			return checkNewSecretFile(secretFile)
		},
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			res, err := s.api.CreateHostCredential(ctx, host)
			if err != nil {
				return err
			}
			if secretFile != "" {
				if err := writeNewSecretFile(secretFile, res.HostSecret); err != nil {
					return fmt.Errorf("the credential of host %s was created, but its secret could not be saved; "+
						"delete the credential and create it again: %w", res.Host, err)
				}
				res.HostSecret = ""
			}
			return g.show(&res, func(o *output) {
				o.field("tenant", res.Tenant)
				o.field("host", res.Host)
				if secretFile != "" {
					o.field("host_secret_file", secretFile)
					o.line("Install it on %s as the host_secret_file of tms_keycmd.toml, readable only by root and the AuthorizedKeysCommandUser.", res.Host)
					return
				}
				o.field("host_secret", res.HostSecret)
				o.line("The host secret is shown only this once. Install it on %s as the host_secret_file of tms_keycmd.toml.", res.Host)
			})
		}),
	}
	cmd.Flags().StringVar(&host, "host", "", "host name, as keys and host mappings name it (required)")
	cmd.Flags().StringVar(&secretFile, "secret-file", "", "write the secret to the new `FILE` instead of printing it")
	return cmd
}

// checkNewSecretFile refuses, before anything is created on the server, a
// --secret-file that exists or whose directory does not.
func checkNewSecretFile(path string) error {
	if path == "" {
		return nil
	}
	if _, err := os.Lstat(path); err == nil {
		return &usageError{fmt.Errorf("--secret-file: %s already exists; choose a new file", path)}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return &usageError{fmt.Errorf("--secret-file: %w", err)}
	}
	return nil
}

// writeNewSecretFile writes secret to a file that must not exist yet.
func writeNewSecretFile(path, secret string) error {
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create secret file: %w", err)
	}
	if _, err := file.WriteString(secret + "\n"); err != nil {
		file.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func newHostCredentialsListCommand(g *apiGroup) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the hosts that have a credential",
		Example: "  tms hosts credentials list",
		Args:    noArgs,
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			list, err := s.api.ListHostCredentials(ctx)
			if err != nil {
				return err
			}
			return g.show(&list, func(o *output) {
				if len(list.Credentials) == 0 {
					o.line("No host credentials.")
					return
				}
				o.row("ID", "HOST", "CREATED")
				for _, c := range list.Credentials {
					o.row(strconv.FormatInt(c.ID, 10), c.Host, when(c.Created))
				}
			})
		}),
	}
}

func newHostCredentialsDeleteCommand(g *apiGroup) *cobra.Command {
	var host string
	cmd := &cobra.Command{
		Use:   "delete --host HOST",
		Short: "Delete a host's credential",
		Long: `Delete the credential of a login host. While the server requires host
credentials, the host's key lookups are refused until it has a new one.`,
		Example: "  tms hosts credentials delete --host login1",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return required(cmd, "host") },
		RunE: g.run(asAdmin, func(ctx context.Context, s *session, _ []string) error {
			res, err := s.api.DeleteHostCredential(ctx, host)
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) { o.line("%s", res.ResultMsg) })
		}),
	}
	cmd.Flags().StringVar(&host, "host", "", "host name (required)")
	return cmd
}
