// Package keycmd is the core of "tms authorized-keys", the program sshd runs
// as its AuthorizedKeysCommand: it asks TMS which public key to accept for a
// login and prints it as one authorized_keys line. It is a drop-in for the
// Rust tms_keycmd (same arguments, same tms_keycmd.toml), adds a hard
// timeout and TLS trust settings, and fails closed: on any error it prints
// nothing to standard output and exits 1. It writes nowhere except standard
// output and its optional log file, so it runs as an unprivileged
// AuthorizedKeysCommandUser such as nobody.
package keycmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// Main runs one lookup the way sshd invokes it and returns the process exit
// code: 0 after printing the key line to stdout, 1 on any failure. It logs
// exactly one line per call, to the config's log_file or, when there is none
// or it cannot be opened, to stderr. An empty configPath means
// DefaultConfigFile.
func Main(ctx context.Context, args []string, configPath string, stdout, stderr io.Writer) int {
	start := time.Now()
	if configPath == "" {
		configPath = DefaultConfigFile
	}
	cfg, err := LoadConfig(configPath)
	if err != nil {
		newLogger(stderr).Error("authorized-keys: configuration is unusable", "error", err.Error())
		return 1
	}
	logger, closeLog := openLog(cfg.LogFile, stderr)
	defer closeLog()

	req, err := ParseArgs(args)
	if err != nil {
		logger.Error("authorized-keys: bad arguments", "error", err.Error())
		return 1
	}
	attrs := []any{"user", req.User, "uid", req.UID, "fingerprint", req.Fingerprint, "key_type", req.KeyType, "host", cfg.HostName}

	line, err := Lookup(ctx, cfg, req)
	if err == nil {
		_, err = fmt.Fprintln(stdout, line)
		if err != nil {
			err = fmt.Errorf("write key to standard output: %w", err)
		}
	}
	attrs = append(attrs, "duration", time.Since(start).Round(time.Microsecond).String())
	switch {
	case err == nil:
		logger.Info("authorized-keys: key accepted", attrs...)
		return 0
	case errors.Is(err, ErrNotFound):
		logger.Info("authorized-keys: no key", append(attrs, "error", err.Error())...)
	default:
		logger.Error("authorized-keys: lookup failed", append(attrs, "error", err.Error())...)
	}
	return 1
}

// openLog returns a logger appending to path, or writing to stderr when
// path is empty or cannot be opened; the latter case is noted on every line.
// The returned function closes the file.
func openLog(path string, stderr io.Writer) (*slog.Logger, func()) {
	if path == "" {
		return newLogger(stderr), func() {}
	}
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return newLogger(stderr).With("log_file_error", err.Error()), func() {}
	}
	return newLogger(file), func() { file.Close() }
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}
