package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/keycmd"
)

// defaultKeycmdConfig is where sshd-config puts tms_keycmd.toml.
const defaultKeycmdConfig = "/etc/ssh/tms_keycmd.toml"

func newSSHDConfigCommand(stdio IO) *cobra.Command {
	var setup keycmd.SSHDSetup
	cmd := &cobra.Command{
		Use:   "sshd-config [--url URL] [--host-name NAME] [--command PATH] [--user nobody]",
		Short: "Print the sshd_config lines and tms_keycmd.toml that make sshd accept TMS keys",
		Long: `sshd-config prints what a login host needs to accept keys issued by TMS:
the sshd_config lines that run "tms authorized-keys" as sshd's
AuthorizedKeysCommand, and the matching tms_keycmd.toml, with comments on
the ownership and permission rules sshd and the helper enforce. It changes
nothing; review the output and install it.

Run it on the login host: the defaults are this host's name and the path of
this tms binary. It warns on standard error when sshd would refuse to run
the command because the binary or a directory above it is not owned by root
or is writable by group or others.`,
		Example: `  tms sshd-config --url https://tms.example.org:3000 --host-name login1
  tms sshd-config --url https://tms.example.org:3000 --host-secret-file /etc/ssh/tms_host_secret`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if setup.ServerURL == "" {
				setup.ServerURL = stdio.environ()[envURL]
			}
			if setup.ServerURL == "" {
				return &usageError{fmt.Errorf("--url: required (or set %s): the TMS server's URL, e.g. https://tms.example.org:3000", envURL)}
			}
			if setup.HostName == "" {
				name, err := os.Hostname()
				if err != nil {
					return fmt.Errorf("--host-name: not given, and this host's name is unknown: %w", err)
				}
				setup.HostName = name
			}
			if setup.Command == "" {
				path, err := executablePath()
				if err != nil {
					return fmt.Errorf("--command: not given, and the path of this binary is unknown: %w", err)
				}
				setup.Command = path
			}
			files, err := keycmd.RenderSSHDSetup(setup)
			if err != nil {
				return &usageError{fmt.Errorf("--%w", err)}
			}
			for _, problem := range keycmd.CommandPathProblems(setup.Command) {
				fmt.Fprintf(stdio.Err, "tms: warning: sshd will refuse the command: %s\n", problem)
			}
			_, err = fmt.Fprintf(stdio.Out, "# ---- sshd_config ----\n%s\n# ---- %s ----\n%s", files.SSHDConfig, setup.ConfigFile, files.KeycmdConfig)
			if err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&setup.ServerURL, "url", "", "TMS server `URL`, e.g. https://tms.example.org:3000 (default $TMS_URL)")
	f.StringVar(&setup.HostName, "host-name", "", "this host's `NAME` in TMS (default the system host name)")
	f.StringVar(&setup.Command, "command", "", "absolute `PATH` of the tms binary sshd runs (default this binary)")
	f.StringVar(&setup.User, "user", "nobody", "`ACCOUNT` sshd runs the command as (AuthorizedKeysCommandUser)")
	f.StringVar(&setup.ConfigFile, "keycmd-config", defaultKeycmdConfig, "absolute `PATH` of tms_keycmd.toml")
	f.StringVar(&setup.HostSecretFile, "host-secret-file", "", "absolute `PATH` of this host's credential, for servers that require it")
	f.DurationVar(&setup.Timeout, "timeout", keycmd.DefaultTimeout, "time limit of one lookup")
	return cmd
}

// executablePath returns the absolute path of the running binary with
// symbolic links resolved, as sshd would check it.
func executablePath() (string, error) {
	path, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locate executable: %w", err)
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	return resolved, nil
}
