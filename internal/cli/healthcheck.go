package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/server"
)

func newHealthcheckCommand(stdio IO) *cobra.Command {
	var f databaseFlags
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Check that the local server answers /healthz (for containers and service managers)",
		Long: `Ask the server that "tms server" runs with the same root directory,
configuration file and TMS_* variables for GET /healthz, on its port over
loopback, and exit 0 when it answers 200, 1 otherwise (within 5 seconds).
Over TLS it trusts the server's certificate for the host of http_addr.`,
		Example: "  tms healthcheck\n  tms healthcheck --root-dir /var/lib/tms",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := server.CheckHealth(cmd.Context(), server.StoreOptions{RootDir: f.rootDir, ConfigFile: f.configFile,
				Env: stdio.environment()}); err != nil {
				return err
			}
			fmt.Fprintln(stdio.Out, "ok")
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
