// Package cli holds the cobra commands of the tms binary. Every command is
// built by a constructor from the IO it writes to, so tests can run the whole
// command tree without touching process globals.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// IO is where a command reads and writes.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Env is the environment commands read, as KEY=VALUE (os.Environ());
	// nil means the process environment.
	Env []string
}

// ExitError carries a specific process exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Run executes the tms command line given by args and returns the process
// exit code: 0 on success, 1 when the command failed, 2 for usage errors.
func Run(ctx context.Context, args []string, stdio IO) int {
	root := NewRootCommand(stdio)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintf(stdio.Err, "tms: %v\n", exit.Err)
		}
		return exit.Code
	}
	fmt.Fprintf(stdio.Err, "tms: %v\n", err)
	var usage *usageError
	if errors.As(err, &usage) || strings.HasPrefix(err.Error(), "unknown command ") {
		return 2
	}
	return 1
}

// usageError marks a mistake in the command line itself.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// NewRootCommand builds the complete tms command tree.
func NewRootCommand(stdio IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "tms",
		Short: "Trust Manager System: SSH keys for users of trusted applications",
		Long: `tms is the Trust Manager System. It issues short-lived, limited-use SSH key
pairs to users through trusted client applications, answers sshd's
AuthorizedKeysCommand at login, and lets a terminal user log in through a
browser with the OAuth 2.0 Device Authorization Grant.

Run "tms server --dev" to start a local server for testing.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{err}
	})
	root.AddCommand(
		newVersionCommand(stdio),
		newServerCommand(stdio),
		newLoadtestCommand(stdio),
		newAuthorizedKeysCommand(stdio),
		newSSHDConfigCommand(stdio),
		newTenantsCommand(stdio),
		newClientsCommand(stdio),
		newUserMFACommand(stdio),
		newUserHostsCommand(stdio),
		newDelegationsCommand(stdio),
		newHostsCommand(stdio),
		newPubkeysCommand(stdio),
		newReservationsCommand(stdio),
		newAuditCommand(stdio),
		newAdminCommand(stdio),
		newBackupCommand(stdio),
		newRestoreCommand(stdio),
		newHealthcheckCommand(stdio),
		newLoginCommand(stdio),
		newLogoutCommand(stdio),
		newWhoamiCommand(stdio),
		newKeysCommand(stdio),
		newAccessCommand(stdio),
		newUsersCommand(stdio),
		newOAuthClientsCommand(stdio),
		newTOTPCommand(stdio),
	)
	return root
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
