package cli

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

// adminFlags locate the server's database, as tms server's flags do.
type adminFlags struct {
	rootDir    string
	configFile string
	tenant     string
}

func newAdminCommand(stdio IO) *cobra.Command {
	var f adminFlags
	cmd := newGroupCommand("admin", "Operator commands that work on the server's database directly",
		`Operator commands for the machine that runs the server. They open the
server's database directly, found as "tms server" finds it: --root-dir,
else TMS_ROOT_DIR, else ~/.tms, then the configuration file and TMS_*
environment variables (TMS_DATABASE_URL for PostgreSQL).

A running server sees the changes within a second.`)
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.rootDir, "root-dir", "", "the server's root directory (default $TMS_ROOT_DIR, else ~/.tms)")
	pf.StringVar(&f.configFile, "config", "", "the server's configuration file (default <root>/config/tms.toml)")
	pf.StringVar(&f.tenant, "tenant", "", "tenant to act on (required)")
	cmd.AddCommand(newAdminRotateSecretCommand(stdio, &f), newAdminEnableTenantCommand(stdio, &f))
	return cmd
}

// withStore opens the configured store for the length of fn.
func (f *adminFlags) withStore(cmd *cobra.Command, stdio IO, fn func(ctx context.Context, st store.Store) error) error {
	if f.tenant == "" {
		return &usageError{fmt.Errorf("--tenant: required")}
	}
	st, err := server.OpenStore(cmd.Context(), server.StoreOptions{
		RootDir: f.rootDir, ConfigFile: f.configFile, Env: stdio.environment(),
		Logger: slog.New(slog.NewTextHandler(stdio.Err, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	err = fn(cmd.Context(), st)
	if cerr := st.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close the database: %w", cerr)
	}
	return err
}

func newAdminRotateSecretCommand(stdio IO, f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate-secret --tenant TENANT [--root-dir DIR] [--config FILE]",
		Short: "Give a tenant's administrator a new secret and print it",
		Long: `Give the administrator "~~admin" of a tenant a new secret and print it
once; the old secret stops working. Use it when an administrator secret is
lost: only its hash is stored.`,
		Example: "  tms admin rotate-secret --tenant default\n  tms admin rotate-secret --tenant lab --root-dir /var/lib/tms",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withStore(cmd, stdio, func(ctx context.Context, st store.Store) error {
				sec, err := tms.New(tms.Options{Store: st}).RotateAdminSecret(ctx, f.tenant)
				if err != nil {
					return err
				}
				f.recordLocal(ctx, stdio, st, store.AuditEvent{Tenant: sec.Tenant, Type: audit.TypeAdminSecretRotate,
					Detail: "admin_id=" + sec.AdminID + "; tms admin rotate-secret"})
				o := newOutput(stdio.Out)
				o.field("tenant", sec.Tenant)
				o.field("admin_id", sec.AdminID)
				o.field("admin_secret", sec.Secret)
				o.line("")
				o.line("The administrator secret is shown only this once.")
				return o.flush()
			})
		},
	}
}

func newAdminEnableTenantCommand(stdio IO, f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "enable-tenant --tenant TENANT [--root-dir DIR] [--config FILE]",
		Short: "Enable a disabled tenant again",
		Long: `Enable a tenant again. A disabled tenant refuses every API request,
including the one that would enable it, so an administrator who disabled
their own tenant needs an operator to run this.`,
		Example: "  tms admin enable-tenant --tenant lab",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withStore(cmd, stdio, func(ctx context.Context, st store.Store) error {
				if err := tms.New(tms.Options{Store: st}).EnableTenant(ctx, f.tenant); err != nil {
					return err
				}
				f.recordLocal(ctx, stdio, st, store.AuditEvent{Tenant: f.tenant, Type: audit.TypeTenantUpdate,
					Detail: "enabled=true; tms admin enable-tenant"})
				fmt.Fprintf(stdio.Out, "Tenant %s is enabled.\n", f.tenant)
				return nil
			})
		},
	}
}
