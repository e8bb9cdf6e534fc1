package cli

import (
	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/keycmd"
)

func newAuthorizedKeysCommand(stdio IO) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "authorized-keys [--config FILE] USER UID FINGERPRINT KEYTYPE",
		Short: "Print the TMS key sshd may accept for a login (AuthorizedKeysCommand)",
		Long: `authorized-keys is the helper sshd runs as its AuthorizedKeysCommand, a
drop-in for tms_keycmd. sshd passes the login account, its uid, the offered
key's fingerprint and its type (%u %U %f %t). The helper asks the TMS server
which key to accept and prints it as one authorized_keys line.

On any failure (key not found or refused, server unreachable, timeout, a bad
answer, bad arguments or configuration) it prints nothing on standard output
and exits 1, so sshd refuses the key. Each call logs one line to the
configured log_file, or to standard error.

The configuration file tms_keycmd.toml (read from the current directory, as
tms_keycmd does, unless --config names another) holds:
  tms_url    full URL of the retrieve endpoint (required), e.g.
             https://tms.example.org/v1/tms/pubkeys/creds/retrieve
  host_name  this host's name as registered in TMS (required)
  timeout    whole-lookup time limit, default "5s", at most "60s"
  ca_file    PEM bundle trusted in addition to the system roots
  log_file   file to append log lines to
  host_secret_file
             file holding this host's credential (tms hosts credentials
             create), sent with every lookup; needed when the server sets
             require_host_credential. Other users must not be able to read
             it: the helper refuses a file every user can read.
Relative ca_file, log_file and host_secret_file paths are relative to the
configuration file. "tms sshd-config" prints a configuration to start from.

The helper writes nothing but standard output and the log file, so it runs
as an unprivileged AuthorizedKeysCommandUser such as nobody.`,
		Example: `  # /etc/ssh/sshd_config
  AuthorizedKeysCommand /usr/local/bin/tms authorized-keys --config /etc/ssh/tms_keycmd.toml %u %U %f %t
  AuthorizedKeysCommandUser nobody

  # try it by hand
  tms authorized-keys --config /etc/ssh/tms_keycmd.toml alice 1000 SHA256:qU3r... ssh-ed25519`,
		RunE: func(cmd *cobra.Command, args []string) error {
			code := keycmd.Main(cmd.Context(), args, configPath, stdio.Out, stdio.Err)
			if code != 0 {
				// Main has already logged why.
				return &ExitError{Code: code}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&configPath, "config", keycmd.DefaultConfigFile, "configuration `FILE`")
	// sshd treats any non-zero status as "no key"; keep flag mistakes at 1
	// like every other failure of this command.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &ExitError{Code: 1, Err: err}
	})
	return cmd
}
