package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/client"
	"github.com/tmsproject/tms/internal/keys"
)

func newPubkeysCommand(stdio IO) *cobra.Command {
	g := newAPIGroup(stdio, "pubkeys", "Create, inspect, limit, delete and look up SSH keys",
		`Manage SSH keys. A client application creates a key pair for one of its
users, for one account on one host, limited in uses and lifetime; sshd
accepts it while every limit and dependency holds (tms authorized-keys).

Creating a key needs client credentials. Reading, limiting and deleting
keys accept client credentials (own keys only) or administrator
credentials (every key of the tenant). Looking a key up needs none.`)
	g.cmd.AddCommand(
		newPubkeysCreateCommand(g),
		newPubkeysGetCommand(g),
		newPubkeysListCommand(g),
		newPubkeysUpdateCommand(g),
		newPubkeysDeleteCommand(g),
		newPubkeysRetrieveCommand(g),
	)
	return g.cmd
}

// keyCreateFlags are the flags of tms pubkeys create.
type keyCreateFlags struct {
	req    client.KeyRequest
	out    string
	stdout bool
	force  bool
}

func newPubkeysCreateCommand(g *apiGroup) *cobra.Command {
	var f keyCreateFlags
	cmd := &cobra.Command{
		Use:   "create --user USER --host HOST --account ACCOUNT [--uses N] [--ttl-minutes N] [--type TYPE]",
		Short: "Create a key pair and save the private key in a file",
		Long: `Create a key pair for a user's account on a host and save the private key
in a file with mode 0600: --out FILE, by default tms_<host>_<account>_<type>
in the current directory. An existing file is kept unless --force is given.
--stdout prints the private key instead; --json prints the server's whole
answer, private key included, and writes no file.

The user needs an MFA record, a mapping to the account on the host and a
delegation to the client, unless the server runs in MVP mode, which creates
them. The key works for --uses logins and --ttl-minutes minutes (-1: no
limit).`,
		Example: `  tms pubkeys create --user testuser1 --host testhost1 --account testhostaccount1
  tms pubkeys create --user alice --host login1 --account alice --uses 1 --ttl-minutes 60 --out ./alice.key
  ssh -i ./alice.key alice@login1`,
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return f.check(cmd, g.flags.json) },
		RunE: g.run(asClient, func(ctx context.Context, s *session, _ []string) error {
			return g.createKey(ctx, s, f)
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.req.User, "user", "", "the client's user id (required)")
	fl.StringVar(&f.req.Host, "host", "", "host the key logs in to (required)")
	fl.StringVar(&f.req.Account, "account", "", "login account on the host (required)")
	fl.Int64Var(&f.req.NumUses, "uses", -1, "logins the key allows; -1 unlimited")
	ttlFlag(cmd, &f.req.TTLMinutes, "key")
	fl.StringVar(&f.req.KeyType, "type", string(keys.Ed25519), "key type: ed25519, ecdsa or rsa")
	fl.StringVar(&f.out, "out", "", "write the private key to `FILE` (default tms_<host>_<account>_<type>)")
	fl.BoolVar(&f.stdout, "stdout", false, "print the private key on standard output instead of writing a file")
	fl.BoolVar(&f.force, "force", false, "replace an existing --out file")
	return cmd
}

// check validates the flags of tms pubkeys create before anything is sent.
func (f *keyCreateFlags) check(cmd *cobra.Command, asJSON bool) error {
	if err := required(cmd, "user", "host", "account"); err != nil {
		return err
	}
	if err := checkInt32("uses", f.req.NumUses); err != nil {
		return err
	}
	if err := checkInt32("ttl-minutes", f.req.TTLMinutes); err != nil {
		return err
	}
	kt, err := keys.ParseType(f.req.KeyType)
	if err != nil {
		return &usageError{fmt.Errorf("--type: %w", err)}
	}
	f.req.KeyType = string(kt)
	switch {
	case asJSON && (f.out != "" || f.stdout || f.force):
		return &usageError{errors.New("--json prints the private key in the server's answer; it cannot be combined with --out, --stdout or --force")}
	case f.stdout && (f.out != "" || f.force):
		return &usageError{errors.New("--stdout cannot be combined with --out or --force")}
	case asJSON || f.stdout:
		return nil
	}
	if f.out == "" {
		f.out = defaultKeyFile(f.req)
	}
	if _, err := os.Lstat(f.out); err == nil && !f.force {
		return &usageError{fmt.Errorf("--out: %s exists; choose another file with --out FILE or replace it with --force", f.out)}
	}
	return nil
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// defaultKeyFile names the private key file after the host, account and
// key type, in the current directory.
func defaultKeyFile(req client.KeyRequest) string {
	return unsafeFileChars.ReplaceAllString(fmt.Sprintf("tms_%s_%s_%s", req.Host, req.Account, req.KeyType), "_")
}

// createKey asks for a key and delivers the private key. The output file
// is prepared first, so a key is never issued that cannot be saved.
func (g *apiGroup) createKey(ctx context.Context, s *session, f keyCreateFlags) error {
	var file *keyFile
	if !g.flags.json && !f.stdout {
		var err error
		if file, err = newKeyFile(f.out, f.force); err != nil {
			return err
		}
		defer file.discard()
	}
	k, err := s.api.CreateKey(ctx, f.req)
	if err != nil {
		return err
	}
	if g.flags.json {
		return printJSON(g.stdio.Out, k.Raw())
	}
	info := newOutput(g.stdio.Out)
	if f.stdout {
		if _, err := fmt.Fprint(g.stdio.Out, k.PrivateKey); err != nil {
			return fmt.Errorf("write the private key: %w", err)
		}
		info = newOutput(g.stdio.Err)
	} else {
		if err := file.commit(k.PrivateKey); err != nil {
			return err
		}
		info.line("Wrote the private key to %s (mode 0600).", f.out)
	}
	showIssuedKey(info, k)
	if !f.stdout {
		info.line("Log in with: ssh -i %s %s@%s", f.out, f.req.Account, f.req.Host)
	}
	return info.flush()
}

func showIssuedKey(o *output, k client.IssuedKey) {
	o.field("public_key", k.PublicKey)
	o.field("public_key_fingerprint", k.Fingerprint)
	o.field("key_type", k.KeyType+" ("+k.KeyBits+" bits)")
	if maxUses, remaining, err := k.Uses(); err == nil {
		o.field("uses", uses(maxUses, remaining))
	} else {
		o.field("uses", k.RemainingUses+" of "+k.MaxUses+" left")
	}
	o.field("expires_at", when(k.ExpiresAt))
}

// keyFile is a private key file being written: a temporary file in the
// target directory, moved into place by commit.
type keyFile struct {
	path  string
	force bool
	tmp   *os.File
}

// newKeyFile prepares to write path with mode 0600.
func newKeyFile(path string, force bool) (*keyFile, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tms-key-*")
	if err != nil {
		return nil, fmt.Errorf("--out %s: cannot write in its directory: %w", path, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("--out %s: %w", path, err)
	}
	return &keyFile{path: path, force: force, tmp: tmp}, nil
}

// commit writes the key and moves the file into place; without force it
// never replaces an existing file.
func (f *keyFile) commit(privateKey string) error {
	if _, err := f.tmp.WriteString(privateKey); err != nil {
		return fmt.Errorf("write the private key to %s: %w", f.path, err)
	}
	if err := f.tmp.Sync(); err != nil {
		return fmt.Errorf("write the private key to %s: %w", f.path, err)
	}
	if err := f.tmp.Close(); err != nil {
		return fmt.Errorf("write the private key to %s: %w", f.path, err)
	}
	if f.force {
		if err := os.Rename(f.tmp.Name(), f.path); err != nil {
			return fmt.Errorf("save the private key as %s: %w", f.path, err)
		}
		return nil
	}
	if err := os.Link(f.tmp.Name(), f.path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("save the private key: %s appeared meanwhile; the key was not saved (delete it with tms pubkeys delete)", f.path)
		}
		return fmt.Errorf("save the private key as %s: %w", f.path, err)
	}
	return nil
}

// discard removes the temporary file; after commit only its extra name.
func (f *keyFile) discard() {
	f.tmp.Close()
	os.Remove(f.tmp.Name())
}

func showPubkey(o *output, k client.Pubkey) {
	o.field("id", k.ID)
	o.field("tenant", k.Tenant)
	o.field("client_id", k.ClientID)
	o.field("client_user_id", k.ClientUserID)
	o.field("host", k.Host)
	o.field("host_account", k.HostAccount)
	o.field("public_key_fingerprint", k.Fingerprint)
	o.field("public_key", k.PublicKey)
	o.field("key_type", fmt.Sprintf("%s (%d bits)", k.KeyType, k.KeyBits))
	o.field("uses", uses(k.MaxUses, k.RemainingUses))
	ttl := "none"
	if k.InitialTTLMinutes < client.Unlimited {
		ttl = strconv.FormatInt(k.InitialTTLMinutes, 10) + " minutes"
	}
	o.field("initial_ttl", ttl)
	o.field("expires_at", when(k.ExpiresAt))
	o.field("created", when(k.Created))
	o.field("updated", when(k.Updated))
}

func newPubkeysGetCommand(g *apiGroup) *cobra.Command {
	return &cobra.Command{
		Use:     "get ID",
		Short:   "Show a key by its id",
		Example: "  tms pubkeys get 12",
		Args:    exactArgs("ID"),
		RunE: g.run(asAdminOrClient, func(ctx context.Context, s *session, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			k, err := s.api.GetPubkey(ctx, id)
			if err != nil {
				return err
			}
			return g.show(&k, func(o *output) { showPubkey(o, k) })
		}),
	}
}

func newPubkeysListCommand(g *apiGroup) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List keys (a client sees only its own)",
		Example: "  tms pubkeys list\n  tms pubkeys list --json",
		Args:    noArgs,
		RunE: g.run(asAdminOrClient, func(ctx context.Context, s *session, _ []string) error {
			list, err := s.api.ListPubkeys(ctx)
			if err != nil {
				return err
			}
			return g.show(&list, func(o *output) {
				if len(list.Pubkeys) == 0 {
					o.line("No keys.")
					return
				}
				o.row("ID", "CLIENT_ID", "CLIENT_USER_ID", "HOST", "HOST_ACCOUNT", "KEY_TYPE", "USES", "EXPIRES_AT", "FINGERPRINT")
				for _, k := range list.Pubkeys {
					o.row(strconv.FormatInt(k.ID, 10), k.ClientID, k.ClientUserID, k.Host, k.HostAccount, k.KeyType,
						uses(k.MaxUses, k.RemainingUses), when(k.ExpiresAt), k.Fingerprint)
				}
			})
		}),
	}
}

// pubkeyRefFlags registers --client, --host and --fingerprint.
func pubkeyRefFlags(cmd *cobra.Command, ref *client.PubkeyRef) {
	clientFlag(cmd, &ref.ClientID)
	cmd.Flags().StringVar(&ref.Host, "host", "", "host of the key (required)")
	cmd.Flags().StringVar(&ref.Fingerprint, "fingerprint", "", "fingerprint of the key, SHA256:... (required)")
}

func newPubkeysUpdateCommand(g *apiGroup) *cobra.Command {
	var ref client.PubkeyRef
	var maxUses, ttl int64
	cmd := &cobra.Command{
		Use:   "update --host HOST --fingerprint FP [--client ID] [--uses N] [--ttl-minutes N]",
		Short: "Change a key's use limit or expiry",
		Long: `Change a key's use limit or expiry. --uses N allows N logins in all (uses
already made count against it); --ttl-minutes N makes the key expire N
minutes from now, and 0 expires it at once.`,
		Example: "  tms pubkeys update --host login1 --fingerprint SHA256:... --uses 5\n  tms pubkeys update --host login1 --fingerprint SHA256:... --ttl-minutes 0",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(cmd, "host", "fingerprint"); err != nil {
				return err
			}
			changed := false
			for _, n := range []struct {
				flag  string
				value int64
			}{{"uses", maxUses}, {"ttl-minutes", ttl}} {
				if !cmd.Flags().Changed(n.flag) {
					continue
				}
				changed = true
				if n.value < 0 || n.value > 4294967295 {
					return &usageError{fmt.Errorf("--%s: %d is out of range (0 to 4294967295)", n.flag, n.value)}
				}
			}
			if !changed {
				return &usageError{errors.New("nothing to update: give --uses or --ttl-minutes")}
			}
			return nil
		},
	}
	cmd.RunE = g.run(asAdminOrClient, func(ctx context.Context, s *session, _ []string) error {
		var err error
		if ref.ClientID, err = orDefault(ref.ClientID, s.clientID, "client", envClientID); err != nil {
			return err
		}
		var ch client.PubkeyChange
		if cmd.Flags().Changed("uses") {
			ch.MaxUses = &maxUses
		}
		if cmd.Flags().Changed("ttl-minutes") {
			ch.TTLMinutes = &ttl
		}
		res, err := s.api.UpdatePubkey(ctx, ref, ch)
		if err != nil {
			return err
		}
		return g.show(&res, func(o *output) { o.line("%s", res.ResultMsg) })
	})
	pubkeyRefFlags(cmd, &ref)
	cmd.Flags().Int64Var(&maxUses, "uses", 0, "logins the key allows in all")
	cmd.Flags().Int64Var(&ttl, "ttl-minutes", 0, "minutes from now until the key expires; 0 expires it now")
	return cmd
}

func newPubkeysDeleteCommand(g *apiGroup) *cobra.Command {
	var ref client.PubkeyRef
	cmd := &cobra.Command{
		Use:     "delete --host HOST --fingerprint FP [--client ID]",
		Short:   "Delete a key and its reservations",
		Long:    `Delete a key and its reservations; sshd refuses it from then on.`,
		Example: "  tms pubkeys delete --host login1 --fingerprint SHA256:...",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return required(cmd, "host", "fingerprint") },
		RunE: g.run(asAdminOrClient, func(ctx context.Context, s *session, _ []string) error {
			var err error
			if ref.ClientID, err = orDefault(ref.ClientID, s.clientID, "client", envClientID); err != nil {
				return err
			}
			res, err := s.api.DeletePubkey(ctx, ref)
			if err != nil {
				return err
			}
			return g.show(&res, func(o *output) { o.line("%s", res.ResultMsg) })
		}),
	}
	pubkeyRefFlags(cmd, &ref)
	return cmd
}

func newPubkeysRetrieveCommand(g *apiGroup) *cobra.Command {
	var req client.RetrieveRequest
	cmd := &cobra.Command{
		Use:   "retrieve --account ACCOUNT --host HOST --fingerprint FP",
		Short: "Look a key up as sshd does and print the public key it would accept",
		Long: `Ask the server, as sshd's AuthorizedKeysCommand does, which public key may
log in to ACCOUNT on HOST with the given fingerprint, and print it. A key
that is unknown, expired, used up or whose user, client or tenant is no
longer valid is refused (exit status 1).

Like a login, a lookup counts as one use of a key with a use limit; lookups
of the same key for the same account and host shortly after each other
count once.`,
		Example: "  tms pubkeys retrieve --account testhostaccount1 --host testhost1 --fingerprint SHA256:...",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return required(cmd, "account", "host", "fingerprint") },
		RunE: g.run(anonymous, func(ctx context.Context, s *session, _ []string) error {
			k, err := s.api.RetrieveKey(ctx, req)
			if err != nil {
				return err
			}
			return g.show(&k, func(o *output) { o.line("%s", k.PublicKey) })
		}),
	}
	f := cmd.Flags()
	f.StringVar(&req.Account, "account", "", "login account on the host (required)")
	f.StringVar(&req.Host, "host", "", "host name (required)")
	f.StringVar(&req.Fingerprint, "fingerprint", "", "fingerprint of the offered key, SHA256:... (required)")
	f.StringVar(&req.UID, "uid", "", "uid of the account (informational)")
	f.StringVar(&req.KeyType, "type", "", "type of the offered key, e.g. ssh-ed25519 (informational)")
	return cmd
}
