package cli

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/store/sqlite"
)

// databaseFlags locate the server's database as tms server's flags do.
type databaseFlags struct {
	rootDir    string
	configFile string
}

func (f *databaseFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.rootDir, "root-dir", "", "the server's root directory (default $TMS_ROOT_DIR, else ~/.tms)")
	cmd.Flags().StringVar(&f.configFile, "config", "", "the server's configuration file (default <root>/config/tms.toml)")
}

func (f *databaseFlags) locate(stdio IO) (server.Database, error) {
	db, err := server.LocateDatabase(server.StoreOptions{RootDir: f.rootDir, ConfigFile: f.configFile, Env: stdio.environment()})
	if err != nil {
		return db, err
	}
	if db.PostgresURL != "" {
		return db, errors.New("this server uses PostgreSQL: back it up with pg_dump (for example: pg_dump --format=custom --file=tms.dump \"$TMS_DATABASE_URL\") " +
			"and restore with pg_restore --clean --dbname=\"$TMS_DATABASE_URL\" tms.dump while the servers are stopped")
	}
	return db, nil
}

func newBackupCommand(stdio IO) *cobra.Command {
	var f databaseFlags
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Copy the SQLite database consistently while the server runs",
		Long: `Write a consistent copy of the server's embedded SQLite database to FILE
(which must not exist). The server may keep running: the copy is a snapshot
of every transaction committed before the backup started.

The database is found as "tms server" finds it: --root-dir, else
TMS_ROOT_DIR, else ~/.tms, then the configuration file and TMS_* variables.
For PostgreSQL, use pg_dump instead.`,
		Example: "  tms backup /var/backups/tms-$(date +%F).db\n  tms backup --root-dir /var/lib/tms tms.db",
		Args:    exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := f.locate(stdio)
			if err != nil {
				return err
			}
			if err := sqlite.Backup(cmd.Context(), db.SQLitePath, args[0]); err != nil {
				return err
			}
			abs, _ := filepath.Abs(args[0])
			fmt.Fprintf(stdio.Out, "Backed up %s to %s\n", db.SQLitePath, abs)
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func newRestoreCommand(stdio IO) *cobra.Command {
	var f databaseFlags
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the SQLite database with a backup (server stopped)",
		Long: `Replace the server's embedded SQLite database with the backup in FILE.

The backup is checked first (SQLite integrity check, TMS schema). Restore
refuses while the database is in use, by a running server or another tms
command: stop the server first. The replaced database is kept beside the
new one as <name>.before-restore-<time>.`,
		Example: "  systemctl stop tms && tms restore /var/backups/tms-2026-11-26.db && systemctl start tms",
		Args:    exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := f.locate(stdio)
			if err != nil {
				return err
			}
			kept, err := sqlite.Restore(cmd.Context(), args[0], db.SQLitePath)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdio.Out, "Restored %s from %s\n", db.SQLitePath, args[0])
			if kept != "" {
				fmt.Fprintf(stdio.Out, "The replaced database is kept as %s\n", kept)
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
