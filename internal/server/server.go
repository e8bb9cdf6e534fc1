// Package server runs a TMS server: it prepares the root directory,
// builds the configuration, opens the store, initializes tenants on first
// start, serves the API over HTTP or TLS, and shuts down gracefully.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/apidocs"
	"github.com/tmsproject/tms/internal/config"
	"github.com/tmsproject/tms/internal/envnames"
	"github.com/tmsproject/tms/internal/keys"
	"github.com/tmsproject/tms/internal/logbuf"
	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/postgres"
	"github.com/tmsproject/tms/internal/store/readcache"
	"github.com/tmsproject/tms/internal/store/sqlite"
	"github.com/tmsproject/tms/internal/tms"
	"github.com/tmsproject/tms/internal/version"
)

// Options are the command-line inputs of a server run.
type Options struct {
	// RootDir is --root-dir; empty falls back to TMS_ROOT_DIR, then ~/.tms.
	RootDir string
	// ConfigFile is --config; empty means <root>/config/tms.toml.
	ConfigFile string
	// HTTPPort is --http-port; 0 means not given.
	HTTPPort int
	// Dev is --dev: plain HTTP on 127.0.0.1, test tenant and MVP on, dev.env.
	Dev bool
	// Install initializes everything, prints the secrets and returns.
	Install bool
	// PrintConfig prints the effective configuration and returns.
	PrintConfig bool
	// Pprof, when set, is the address of a listener that serves Go's
	// profiles (net/http/pprof); empty (the default) serves none.
	Pprof string
	// Env is the process environment (os.Environ()).
	Env []string
	// Stdout receives the one-time secrets and messages for the operator;
	// Stderr receives logs.
	Stdout, Stderr io.Writer
	// Listener, when set, is used instead of listening on the configured
	// address (tests pass one on port 0).
	Listener net.Listener
	// Ready, when set, is called with the base URL once the server accepts
	// connections.
	Ready func(baseURL string)
}

// Run runs the server until ctx ends, then shuts it down gracefully.
// With opts.PrintConfig it only prints the configuration, and with
// opts.Install it only initializes the root directory and the database.
func Run(ctx context.Context, opts Options) error {
	loaded, err := LoadConfig(opts)
	if err != nil {
		return err
	}
	switch {
	case opts.PrintConfig:
		return PrintConfig(loaded)
	case opts.Install:
		return Install(ctx, loaded)
	}
	s, err := Build(ctx, loaded)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}

// Loaded is a validated configuration with where it came from, ready to
// build a server.
type Loaded struct {
	// Options are the command-line inputs it was loaded with.
	Options Options
	// Layout is the root directory.
	Layout Layout
	// ConfigPath is the configuration file read (it may not exist).
	ConfigPath string
	// Config is the effective configuration; Sources says where each
	// value came from.
	Config  config.Config
	Sources config.Sources
	// OwnURL reports whether server_urls lists the server's own URL.
	OwnURL bool
	// metricsToken is the bearer token of metrics.token_file, if any.
	metricsToken string
}

// LoadConfig resolves the root directory, reads the configuration file,
// the environment and the flags of opts, and validates the result. It
// changes nothing on disk.
func LoadConfig(opts Options) (Loaded, error) {
	root, err := ResolveRoot(opts.RootDir, opts.Env)
	if err != nil {
		return Loaded{}, err
	}
	layout := Layout{Root: root}
	cfgPath := opts.ConfigFile
	if cfgPath == "" {
		cfgPath = layout.ConfigFile()
	}
	cfg, src, err := config.Load(cfgPath, opts.ConfigFile != "", opts.Env)
	if err != nil {
		return Loaded{}, err
	}
	ownURL, err := applyFlags(&cfg, src, opts)
	if err != nil {
		return Loaded{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Loaded{}, fmt.Errorf("invalid configuration (%s): %s", cfgPath, oneLine(err))
	}
	token, err := readMetricsToken(cfg.Metrics)
	if err != nil {
		return Loaded{}, fmt.Errorf("invalid configuration (%s): %w", cfgPath, err)
	}
	return Loaded{Options: opts, Layout: layout, ConfigPath: cfgPath, Config: cfg, Sources: src, OwnURL: ownURL,
		metricsToken: token}, nil
}

// PrintConfig writes the effective configuration of l, and where each
// value came from, to its standard output.
func PrintConfig(l Loaded) error {
	out := l.Options.Stdout
	fmt.Fprintf(out, "# root directory: %s\n# config file: %s\n", l.Layout.Root, l.ConfigPath)
	fmt.Fprint(out, config.Describe(l.Config, l.Sources))
	return nil
}

// Install initializes the root directory and the database of l, prints
// the administrator secrets of new tenants, and returns without serving.
func Install(ctx context.Context, l Loaded) error {
	s, err := initialize(ctx, l, false)
	if err != nil {
		return err
	}
	defer s.close()
	if len(s.secrets) == 0 {
		fmt.Fprintf(l.Options.Stdout, "TMS root directory %s was already initialized; administrator secrets are unchanged.\n", l.Layout.Root)
	} else {
		fmt.Fprintf(l.Options.Stdout, "Exiting: TMS root directory installed and initialized at %s\n", l.Layout.Root)
	}
	return nil
}

// Server is a built server: its database is open and initialized and its
// listeners are taken. Serve serves it and releases all of that.
type Server struct {
	loaded    Loaded
	logOut    *logbuf.Writer
	logger    *slog.Logger
	dirs      []tms.TenantDirectory
	lock      *serverLock
	ln        net.Listener
	metricsLn net.Listener
	st        store.Store
	gen       *keys.Generator
	svc       *tms.Service
	secrets   []tms.AdminSecret

	httpServer *http.Server
	useTLS     bool
	baseURL    string

	// closers release what was taken, last first.
	closers []func()
}

// onClose adds f to what close releases.
func (s *Server) onClose(f func()) { s.closers = append(s.closers, f) }

// close releases everything s holds, in the reverse order of taking it.
func (s *Server) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// initialize starts the log, takes the database (and, when serving, the
// listeners), prepares the root directory, opens the store and
// initializes the tenants. On error it releases what it took.
func initialize(ctx context.Context, l Loaded, serving bool) (_ *Server, err error) {
	cfg, layout, opts := l.Config, l.Layout, l.Options
	s := &Server{loaded: l}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	// Log lines, one per request among them, go through a buffer that one
	// goroutine writes out, so that a slow terminal or pipe never holds up
	// a request; everything is written before the server is released.
	s.logOut = logbuf.New(opts.Stderr, logBufferBytes)
	s.onClose(func() { s.logOut.Close() })
	logger := newLogger(s.logOut, cfg.Log)
	s.logger = logger
	dirs, err := directories(cfg.OAuth.LDAP, opts.Env, logger)
	if err != nil {
		return nil, fmt.Errorf("invalid configuration (%s): %w", l.ConfigPath, err)
	}
	s.dirs = dirs
	for _, name := range unknownEnv(cfg, opts.Env) {
		logger.Warn("environment variable "+name+" is not a TMS setting and is ignored; "+
			"\"tms server --print-config\" lists the settings, each with its TMS_ variable", "variable", name)
	}
	// Take the database and the port before anything else, so that a
	// start that cannot serve changes nothing (and prints no one-time
	// secrets).
	if !cfg.UsesPostgres() {
		lock, err := lockDatabase(sqlitePath(cfg, layout))
		if err != nil {
			return nil, err
		}
		s.lock = lock
		s.onClose(lock.release)
	}
	if serving {
		if err := s.listen(ctx); err != nil {
			return nil, err
		}
	}
	warnings, err := layout.Prepare()
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		logger.Warn(w)
	}
	if os.Geteuid() == 0 {
		logger.Warn("running as root; a dedicated unprivileged account is safer")
	}
	if wrote, err := writeNew(layout.ConfigFile(), []byte(config.Template())); err != nil {
		return nil, err
	} else if wrote {
		logger.Info("wrote the default configuration", "file", layout.ConfigFile())
	}

	st, err := openStore(ctx, cfg, layout, logger)
	if err != nil {
		return nil, err
	}
	s.st = st
	s.onClose(func() {
		if err := st.Close(); err != nil {
			logger.Error("close store", "err", err)
		}
	})

	gen, err := keys.NewGenerator(keys.Options{Workers: cfg.Limits.KeygenWorkers, RSAWorkers: cfg.Limits.RSAWorkers})
	if err != nil {
		return nil, fmt.Errorf("key generator: %w", err)
	}
	s.gen = gen
	s.svc = tms.New(tms.Options{
		Store: st, Keys: gen, Logger: logger, OAuth: oauthOptions(cfg.OAuth),
		MVP:                   cfg.EnableMVP,
		DisallowNewClients:    cfg.NewClients == "disallow",
		PermissiveRetrieval:   cfg.Keys.Retrieval == "permissive",
		RepeatWindow:          cfg.Keys.RepeatWindow.Duration,
		RequireHostCredential: cfg.Keys.RequireHostCredential,
		UnregisteredHosts:     unregisteredHosts(cfg.Keys.UnregisteredHosts),
		Directories:           dirs,
	})

	s.secrets, err = s.svc.Initialize(ctx)
	if err != nil {
		return nil, fmt.Errorf("initialize tenants: %w", err)
	}
	if len(s.secrets) > 0 {
		printSecrets(opts.Stdout, s.secrets)
	}
	if err := s.svc.SetTestTenantEnabled(ctx, cfg.EnableTestTenant); err != nil {
		return nil, fmt.Errorf("apply enable_test_tenant: %w", err)
	}
	for _, d := range dirs {
		if ok, err := s.svc.TenantIssuer(ctx, d.Tenant); err == nil && !ok {
			logger.Warn("directory sign-in for a tenant that does not exist or is disabled; nobody signs in through it until it is enabled",
				"tenant", d.Tenant, "directory", d.ID)
		}
	}
	return s, nil
}

// listen takes the API's address (unless the options carry a listener),
// the metrics address when metrics have their own, and the --pprof
// address, which starts serving at once.
func (s *Server) listen(ctx context.Context) error {
	cfg, opts := s.loaded.Config, s.loaded.Options
	ln := opts.Listener
	if ln == nil {
		var err error
		if ln, err = listen(cfg, s.loaded.ConfigPath); err != nil {
			return err
		}
	}
	s.ln = ln
	s.onClose(func() { ln.Close() })
	if cfg.Metrics.Enabled && cfg.Metrics.Listen != "" {
		metricsLn, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			return fmt.Errorf("metrics listener: %w; choose another address with metrics.listen (TMS_METRICS_LISTEN)", err)
		}
		s.metricsLn = metricsLn
		s.onClose(func() { metricsLn.Close() })
	}
	if opts.Pprof != "" {
		pprofLn, err := net.Listen("tcp", opts.Pprof)
		if err != nil {
			return fmt.Errorf("--pprof: %w", err)
		}
		s.onClose(func() { pprofLn.Close() })
		pctx, stop := context.WithCancel(ctx)
		s.onClose(stop)
		servePprof(pctx, pprofLn, s.logger)
	}
	return nil
}

// Build opens, initializes and wires everything the configuration of l
// asks for, and takes the listeners; Serve then serves it. ctx bounds the
// server's background work (certificate reloads, the metrics listener)
// and is the base of every request's context: pass the same one to Serve.
func Build(ctx context.Context, l Loaded) (_ *Server, err error) {
	s, err := initialize(ctx, l, true)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	cfg, layout, opts, logger := l.Config, l.Layout, l.Options, s.logger
	if cfg.EnableMVP {
		logger.Warn("enable_mvp is on: any authenticated client can get keys for any account on any host")
	}

	var tlsConfig *tls.Config
	if cfg.TLSEnabled() {
		tlsConfig, err = setupTLS(ctx, cfg, layout, logger, opts.Stdout)
		if err != nil {
			return nil, err
		}
	}

	baseURL := cfg.BaseURL()
	if opts.Listener != nil {
		baseURL = listenerURL(cfg, s.ln)
	}
	if l.OwnURL {
		cfg.ServerURLs = []string{baseURL}
	}
	if s.lock != nil {
		if err := s.lock.record(baseURL); err != nil {
			return nil, err
		}
	}
	if opts.Dev {
		vars, err := writeDevEnv(ctx, layout, s.svc, s.secrets, baseURL, ownsDatabase(cfg, layout))
		if err != nil {
			return nil, err
		}
		s.onClose(func() {
			if err := stoppedDevEnv(layout, vars); err != nil {
				logger.Error("remove the server's URL from dev.env", "err", err)
			}
		})
		path := layout.DevEnv()
		fmt.Fprintf(opts.Stdout, "Development server: %s\nCredentials for the test tenant are in %s; load them with:\n  . %s\n", baseURL, path, path)
	}

	var m *metrics.Metrics
	if cfg.Metrics.Enabled {
		m = metrics.New()
		for _, d := range s.dirs {
			m.DirectoryConfigured(d.Tenant)
		}
	}
	upstreams := startUpstreams(ctx, cfg.OAuth, baseURL, logger)
	extra := []func(*http.ServeMux){health(s.st), newOAuthHandler(cfg, s.svc, logger, baseURL, m, upstreams).Register,
		apidocs.Routes(cfg.ServerURLs)}
	if cfg.Metrics.Enabled {
		registerCollectors(m, s.st, s.gen)
		if s.metricsLn != nil {
			serveMetrics(ctx, s.metricsLn, m, s.st, logger)
		} else if route := apiMetricsRoute(m, l.metricsToken, opts.Dev, logger); route != nil {
			extra = append(extra, route)
		}
	}

	rec, stopAudit := startAudit(cfg.Audit, s.st, m, logger)
	s.onClose(stopAudit)

	v := version.Get()
	a := api.New(api.Options{
		Service: s.svc, Logger: logger,
		MaxInFlight:    cfg.Limits.MaxInFlight,
		RequestTimeout: cfg.Limits.RequestTimeout.Duration,
		MaxBodyBytes:   cfg.Limits.MaxBodyBytes,
		BodyTimeout:    cfg.Limits.BodyTimeout.Duration,
		RetryAfter:     cfg.Limits.RetryAfter.Duration,
		Version: api.VersionInfo{Version: v.Version, Branch: v.Branch, Commit: v.Commit, Dirty: v.Dirty,
			SourceTS: v.BuildTime, GoVersion: v.GoVersion},
		Extra:   extra,
		Metrics: m,
		Audit:   rec,
	})
	handler := a.Handler()
	if tlsConfig != nil {
		handler = strictTransportSecurity(handler)
	}
	s.ln = limitConns(s.ln, cfg.Limits.MaxConnsPerAddr, m, logger)
	s.httpServer = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.Limits.ReadHeaderTimeout.Duration,
		ReadTimeout:       cfg.Limits.ReadTimeout.Duration,
		WriteTimeout:      cfg.Limits.WriteTimeout.Duration,
		IdleTimeout:       cfg.Limits.IdleTimeout.Duration,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.useTLS = tlsConfig != nil
	s.baseURL = baseURL
	return s, nil
}

// Serve serves until ctx ends, shuts down gracefully, and releases
// everything the server holds; a Server serves once.
func (s *Server) Serve(ctx context.Context) error {
	defer s.close()
	l := s.loaded
	return serve(ctx, s.httpServer, s.ln, s.useTLS, l.Config.Limits.ShutdownTimeout.Duration, s.logger, s.baseURL, l.Options.Ready)
}

// unknownEnv returns the TMS_* variables of env that no part of TMS
// reads, in the order of env.
func unknownEnv(cfg config.Config, env []string) []string {
	known := map[string]bool{}
	for _, name := range append(config.EnvNames(cfg), envnames.All()...) {
		known[name] = true
	}
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "TMS_") && !known[name] {
			known[name] = true // once
			out = append(out, name)
		}
	}
	return out
}

// applyFlags applies the flags of opts to cfg; it reports whether
// server_urls lists the server's own URL.
func applyFlags(cfg *config.Config, src config.Sources, opts Options) (ownURL bool, err error) {
	if opts.Dev {
		for _, kv := range [][2]string{
			{"http_addr", "http://127.0.0.1"},
			{"listen_host", "127.0.0.1"},
			{"enable_test_tenant", "true"},
			{"enable_mvp", "true"},
			{"keys.unregistered_hosts", "any_tenant"},
		} {
			if err := cfg.Set(src, kv[0], kv[1], "--dev"); err != nil {
				return false, err
			}
		}
	}
	if opts.HTTPPort != 0 {
		if err := cfg.Set(src, "http_port", strconv.Itoa(opts.HTTPPort), "flag --http-port"); err != nil {
			return false, err
		}
	}
	// The server lists itself in the API documentation unless server_urls
	// was changed from its default (the generated tms.toml repeats the
	// default, which does not count as a change).
	if len(cfg.ServerURLs) == 0 || slices.Equal(cfg.ServerURLs, config.Default().ServerURLs) {
		if err := cfg.Set(src, "server_urls", cfg.BaseURL(), "the server's own URL (http_addr, http_port)"); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}

// unregisteredHosts converts keys.unregistered_hosts, which Validate
// checked, to the service's option.
func unregisteredHosts(v string) tms.UnregisteredHosts {
	if v == "any_tenant" {
		return tms.AcceptUnregisteredHosts
	}
	return tms.RefuseUnregisteredHosts
}

// readCacheSize bounds each of the read cache's maps.
const readCacheSize = 100_000

// openStore opens the configured database under the read cache.
func openStore(ctx context.Context, cfg config.Config, layout Layout, logger *slog.Logger) (store.Store, error) {
	db, err := openBackend(ctx, cfg, layout, logger)
	if err != nil {
		return nil, err
	}
	return readcache.Wrap(db, readCacheSize), nil
}

func openBackend(ctx context.Context, cfg config.Config, layout Layout, logger *slog.Logger) (readcache.Source, error) {
	if cfg.UsesPostgres() {
		db, err := postgres.Open(ctx, postgres.Options{
			URL:              cfg.Database.URL,
			MaxConns:         int32(cfg.Database.MaxConns),
			AcquireTimeout:   cfg.Database.AcquireTimeout.Duration,
			StatementTimeout: cfg.Database.StatementTimeout.Duration,
			Logger:           logger,
		})
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL database: %w", err)
		}
		logger.Info("using PostgreSQL", "url", redactURL(cfg.Database.URL))
		return db, nil
	}
	path := sqlitePath(cfg, layout)
	db, err := sqlite.Open(ctx, sqlite.Options{
		Path:         path,
		ReadConns:    cfg.Database.MaxConns,
		WriteQueue:   cfg.Database.WriteQueue,
		QueryTimeout: cfg.Database.StatementTimeout.Duration,
		Logger:       logger,
	})
	if err != nil {
		return nil, fmt.Errorf("open SQLite database: %w", err)
	}
	logger.Info("using SQLite", "file", path)
	return db, nil
}

// ownsDatabase reports whether the database of cfg belongs to the root
// directory alone: a SQLite file inside it.
func ownsDatabase(cfg config.Config, layout Layout) bool {
	if cfg.UsesPostgres() {
		return false
	}
	path, err := filepath.Abs(sqlitePath(cfg, layout))
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(layout.Root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// sqlitePath is the SQLite database of cfg.
func sqlitePath(cfg config.Config, layout Layout) string {
	if cfg.Database.SQLitePath != "" {
		return cfg.Database.SQLitePath
	}
	return layout.DatabaseFile()
}

func setupTLS(ctx context.Context, cfg config.Config, layout Layout, logger *slog.Logger, out io.Writer) (*tls.Config, error) {
	certPath, keyPath := cfg.TLS.CertFile, cfg.TLS.KeyFile
	if certPath == "" {
		certPath, keyPath = layout.CertFile(), layout.KeyFile()
		if !fileExists(certPath) && !fileExists(keyPath) {
			if err := generateSelfSigned(certPath, keyPath, cfg.PublicHost()); err != nil {
				return nil, err
			}
			fmt.Fprintf(out, "Generated a self-signed TLS certificate for %s, localhost, 127.0.0.1 and ::1:\n  %s\n"+
				"Clients must trust it (for example with --cacert %s) or you can replace it with your own.\n",
				cfg.PublicHost(), certPath, certPath)
		}
	}
	cert, err := loadCertificate(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	minVersion := uint16(tls.VersionTLS12)
	if cfg.TLS.MinVersion == "1.3" {
		minVersion = tls.VersionTLS13
	}
	reloadOnHangup(ctx, cert, logger)
	return &tls.Config{GetCertificate: cert.get, MinVersion: minVersion}, nil
}

// reloadOnHangup reloads the certificate on SIGHUP until ctx ends; a
// failed reload keeps the current certificate.
func reloadOnHangup(ctx context.Context, cert *certificate, logger *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			if err := cert.reload(); err != nil {
				logger.Error("reload TLS certificate; keeping the current one", "err", err)
				continue
			}
			logger.Info("reloaded TLS certificate", "file", cert.certPath)
		}
	}()
}

func serve(ctx context.Context, srv *http.Server, ln net.Listener, useTLS bool, shutdownTimeout time.Duration,
	logger *slog.Logger, baseURL string, ready func(string)) error {
	errc := make(chan error, 1)
	go func() {
		if useTLS {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	logger.Info("serving", "url", baseURL, "cpus", runtime.GOMAXPROCS(0))
	if ready != nil {
		ready(baseURL)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight", "timeout", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// listen opens the configured address; the error says how to choose
// another port.
func listen(cfg config.Config, cfgPath string) (net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.ListenAddr())
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w; choose another port with --http-port, TMS_HTTP_PORT or http_port in %s",
			cfg.ListenAddr(), err, cfgPath)
	}
	return ln, nil
}

func listenerURL(cfg config.Config, ln net.Listener) string {
	scheme := "http"
	if cfg.TLSEnabled() {
		scheme = "https"
	}
	addr := ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

// logBufferBytes bounds the log output waiting to be written; beyond it
// logging waits for the output.
const logBufferBytes = 1 << 20

func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	hopts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts))
	}
	return slog.New(slog.NewTextHandler(w, hopts))
}

func printSecrets(w io.Writer, secrets []tms.AdminSecret) {
	fmt.Fprintln(w, "****************************************************************************")
	fmt.Fprintln(w, "* TMS administrator secrets. Only their hashes are stored: this is the only *")
	fmt.Fprintln(w, "* time they are shown and they cannot be recovered. Keep them safe.         *")
	fmt.Fprintln(w, "* (\"tms admin rotate-secret --tenant NAME\" replaces a lost one.)            *")
	fmt.Fprintln(w, "****************************************************************************")
	for _, s := range secrets {
		fmt.Fprintf(w, "Tenant: %s\nAdministrator ID: %s\nPassword: %s\n\n", s.Tenant, s.AdminID, s.Secret)
	}
}

// strictTransportSecurity tells browsers to reach this host only over
// HTTPS for a year (RFC 6797); browsers heed it only on answers over TLS.
func strictTransportSecurity(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// health registers /healthz (alive) and /readyz (database reachable and
// schema current).
func health(st store.Store) func(*http.ServeMux) {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write([]byte("ok\n"))
		})
		mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			if err := st.Ping(ctx); err != nil {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, "not ready: %v\n", err)
				return
			}
			w.Write([]byte("ready\n"))
		})
	}
}
