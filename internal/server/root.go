package server

import (
	"github.com/tmsproject/tms/internal/envnames"

	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// ResolveRoot returns the absolute root directory: flag, else the
// TMS_ROOT_DIR variable in env, else ~/.tms. "~" (the HOME of env) and
// $VARIABLES of env are expanded; a variable that env leaves unset or empty
// is an error, so that a typo cannot move the root to "/".
func ResolveRoot(flag string, env []string) (string, error) {
	dir := flag
	if dir == "" {
		dir = lookupEnv(env, envnames.RootDir)
	}
	if dir == "" {
		dir = "~/.tms"
	}
	var unset string
	expanded := os.Expand(dir, func(k string) string {
		v := lookupEnv(env, k)
		if v == "" && unset == "" {
			unset = k
		}
		return v
	})
	if unset != "" {
		return "", fmt.Errorf("root directory %q: environment variable %s is not set", dir, unset)
	}
	dir = expanded
	if dir == "~" || strings.HasPrefix(dir, "~/") {
		home := lookupEnv(env, "HOME")
		if home == "" {
			var err error
			if home, err = os.UserHomeDir(); err != nil {
				return "", fmt.Errorf("root directory %q: cannot find the home directory: %w", dir, err)
			}
		}
		dir = filepath.Join(home, strings.TrimPrefix(dir, "~"))
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("root directory %q: %w", dir, err)
	}
	return abs, nil
}

func lookupEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// Layout names the files and directories under the root.
type Layout struct {
	Root string
}

// ConfigDir is where tms.toml lives.
func (l Layout) ConfigDir() string { return filepath.Join(l.Root, "config") }

// ConfigFile is the default configuration file.
func (l Layout) ConfigFile() string { return filepath.Join(l.Root, "config", "tms.toml") }

// DatabaseFile is the default SQLite database.
func (l Layout) DatabaseFile() string { return filepath.Join(l.Root, "database", "tms.db") }

// CertFile is the default TLS certificate.
func (l Layout) CertFile() string { return filepath.Join(l.Root, "certs", "cert.pem") }

// KeyFile is the default TLS key.
func (l Layout) KeyFile() string { return filepath.Join(l.Root, "certs", "key.pem") }

// DevEnv is the file --dev writes for the shell.
func (l Layout) DevEnv() string { return filepath.Join(l.Root, "dev.env") }

// Prepare creates the root and its subdirectories with mode 0700 and
// returns warnings about existing directories that others can read.
func (l Layout) Prepare() ([]string, error) {
	info, err := os.Stat(l.Root)
	if err == nil && !info.IsDir() {
		return nil, fmt.Errorf("root directory %s is a file", l.Root)
	}
	var warnings []string
	for _, dir := range []string{l.Root, l.ConfigDir(), filepath.Join(l.Root, "database"), filepath.Join(l.Root, "certs")} {
		info, err := os.Stat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create %s: %w", dir, err)
			}
		case err != nil:
			return nil, fmt.Errorf("check %s: %w", dir, err)
		case !info.IsDir():
			return nil, fmt.Errorf("%s exists and is not a directory", dir)
		case info.Mode().Perm()&0o077 != 0:
			warnings = append(warnings, fmt.Sprintf("directory %s has mode %04o; 0700 keeps secrets private", dir, info.Mode().Perm()))
		}
	}
	return warnings, nil
}

// writeNew writes data to path with mode 0600 unless the file exists. It
// reports whether it wrote.
func writeNew(path string, data []byte) (bool, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, f.Close()
}

// writeAtomic replaces path with data (mode 0600) via a temporary file.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// redactURL hides the password of a database URL for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// oneLine joins the lines of a multi-line error (such as several
// configuration problems) with "; ".
func oneLine(err error) string {
	return strings.Join(strings.Split(strings.TrimSpace(err.Error()), "\n"), "; ")
}
