package cli

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/client"
	"github.com/tmsproject/tms/internal/keys"
)

func newKeysCommand(stdio IO) *cobra.Command {
	cmd := newGroupCommand("keys", "Create, list and delete your own SSH keys (after tms login)",
		`Manage your own SSH keys with the login of tms login. A key works on a
host and account you are mapped to, for as many logins and as long as you
ask, and only while your MFA record and the approval you gave last.
tms keys delete deletes one key; tms logout --revoke (or tms access revoke
tms-cli) deletes every key made with tms keys; tms logout alone keeps them.
`+userConnectionHelp)
	cmd.AddCommand(newKeysListCommand(stdio), newKeysCreateCommand(stdio), newKeysDeleteCommand(stdio))
	return cmd
}

func newKeysListCommand(stdio IO) *cobra.Command {
	var f userFlags
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List your keys, whichever application created them",
		Example: "  tms keys list",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openUserSession(cmd.Context(), stdio, f)
			if err != nil {
				return err
			}
			list, err := s.api.ListMyKeys(cmd.Context())
			if err != nil {
				return serverFailure(err)
			}
			if f.json {
				return printJSON(stdio.Out, list.Raw())
			}
			o := newOutput(stdio.Out)
			if len(list.Pubkeys) == 0 {
				o.line("No keys.")
				return o.flush()
			}
			o.row("FINGERPRINT", "HOST", "ACCOUNT", "TYPE", "USES_LEFT", "EXPIRES_AT", "APPLICATION")
			for _, k := range list.Pubkeys {
				left := strconv.FormatInt(k.RemainingUses, 10)
				if k.MaxUses >= client.Unlimited {
					left = "unlimited"
				}
				o.row(k.Fingerprint, k.Host, k.HostAccount, k.KeyType, left, when(k.ExpiresAt), k.ClientID)
			}
			return o.flush()
		},
	}
	addUserFlags(cmd, &f, false)
	cmd.Flags().BoolVar(&f.json, "json", false, "print the server's JSON answer")
	return cmd
}

func newKeysCreateCommand(stdio IO) *cobra.Command {
	var (
		f     userFlags
		req   client.MyKeyRequest
		out   string
		force bool
	)
	cmd := &cobra.Command{
		Use:   "create --host HOST --account ACCOUNT [--uses N] [--ttl-minutes N] [--type TYPE] [--out FILE]",
		Short: "Create a key pair for yourself and save the private key in a file",
		Long: `Create a key pair for logging in as ACCOUNT on HOST, which you must be
mapped to, and save the private key in a file with mode 0600: --out FILE, by
default tms_<host>_<account>_<type> in the current directory. An existing
file is kept unless --force is given. The server keeps only the public key.
The key works for --uses logins and --ttl-minutes minutes (-1: no limit),
and only while your MFA record and the approval of tms login last.
` + userConnectionHelp,
		Example: `  tms keys create --host testhost1 --account testhostaccount1
  ssh -i tms_testhost1_testhostaccount1_ed25519 testhostaccount1@testhost1

  tms keys create --host login1 --account alice --uses 5 --ttl-minutes 60 --out ./alice.key`,
		Args: noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(cmd, "host", "account"); err != nil {
				return err
			}
			if err := checkInt32("uses", req.NumUses); err != nil {
				return err
			}
			if err := checkInt32("ttl-minutes", req.TTLMinutes); err != nil {
				return err
			}
			kt, err := keys.ParseType(req.KeyType)
			if err != nil {
				return &usageError{fmt.Errorf("--type: %w", err)}
			}
			req.KeyType = string(kt)
			if out == "" {
				out = defaultKeyFile(client.KeyRequest{Host: req.Host, Account: req.Account, KeyType: req.KeyType})
			}
			if _, err := os.Lstat(out); err == nil && !force {
				return &usageError{fmt.Errorf("--out: %s exists; choose another file with --out FILE or replace it with --force", out)}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openUserSession(cmd.Context(), stdio, f)
			if err != nil {
				return err
			}
			// The file is prepared first, so no key is issued that cannot be saved.
			file, err := newKeyFile(out, force)
			if err != nil {
				return err
			}
			defer file.discard()
			k, err := s.api.CreateMyKey(cmd.Context(), req)
			if err != nil {
				return serverFailure(err)
			}
			if err := file.commit(k.PrivateKey); err != nil {
				return err
			}
			o := newOutput(stdio.Out)
			o.line("Wrote the private key to %s (mode 0600).", out)
			showIssuedKey(o, k)
			o.line("Log in with: ssh -i %s %s@%s", out, req.Account, req.Host)
			return o.flush()
		},
	}
	addUserFlags(cmd, &f, false)
	fl := cmd.Flags()
	fl.StringVar(&req.Host, "host", "", "host the key logs in to (required)")
	fl.StringVar(&req.Account, "account", "", "login account on the host (required)")
	fl.Int64Var(&req.NumUses, "uses", -1, "logins the key allows; -1 unlimited")
	ttlFlag(cmd, &req.TTLMinutes, "key")
	fl.StringVar(&req.KeyType, "type", string(keys.Ed25519), "key type: ed25519, ecdsa or rsa")
	fl.StringVar(&out, "out", "", "write the private key to `FILE` (default tms_<host>_<account>_<type>)")
	fl.BoolVar(&force, "force", false, "replace an existing --out file")
	return cmd
}

func newKeysDeleteCommand(stdio IO) *cobra.Command {
	var (
		f    userFlags
		host string
	)
	cmd := &cobra.Command{
		Use:     "delete --host HOST FINGERPRINT",
		Short:   "Delete one of your keys",
		Long:    "Delete one of your keys on a host, whichever application created it. It stops working at once.\n" + userConnectionHelp,
		Example: "  tms keys delete --host testhost1 SHA256:qU3rAb...",
		Args:    exactArgs("FINGERPRINT"),
		PreRunE: func(cmd *cobra.Command, _ []string) error { return required(cmd, "host") },
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openUserSession(cmd.Context(), stdio, f)
			if err != nil {
				return err
			}
			d, err := s.api.DeleteMyKey(cmd.Context(), host, args[0])
			if err != nil {
				return serverFailure(err)
			}
			if f.json {
				return printJSON(stdio.Out, d.Raw())
			}
			fmt.Fprintf(stdio.Out, "Deleted key %s on %s.\n", args[0], host)
			return nil
		},
	}
	addUserFlags(cmd, &f, false)
	cmd.Flags().StringVar(&host, "host", "", "host of the key (required)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the server's JSON answer")
	return cmd
}
