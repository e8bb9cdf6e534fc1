package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/server"
)

func newServerCommand(stdio IO) *cobra.Command {
	var opts server.Options
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the TMS server",
		Long: `Run the TMS server.

The first start initializes everything under the root directory: config/
(with a commented tms.toml listing every option), database/ (the embedded
SQLite database), certs/ and logs/, the tenants "default" and "test", an
administrator "~~admin" for each (their secrets are printed once), and the
test data of the test tenant. No separate install step is needed.

ROOT DIRECTORY
  --root-dir, else the TMS_ROOT_DIR environment variable, else ~/.tms.

CONFIGURATION
  Built-in defaults, then the config file, then TMS_* environment variables
  (for example TMS_HTTP_PORT, TMS_DATABASE_URL), then flags.
  --print-config shows every effective value and where it came from.

DEVELOPMENT MODE
  --dev serves plain HTTP on 127.0.0.1 (port 3000 unless --http-port),
  enables the test tenant and MVP mode, and writes <root>/dev.env with the
  test tenant's credentials for the shell and the load-test tools.

EXIT STATUS
  0 after a clean shutdown (SIGINT or SIGTERM), 1 on errors, 2 on usage errors.`,
		Example: `  # A local development server with test data:
  tms server --dev
  . ~/.tms/dev.env

  # Production, PostgreSQL, TLS with the certificate in <root>/certs:
  TMS_DATABASE_URL=postgres://tms:secret@db/tms tms server --root-dir /var/lib/tms

  # Initialize a root directory from a script and exit:
  tms server --install --root-dir /var/lib/tms`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("http-port") && (opts.HTTPPort < 1 || opts.HTTPPort > 65535) {
				return &usageError{errorf("--http-port: %d is not a port number (1-65535)", opts.HTTPPort)}
			}
			opts.Env = os.Environ()
			opts.Stdout, opts.Stderr = stdio.Out, stdio.Err
			return server.Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.RootDir, "root-dir", "", "root directory (default $TMS_ROOT_DIR, else ~/.tms)")
	f.StringVar(&opts.ConfigFile, "config", "", "configuration file (default <root>/config/tms.toml)")
	f.IntVar(&opts.HTTPPort, "http-port", 0, "port to listen on (overrides http_port)")
	f.BoolVar(&opts.Dev, "dev", false, "development mode: plain HTTP on 127.0.0.1, test tenant and MVP on, write <root>/dev.env")
	f.BoolVar(&opts.Install, "install", false, "initialize the root directory and database, print the administrator secrets, and exit")
	f.BoolVar(&opts.PrintConfig, "print-config", false, "print the effective configuration and where each value came from, and exit")
	f.StringVar(&opts.Pprof, "pprof", "", "serve Go's profiles (/debug/pprof/) on this address, such as 127.0.0.1:6060; off by default")
	return cmd
}
