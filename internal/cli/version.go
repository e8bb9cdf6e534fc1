package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/version"
)

func newVersionCommand(stdio IO) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the version and build information",
		Example: "  tms version\n  tms version --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := version.Get()
			if asJSON {
				enc := json.NewEncoder(stdio.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			commit := info.Commit
			if commit == "" {
				commit = "unknown"
			}
			if info.Dirty {
				commit += " (modified)"
			}
			fmt.Fprintf(stdio.Out, "tms %s\ncommit:     %s\n", info.Version, commit)
			if info.BuildTime != "" {
				fmt.Fprintf(stdio.Out, "built:      %s\n", info.BuildTime)
			}
			fmt.Fprintf(stdio.Out, "go:         %s\nplatform:   %s\n", info.GoVersion, info.Platform)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args[0])}
	}
	return nil
}
