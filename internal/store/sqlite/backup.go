package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// lockFile is the advisory lock that marks a database as in use: every
// Open holds a shared lock on it, and Restore needs an exclusive one.
func lockFile(dbPath string) string { return dbPath + ".lock" }

// holdShared takes a shared lock on the database's lock file and returns
// the open file that holds it.
func holdShared(dbPath string) (*os.File, error) {
	f, err := os.OpenFile(lockFile(dbPath), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", lockFile(dbPath), err)
	}
	return f, nil
}

// Backup writes a consistent copy of the database at dbPath to dst while
// the database may be in use by a running server. dst must not exist. The
// copy is a complete database (no WAL) and is synced to disk before Backup
// returns.
func Backup(ctx context.Context, dbPath, dst string) error {
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("backup: database %s: %w", dbPath, err)
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("backup: %s already exists; choose a new file name", dst)
	}
	abs, err := filepath.Abs(dst)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(dbPath, 30*time.Second, false, false))
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", dbPath, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, abs); err != nil {
		os.Remove(abs)
		return fmt.Errorf("backup to %s: %w", abs, err)
	}
	if err := syncFile(abs, 0o600); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Restore replaces the database at dbPath with the backup at src. It
// refuses while any process has the database open (a running server, or an
// administration command) and keeps the replaced database beside it as
// <dbPath>.before-restore-<time>. It returns the name of that file, or ""
// when there was no database.
func Restore(ctx context.Context, src, dbPath string) (string, error) {
	if err := checkBackup(ctx, src); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o700); err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	lock, err := os.OpenFile(lockFile(dbPath), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("restore: open lock file: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return "", fmt.Errorf("restore: the database %s is in use (is the server running?); stop it first", dbPath)
		}
		return "", fmt.Errorf("restore: lock %s: %w", lockFile(dbPath), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	tmp := dbPath + ".restoring"
	if err := copyFile(src, tmp); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("restore: %w", err)
	}
	kept := ""
	if _, err := os.Stat(dbPath); err == nil {
		// Fold any WAL into the old database so the kept copy is complete.
		if old, err := sql.Open("sqlite", dsn(dbPath, 5*time.Second, false, false)); err == nil {
			old.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
			old.Close()
		}
		kept = fmt.Sprintf("%s.before-restore-%s", dbPath, time.Now().UTC().Format("20060102T150405Z"))
		if err := os.Rename(dbPath, kept); err != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("restore: keep the old database: %w", err)
		}
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return kept, fmt.Errorf("restore: remove %s: %w", dbPath+suffix, err)
		}
	}
	if err := os.Rename(tmp, dbPath); err != nil {
		return kept, fmt.Errorf("restore: %w", err)
	}
	return kept, syncDir(filepath.Dir(dbPath))
}

// checkBackup verifies that src is an intact TMS database.
func checkBackup(ctx context.Context, src string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("restore: backup file: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return fmt.Errorf("restore: open backup %s: %w", src, err)
	}
	defer db.Close()
	var result string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&result); err != nil {
		return fmt.Errorf("restore: %s is not a SQLite database: %w", src, err)
	}
	if result != "ok" {
		return fmt.Errorf("restore: %s fails the integrity check: %s", src, result)
	}
	var version int
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM tms_schema_migrations").Scan(&version); err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return fmt.Errorf("restore: %s is not a TMS database", src)
		}
		return fmt.Errorf("restore: read %s: %w", src, err)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncFile(path string, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
