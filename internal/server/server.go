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
func Run(ctx context.Context, opts Options) error {
	root, err := ResolveRoot(opts.RootDir, opts.Env)
	if err != nil {
		return err
	}
	layout := Layout{Root: root}
	cfgPath := opts.ConfigFile
	if cfgPath == "" {
		cfgPath = layout.ConfigFile()
	}
	cfg, src, err := config.Load(cfgPath, opts.ConfigFile != "", opts.Env)
	if err != nil {
		return err
	}
	ownURL, err := applyFlags(&cfg, src, opts)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration (%s): %s", cfgPath, oneLine(err))
	}
	if opts.PrintConfig {
		fmt.Fprintf(opts.Stdout, "# root directory: %s\n# config file: %s\n", root, cfgPath)
		fmt.Fprint(opts.Stdout, config.Describe(cfg, src))
		return nil
	}

	// Log lines, one per request among them, go through a buffer that one
	// goroutine writes out, so that a slow terminal or pipe never holds up
	// a request; everything is written before Run returns.
	logOut := logbuf.New(opts.Stderr, logBufferBytes)
	defer logOut.Close()
	logger := newLogger(logOut, cfg.Log)
	dirs, err := directories(cfg.OAuth.LDAP, opts.Env, logger)
	if err != nil {
		return fmt.Errorf("invalid configuration (%s): %w", cfgPath, err)
	}
	for _, name := range unknownEnv(cfg, opts.Env) {
		logger.Warn("environment variable "+name+" is not a TMS setting and is ignored; "+
			"\"tms server --print-config\" lists the settings, each with its TMS_ variable", "variable", name)
	}
	// Take the database and the port before anything else, so that a
	// start that cannot serve changes nothing (and prints no one-time
	// secrets).
	var lock *serverLock
	if !cfg.UsesPostgres() {
		if lock, err = lockDatabase(sqlitePath(cfg, layout)); err != nil {
			return err
		}
		defer lock.release()
	}
	ln := opts.Listener
	if ln == nil && !opts.Install {
		ln, err = listen(cfg, cfgPath)
		if err != nil {
			return err
		}
	}
	if ln != nil {
		defer ln.Close()
	}
	var metricsLn net.Listener
	if cfg.Metrics.Enabled && cfg.Metrics.Listen != "" && !opts.Install {
		if metricsLn, err = net.Listen("tcp", cfg.Metrics.Listen); err != nil {
			return fmt.Errorf("metrics listener: %w; choose another address with metrics.listen (TMS_METRICS_LISTEN)", err)
		}
		defer metricsLn.Close()
	}
	if opts.Pprof != "" && !opts.Install {
		pprofLn, err := net.Listen("tcp", opts.Pprof)
		if err != nil {
			return fmt.Errorf("--pprof: %w", err)
		}
		defer pprofLn.Close()
		pctx, stop := context.WithCancel(ctx)
		defer stop()
		servePprof(pctx, pprofLn, logger)
	}
	warnings, err := layout.Prepare()
	if err != nil {
		return err
	}
	for _, w := range warnings {
		logger.Warn(w)
	}
	if os.Geteuid() == 0 {
		logger.Warn("running as root; a dedicated unprivileged account is safer")
	}
	if wrote, err := writeNew(layout.ConfigFile(), []byte(config.Template())); err != nil {
		return err
	} else if wrote {
		logger.Info("wrote the default configuration", "file", layout.ConfigFile())
	}

	st, err := openStore(ctx, cfg, layout, logger)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			logger.Error("close store", "err", err)
		}
	}()

	gen, err := keys.NewGenerator(keys.Options{Workers: cfg.Limits.KeygenWorkers, RSAWorkers: cfg.Limits.RSAWorkers})
	if err != nil {
		return fmt.Errorf("key generator: %w", err)
	}
	svc := tms.New(tms.Options{
		Store: st, Keys: gen, Logger: logger, OAuth: oauthOptions(cfg.OAuth),
		MVP:                   cfg.EnableMVP,
		DisallowNewClients:    cfg.NewClients == "disallow",
		PermissiveRetrieval:   cfg.Keys.Retrieval == "permissive",
		RepeatWindow:          cfg.Keys.RepeatWindow.Duration,
		RequireHostCredential: cfg.Keys.RequireHostCredential,
		UnregisteredHosts:     unregisteredHosts(cfg.Keys.UnregisteredHosts),
		Directories:           dirs,
	})

	secrets, err := svc.Initialize(ctx)
	if err != nil {
		return fmt.Errorf("initialize tenants: %w", err)
	}
	if len(secrets) > 0 {
		printSecrets(opts.Stdout, secrets)
	}
	if err := svc.SetTestTenantEnabled(ctx, cfg.EnableTestTenant); err != nil {
		return fmt.Errorf("apply enable_test_tenant: %w", err)
	}
	for _, d := range dirs {
		if ok, err := svc.TenantIssuer(ctx, d.Tenant); err == nil && !ok {
			logger.Warn("directory sign-in for a tenant that does not exist or is disabled; nobody signs in through it until it is enabled",
				"tenant", d.Tenant, "directory", d.ID)
		}
	}
	if opts.Install {
		if len(secrets) == 0 {
			fmt.Fprintf(opts.Stdout, "TMS root directory %s was already initialized; administrator secrets are unchanged.\n", root)
		} else {
			fmt.Fprintf(opts.Stdout, "Exiting: TMS root directory installed and initialized at %s\n", root)
		}
		return nil
	}
	if cfg.EnableMVP {
		logger.Warn("enable_mvp is on: any authenticated client can get keys for any account on any host")
	}

	var tlsConfig *tls.Config
	if cfg.TLSEnabled() {
		tlsConfig, err = setupTLS(ctx, cfg, layout, logger, opts.Stdout)
		if err != nil {
			return err
		}
	}

	baseURL := cfg.BaseURL()
	if opts.Listener != nil {
		baseURL = listenerURL(cfg, ln)
	}
	if ownURL {
		cfg.ServerURLs = []string{baseURL}
	}
	if lock != nil {
		if err := lock.record(baseURL); err != nil {
			return err
		}
	}
	if opts.Dev {
		vars, err := writeDevEnv(ctx, layout, svc, secrets, baseURL, ownsDatabase(cfg, layout))
		if err != nil {
			return err
		}
		defer func() {
			if err := stoppedDevEnv(layout, vars); err != nil {
				logger.Error("remove the server's URL from dev.env", "err", err)
			}
		}()
		path := layout.DevEnv()
		fmt.Fprintf(opts.Stdout, "Development server: %s\nCredentials for the test tenant are in %s; load them with:\n  . %s\n", baseURL, path, path)
	}

	var m *metrics.Metrics
	if cfg.Metrics.Enabled {
		m = metrics.New()
		for _, d := range dirs {
			m.DirectoryConfigured(d.Tenant)
		}
	}
	upstreams := startUpstreams(ctx, cfg.OAuth, baseURL, logger)
	extra := []func(*http.ServeMux){health(st), newOAuthHandler(cfg, svc, logger, baseURL, m, upstreams).Register,
		apidocs.Routes(cfg.ServerURLs)}
	if cfg.Metrics.Enabled {
		registerCollectors(m, st, gen)
		if metricsLn != nil {
			serveMetrics(ctx, metricsLn, m, st, logger)
		} else {
			extra = append(extra, func(mux *http.ServeMux) { mux.Handle("GET /metrics", m.Handler()) })
		}
	}

	rec, stopAudit := startAudit(cfg.Audit, st, m, logger)
	defer stopAudit()

	v := version.Get()
	a := api.New(api.Options{
		Service: svc, Logger: logger,
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
	ln = limitConns(ln, cfg.Limits.MaxConnsPerAddr, m, logger)
	srv := &http.Server{
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
	return serve(ctx, srv, ln, tlsConfig != nil, cfg.Limits.ShutdownTimeout.Duration, logger, baseURL, opts.Ready)
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
