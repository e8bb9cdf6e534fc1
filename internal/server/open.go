package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/tmsproject/tms/internal/config"
	"github.com/tmsproject/tms/internal/store"
)

// StoreOptions locate the configuration of a server, as its flags would.
type StoreOptions struct {
	// RootDir is --root-dir; empty falls back to TMS_ROOT_DIR, then ~/.tms.
	RootDir string
	// ConfigFile is --config; empty means <root>/config/tms.toml.
	ConfigFile string
	// Env is the process environment (os.Environ()); TMS_* variables apply.
	Env []string
	// Logger receives the store's operational messages (default: discard).
	Logger *slog.Logger
}

// OpenStore opens the store that a server started with the same root
// directory, configuration file and environment uses, for administration
// commands that work on the database directly. It never creates a SQLite
// database: the server must have initialized it.
func OpenStore(ctx context.Context, opts StoreOptions) (store.Store, error) {
	root, err := ResolveRoot(opts.RootDir, opts.Env)
	if err != nil {
		return nil, err
	}
	layout := Layout{Root: root}
	cfgPath := opts.ConfigFile
	if cfgPath == "" {
		cfgPath = layout.ConfigFile()
	}
	cfg, _, err := config.Load(cfgPath, opts.ConfigFile != "", opts.Env)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration (%s):\n%w", cfgPath, err)
	}
	if !cfg.UsesPostgres() {
		path := cfg.Database.SQLitePath
		if path == "" {
			path = layout.DatabaseFile()
		}
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s: start the server once (tms server) to create it, or give the server's --root-dir or --config", path)
		}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return openStore(ctx, cfg, layout, logger)
}
