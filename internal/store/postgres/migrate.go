package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmsproject/tms/internal/migrations"
	"github.com/tmsproject/tms/internal/store"
)

// Advisory lock keys; any fixed numbers that no other application on the
// database uses.
const (
	// migrationLock serializes schema migrations of servers starting at once.
	migrationLock int64 = 0x746d735f6d696772 // "tms_migr"
	// initializeLock serializes first-start seeding of servers starting at once.
	initializeLock int64 = 0x746d735f696e6974 // "tms_init"
)

// migrationTimeout bounds the whole migration at start, including the wait
// for another server that is migrating the same database.
const migrationTimeout = 5 * time.Minute

// migrate applies the migrations the database lacks, each in its own
// transaction under a transaction-level advisory lock, and records them in
// tms_schema_migrations. It refuses a database whose schema is newer than
// this binary. The tables of tms_server 0.3.0, including its
// _sqlx_migrations, are left as they are.
func (db *DB) migrate(ctx context.Context, all []migrations.Migration) error {
	ctx, cancel := context.WithTimeout(ctx, migrationTimeout)
	defer cancel()
	for {
		var applied *migrations.Migration
		err := db.withConn(ctx, "migrate schema", store.ErrMissingParent, func(ctx context.Context, conn *pgx.Conn) (err error) {
			applied, err = applyNextMigration(ctx, conn, all)
			return err
		})
		if err != nil {
			return err
		}
		if applied == nil {
			return nil
		}
		db.opts.Logger.InfoContext(ctx, "postgres: applied schema migration", "version", applied.Version, "name", applied.Name)
	}
}

// applyNextMigration applies the first migration the database lacks in one
// transaction and returns it, or returns nil when the schema is current.
func applyNextMigration(ctx context.Context, conn *pgx.Conn, all []migrations.Migration) (*migrations.Migration, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback(ctx) // a no-op after Commit
	// Waiting for another server's migration, or a migration itself, may
	// take longer than a statement of a request may.
	if _, err := tx.Exec(ctx, `SELECT set_config('statement_timeout', $1, true)`,
		strconv.FormatInt(migrationTimeout.Milliseconds(), 10)); err != nil {
		return nil, fmt.Errorf("set migration statement timeout: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return nil, fmt.Errorf("lock schema migrations: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS tms_schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL)`); err != nil {
		return nil, fmt.Errorf("create tms_schema_migrations: %w", err)
	}
	var applied []int
	rows, err := tx.Query(ctx, `SELECT version FROM tms_schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("read schema versions: %w", err)
	}
	applied, err = pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("read schema versions: %w", err)
	}
	pending, err := migrations.Pending(all, applied)
	if err != nil {
		return nil, err
	}
	if len(pending) > 0 {
		m := &pending[0]
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return nil, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tms_schema_migrations(version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, time.Now().UTC()); err != nil {
			return nil, fmt.Errorf("record migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return nil, fmt.Errorf("commit migration %04d_%s: %w", m.Version, m.Name, err)
		}
		return m, nil
	}
	return nil, tx.Commit(ctx)
}
