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

// Database says where a server's data lives.
type Database struct {
	// PostgresURL is set when the server uses PostgreSQL.
	PostgresURL string
	// SQLitePath is the SQLite file otherwise.
	SQLitePath string

	cfg    config.Config
	layout Layout
}

// loadConfig loads the configuration a server started with the same root
// directory, configuration file and environment uses.
func loadConfig(opts StoreOptions) (config.Config, Layout, error) {
	root, err := ResolveRoot(opts.RootDir, opts.Env)
	if err != nil {
		return config.Config{}, Layout{}, err
	}
	layout := Layout{Root: root}
	cfgPath := opts.ConfigFile
	if cfgPath == "" {
		cfgPath = layout.ConfigFile()
	}
	cfg, _, err := config.Load(cfgPath, opts.ConfigFile != "", opts.Env)
	if err != nil {
		return config.Config{}, Layout{}, err
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, Layout{}, fmt.Errorf("invalid configuration (%s): %s", cfgPath, oneLine(err))
	}
	return cfg, layout, nil
}

// LocateDatabase finds the database a server started with the same root
// directory, configuration file and environment uses.
func LocateDatabase(opts StoreOptions) (Database, error) {
	cfg, layout, err := loadConfig(opts)
	if err != nil {
		return Database{}, err
	}
	db := Database{cfg: cfg, layout: layout}
	if cfg.UsesPostgres() {
		db.PostgresURL = cfg.Database.URL
		return db, nil
	}
	db.SQLitePath = cfg.Database.SQLitePath
	if db.SQLitePath == "" {
		db.SQLitePath = layout.DatabaseFile()
	}
	return db, nil
}

// OpenStore opens the store that a server started with the same root
// directory, configuration file and environment uses, for administration
// commands that work on the database directly. It never creates a SQLite
// database: the server must have initialized it.
func OpenStore(ctx context.Context, opts StoreOptions) (store.Store, error) {
	db, err := LocateDatabase(opts)
	if err != nil {
		return nil, err
	}
	if db.SQLitePath != "" {
		if _, err := os.Stat(db.SQLitePath); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s: start the server once (tms server) to create it, or give the server's --root-dir or --config", db.SQLitePath)
		}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return openStore(ctx, db.cfg, db.layout, logger)
}
