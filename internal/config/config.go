// Package config builds the one validated Config a TMS server runs with,
// from built-in defaults, the TOML file <root>/config/tms.toml, TMS_*
// environment variables and command-line flags, in that order of
// precedence, remembering where every value came from.
package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config is the complete server configuration. The top-level keys keep the
// names and meanings they have in tms_server 0.3.0.
type Config struct {
	// Title is informational; it appears in the API documentation.
	Title string `toml:"title" comment:"Informational name of this server."`
	// HTTPAddr decides the scheme: TLS when it starts with "https", plain
	// HTTP otherwise. Its host names the server in URLs and certificates.
	HTTPAddr string `toml:"http_addr" comment:"Scheme and public host name: \"https://host\" serves TLS, \"http://host\" plain HTTP."`
	// ListenHost is the interface address to listen on ("" or 0.0.0.0: all IPv4).
	ListenHost string `toml:"listen_host" comment:"Interface to listen on; 0.0.0.0 means all IPv4 interfaces, :: all interfaces."`
	// HTTPPort is the port to listen on.
	HTTPPort int `toml:"http_port" comment:"Port to listen on."`
	// EnableMVP makes key creation provision missing user MFA, delegation
	// and host mapping records.
	EnableMVP bool `toml:"enable_mvp" comment:"Create missing user MFA, delegation and host-mapping records when a client creates a key.\nAny authenticated client can then get keys for any account on any host: use with care."`
	// EnableTestTenant sets the enabled flag of the "test" tenant at start.
	EnableTestTenant bool `toml:"enable_test_tenant" comment:"Enable the \"test\" tenant (with the well-known client testclient1/secret1) at start; false disables it."`
	// NewClients is "allow" or "disallow" client registration.
	NewClients string `toml:"new_clients" comment:"\"allow\" lets tenant administrators register clients; \"disallow\" refuses registration."`
	// ServerURLs lists the base URLs shown in the API documentation.
	ServerURLs []string `toml:"server_urls" comment:"Base URLs listed as the servers of the API documentation; left at the default, the server lists its own URL.\nA trailing /v1 is dropped: the document's paths start with /v1."`

	Database Database `toml:"database" comment:"Storage. Without a url, TMS uses the embedded SQLite database <root>/database/tms.db."`
	Limits   Limits   `toml:"limits" comment:"Timeouts and capacity. Beyond these limits requests are refused quickly with 503 and Retry-After."`
	Keys     Keys     `toml:"keys" comment:"Key retrieval for sshd."`
	OAuth    OAuth    `toml:"oauth" comment:"End users' browser sign-in (password and TOTP) and \"tms login\" (OAuth 2.0 Device Authorization Grant)."`
	TLS      TLS      `toml:"tls" comment:"TLS, used when http_addr starts with https. Without files, a self-signed certificate is generated in <root>/certs."`
	Log      Log      `toml:"log" comment:"Logging to standard error."`
	Metrics  Metrics  `toml:"metrics" comment:"Prometheus metrics and health checks (/metrics, /healthz, /readyz)."`
	Audit    Audit    `toml:"audit" comment:"The audit log of security events."`
}

// Metrics configures the metrics endpoint.
type Metrics struct {
	Enabled bool   `toml:"enabled" comment:"Serve Prometheus metrics at /metrics."`
	Listen  string `toml:"listen" comment:"Separate plain-HTTP address for /metrics, /healthz and /readyz, e.g. \"127.0.0.1:9090\".\nEmpty: /metrics is on the API port only with token_file set (or with tms server --dev)."`
	// TokenFile holds the bearer token /metrics on the API port requires.
	TokenFile string `toml:"token_file" comment:"File holding a bearer token (one line, at least 32 characters); when set and listen is empty,\n/metrics on the API port answers only \"Authorization: Bearer <token>\"."`
}

// Database configures the store.
type Database struct {
	// URL selects PostgreSQL ("postgres://..."); empty means embedded SQLite.
	URL string `toml:"url" secret:"true" comment:"PostgreSQL connection URL, e.g. \"postgres://tms:PASSWORD@db.example.org:5432/tms\". Empty: embedded SQLite."`
	// SQLitePath overrides the SQLite file location.
	SQLitePath string `toml:"sqlite_path" comment:"SQLite database file; empty means <root>/database/tms.db."`
	// MaxConns is the PostgreSQL pool size or the number of SQLite readers.
	MaxConns int `toml:"max_conns" comment:"PostgreSQL connection pool size, or the number of SQLite read connections; 0 picks a size from the CPU count."`
	// AcquireTimeout bounds the wait for a pooled connection.
	AcquireTimeout Duration `toml:"acquire_timeout" comment:"Longest wait for a free database connection before answering 503."`
	// StatementTimeout bounds every statement.
	StatementTimeout Duration `toml:"statement_timeout" comment:"Longest time one database statement may run."`
	// WriteQueue bounds the SQLite writes waiting to be committed.
	WriteQueue int `toml:"write_queue" comment:"SQLite only: writes that may wait for the writer before new ones are refused with 503."`
}

// Limits configures timeouts and admission control.
type Limits struct {
	MaxInFlight       int      `toml:"max_in_flight" comment:"Requests served at once; more are refused with 503 and Retry-After."`
	RequestTimeout    Duration `toml:"request_timeout" comment:"Deadline of one request, database work included."`
	MaxBodyBytes      int64    `toml:"max_body_bytes" comment:"Largest accepted request body in bytes."`
	ReadHeaderTimeout Duration `toml:"read_header_timeout" comment:"Time allowed to read request headers."`
	ReadTimeout       Duration `toml:"read_timeout" comment:"Time allowed to read a whole request."`
	BodyTimeout       Duration `toml:"body_timeout" comment:"Time allowed to receive a request body, which is read before the request counts toward\nmax_in_flight; a slower body gets 408. At most read_timeout."`
	MaxConnsPerAddr   int      `toml:"max_conns_per_address" comment:"Open connections allowed from one client address (an IPv6 /64 counts as one);\nmore are closed at once. 0: no limit."`
	WriteTimeout      Duration `toml:"write_timeout" comment:"Time allowed to write a response."`
	IdleTimeout       Duration `toml:"idle_timeout" comment:"How long an idle keep-alive connection stays open."`
	ShutdownTimeout   Duration `toml:"shutdown_timeout" comment:"On SIGTERM, how long in-flight requests may take to finish."`
	KeygenWorkers     int      `toml:"keygen_workers" comment:"Concurrent ed25519/ECDSA key generations; 0 means one per CPU."`
	RSAWorkers        int      `toml:"rsa_workers" comment:"Concurrent RSA key generations (slow); 0 means half the CPUs. Beyond it: 503."`
	RetryAfter        Duration `toml:"retry_after" comment:"Retry-After sent with 503 answers."`
}

// Keys configures key retrieval.
type Keys struct {
	// Retrieval is "enforce" or "permissive".
	Retrieval string `toml:"retrieval" comment:"\"enforce\": a key is accepted only while unexpired, with uses left, and while its tenant, client,\nuser MFA, host mapping and delegation are valid. \"permissive\": any stored key is accepted (tms_server 0.3.0)."`
	// RepeatWindow is how long repeated lookups of one key count as one use.
	RepeatWindow Duration `toml:"repeat_window" comment:"Lookups of the same key for the same account and host within this window count as one use\n(sshd looks a key up twice per login). 0 counts every lookup."`
	// RequireHostCredential makes retrieval demand the login host's credential.
	RequireHostCredential bool `toml:"require_host_credential" comment:"Accept key lookups only from login hosts that send their host credential (X-TMS-HOST-ID and\nX-TMS-HOST-SECRET, created with \"tms hosts credentials create\"; host_secret_file in tms_keycmd.toml).\nOff by default: the Rust tms_keycmd sends no host credential."`
	// UnregisteredHosts is "refuse" or "any_tenant".
	UnregisteredHosts string `toml:"unregistered_hosts" comment:"A host registered in a tenant (it has a host credential there: \"tms hosts credentials create\") gets only\nthat tenant's keys. For a host no tenant registered: \"refuse\" refuses every key; \"any_tenant\" accepts keys\nof any tenant, as tms_server 0.3.0 does (tms server --dev sets it)."`
}

// TLS configures the certificate.
type TLS struct {
	CertFile   string `toml:"cert_file" comment:"PEM certificate chain; empty means <root>/certs/cert.pem."`
	KeyFile    string `toml:"key_file" comment:"PEM private key; empty means <root>/certs/key.pem."`
	MinVersion string `toml:"min_version" comment:"Lowest TLS version accepted: \"1.2\" or \"1.3\"."`
}

// Log configures logging.
type Log struct {
	Format string `toml:"format" comment:"\"text\" or \"json\"."`
	Level  string `toml:"level" comment:"\"debug\", \"info\", \"warn\" or \"error\"."`
}

// Default returns the built-in configuration.
func Default() Config {
	return Config{
		Title:            "TMS Server",
		HTTPAddr:         "https://localhost",
		ListenHost:       "0.0.0.0",
		HTTPPort:         3000,
		EnableMVP:        false,
		EnableTestTenant: false,
		NewClients:       "allow",
		ServerURLs:       []string{"https://localhost:3000/v1"},
		Database: Database{
			AcquireTimeout:   Duration{2 * time.Second},
			StatementTimeout: Duration{5 * time.Second},
			WriteQueue:       4096,
		},
		Limits: Limits{
			MaxInFlight:       1024,
			RequestTimeout:    Duration{15 * time.Second},
			MaxBodyBytes:      1 << 20,
			ReadHeaderTimeout: Duration{5 * time.Second},
			ReadTimeout:       Duration{30 * time.Second},
			BodyTimeout:       Duration{5 * time.Second},
			MaxConnsPerAddr:   256,
			WriteTimeout:      Duration{30 * time.Second},
			IdleTimeout:       Duration{2 * time.Minute},
			ShutdownTimeout:   Duration{30 * time.Second},
			RetryAfter:        Duration{time.Second},
		},
		Keys: Keys{
			Retrieval:         "enforce",
			RepeatWindow:      Duration{10 * time.Second},
			UnregisteredHosts: "refuse",
		},
		OAuth:   defaultOAuth(),
		TLS:     TLS{MinVersion: "1.2"},
		Log:     Log{Format: "text", Level: "info"},
		Metrics: Metrics{Enabled: true},
		Audit:   defaultAudit(),
	}
}

// TLSEnabled reports whether the server serves HTTPS.
func (c *Config) TLSEnabled() bool { return strings.HasPrefix(c.HTTPAddr, "https") }

// PublicHost returns the host part of http_addr.
func (c *Config) PublicHost() string {
	u, err := url.Parse(c.HTTPAddr)
	if err != nil || u.Hostname() == "" {
		return "localhost"
	}
	return u.Hostname()
}

// BaseURL returns the URL clients use to reach this server, without a
// trailing slash, e.g. "https://localhost:3000".
func (c *Config) BaseURL() string {
	scheme := "http"
	if c.TLSEnabled() {
		scheme = "https"
	}
	host := c.PublicHost()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("%s://%s:%d", scheme, host, c.HTTPPort)
}

// ListenAddr returns the address the server listens on.
func (c *Config) ListenAddr() string {
	host := c.ListenHost
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("%s:%d", host, c.HTTPPort)
}

// UsesPostgres reports whether the configured store is PostgreSQL.
func (c *Config) UsesPostgres() bool { return c.Database.URL != "" }

// Duration is a time.Duration written as a string such as "10s" or "1m30s".
type Duration struct{ time.Duration }

// UnmarshalText parses a duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%q is not a duration (examples: \"500ms\", \"10s\", \"2m\")", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText formats the duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }
