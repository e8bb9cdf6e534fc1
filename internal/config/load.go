package config

import (
	"encoding"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Sources records where each configuration value came from, by key
// ("http_port", "database.url", ...): "default", "file PATH", "env NAME",
// "flag --NAME" or "--dev".
type Sources map[string]string

// field is one configurable value found by walking Config.
type field struct {
	key     string // dotted TOML key
	env     string // environment variable
	value   reflect.Value
	secret  bool
	comment string
	section string // comment of the section, set on its first field
}

// fields lists every configurable value of c in declaration order.
func fields(c *Config) []field {
	var out []field
	var walk func(v reflect.Value, prefix, sectionComment string)
	walk = func(v reflect.Value, prefix, sectionComment string) {
		t := v.Type()
		first := true
		for i := range t.NumField() {
			sf := t.Field(i)
			name := sf.Tag.Get("toml")
			if name == "" || sf.Tag.Get("tables") == "true" {
				continue // tables such as [[oauth.upstream]] are read from the file only
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeFor[Duration]() {
				walk(fv, prefix+name+".", sf.Tag.Get("comment"))
				continue
			}
			key := prefix + name
			f := field{
				key:     key,
				env:     "TMS_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_")),
				value:   fv,
				secret:  sf.Tag.Get("secret") == "true",
				comment: sf.Tag.Get("comment"),
			}
			if first && prefix != "" {
				f.section = sectionComment
			}
			first = false
			out = append(out, f)
		}
	}
	walk(reflect.ValueOf(c).Elem(), "", "")
	return out
}

// EnvVars returns every configuration key with its environment variable.
func EnvVars() map[string]string {
	c := Default()
	out := map[string]string{}
	for _, f := range fields(&c) {
		out[f.key] = f.env
	}
	return out
}

// EnvNames returns every environment variable that Load reads for c: one
// per configuration key, the client secret of each upstream provider and
// the search password of each directory.
func EnvNames(c Config) []string {
	var out []string
	for _, f := range fields(&c) {
		out = append(out, f.env)
	}
	for i := range c.OAuth.Upstream {
		out = append(out, c.OAuth.Upstream[i].SecretEnv())
	}
	for _, l := range c.OAuth.LDAP {
		out = append(out, l.PasswordEnv())
	}
	return out
}

// Load builds a configuration from the defaults, then the TOML file at path
// (skipped when it does not exist and required is false), then the TMS_*
// variables in env (as from os.Environ). It does not validate; call Validate.
func Load(path string, required bool, env []string) (Config, Sources, error) {
	cfg := Default()
	src := Sources{}
	for _, f := range fields(&cfg) {
		src[f.key] = "default"
	}
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			if err := decodeFile(path, data, &cfg, src); err != nil {
				return Config{}, nil, err
			}
		case errors.Is(err, os.ErrNotExist) && !required:
		default:
			return Config{}, nil, fmt.Errorf("read config file: %w", err)
		}
	}
	vars := envVars(env)
	if err := applyEnv(&cfg, src, vars); err != nil {
		return Config{}, nil, err
	}
	for i := range cfg.OAuth.Upstream {
		cfg.OAuth.Upstream[i].applyDefaults()
	}
	for i := range cfg.OAuth.LDAP {
		cfg.OAuth.LDAP[i].setDefaults()
	}
	if err := loadUpstreamSecrets(&cfg.OAuth, vars); err != nil {
		return Config{}, nil, err
	}
	return cfg, src, nil
}

// envVars maps the names of the variables in env (as from os.Environ) to
// their values.
func envVars(env []string) map[string]string {
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return vars
}

func decodeFile(path string, data []byte, cfg *Config, src Sources) error {
	dec := toml.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			var msgs []string
			for _, e := range strict.Errors {
				row, _ := e.Position()
				msgs = append(msgs, fmt.Sprintf("config file %s, line %d: unknown key %q", path, row, strings.Join(e.Key(), ".")))
			}
			return errors.New(strings.Join(msgs, "; ") + " (\"tms server --print-config\" lists the valid keys)")
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, _ := de.Position()
			key := strings.Join(de.Key(), ".")
			if key != "" {
				return fmt.Errorf("config file %s, line %d: key %q: %s", path, row, key, de.Error())
			}
			return fmt.Errorf("config file %s, line %d: %s", path, row, de.Error())
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	var present map[string]any
	if err := toml.Unmarshal(data, &present); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	for _, f := range fields(cfg) {
		if lookup(present, strings.Split(f.key, ".")) {
			src[f.key] = "file " + path
		}
	}
	for _, key := range []string{"oauth.upstream", "oauth.tenants", "oauth.ldap"} {
		if lookup(present, strings.Split(key, ".")) {
			src[key] = "file " + path
		}
	}
	return nil
}

func lookup(m map[string]any, path []string) bool {
	v, ok := m[path[0]]
	if !ok {
		return false
	}
	if len(path) == 1 {
		return true
	}
	sub, ok := v.(map[string]any)
	return ok && lookup(sub, path[1:])
}

func applyEnv(cfg *Config, src Sources, vars map[string]string) error {
	var errs []error
	for _, f := range fields(cfg) {
		v, ok := vars[f.env]
		if !ok {
			continue
		}
		if err := setValue(f.value, v); err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s: %w", f.env, err))
			continue
		}
		src[f.key] = "env " + f.env
	}
	return errors.Join(errs...)
}

// Set assigns the value written as text to key and records source. It is
// how command-line flags override the file and environment.
func (c *Config) Set(src Sources, key, value, source string) error {
	for _, f := range fields(c) {
		if f.key == key {
			if err := setValue(f.value, value); err != nil {
				return fmt.Errorf("%s: %w", source, err)
			}
			src[key] = source
			return nil
		}
	}
	return fmt.Errorf("%s: unknown configuration key %q", source, key)
}

func setValue(v reflect.Value, text string) error {
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(text))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", text)
		}
		v.SetInt(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			return fmt.Errorf("%q is not a boolean (use true or false)", text)
		}
		v.SetBool(b)
	case reflect.Slice:
		var items []string
		for s := range strings.SplitSeq(text, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		v.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported kind %s", v.Kind())
	}
	return nil
}

// Validate reports every problem of the configuration at once, each naming
// its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.HTTPPort < 1 || c.HTTPPort > 65535 {
		bad("http_port", "%d is not a port number (1-65535)", c.HTTPPort)
	}
	if u, err := url.Parse(c.HTTPAddr); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("http_addr", "%q must look like https://HOST or http://HOST", c.HTTPAddr)
	}
	switch c.NewClients {
	case "allow", "disallow":
	case "on_approval":
		bad("new_clients", `"on_approval" is not implemented; use "allow" or "disallow"`)
	default:
		bad("new_clients", `%q is not one of "allow", "disallow"`, c.NewClients)
	}
	for _, u := range c.ServerURLs {
		if pu, err := url.Parse(u); err != nil || pu.Scheme == "" || pu.Host == "" {
			bad("server_urls", "%q is not an absolute URL", u)
		}
	}
	if c.Database.URL != "" {
		u, err := url.Parse(c.Database.URL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("database.url", "must be a postgres:// or postgresql:// URL")
		}
	}
	if c.Database.MaxConns < 0 {
		bad("database.max_conns", "%d must not be negative", c.Database.MaxConns)
	}
	if c.Database.WriteQueue < 1 {
		bad("database.write_queue", "%d must be at least 1", c.Database.WriteQueue)
	}
	positive := map[string]Duration{
		"database.acquire_timeout":   c.Database.AcquireTimeout,
		"database.statement_timeout": c.Database.StatementTimeout,
		"limits.request_timeout":     c.Limits.RequestTimeout,
		"limits.read_header_timeout": c.Limits.ReadHeaderTimeout,
		"limits.read_timeout":        c.Limits.ReadTimeout,
		"limits.body_timeout":        c.Limits.BodyTimeout,
		"limits.write_timeout":       c.Limits.WriteTimeout,
		"limits.idle_timeout":        c.Limits.IdleTimeout,
		"limits.shutdown_timeout":    c.Limits.ShutdownTimeout,
		"limits.retry_after":         c.Limits.RetryAfter,
	}
	for _, key := range sortedKeys(positive) {
		if positive[key].Duration <= 0 {
			bad(key, "%s must be positive", positive[key].Duration)
		}
	}
	if c.Limits.BodyTimeout.Duration > c.Limits.ReadTimeout.Duration {
		bad("limits.body_timeout", "%s must not exceed limits.read_timeout (%s)", c.Limits.BodyTimeout.Duration, c.Limits.ReadTimeout.Duration)
	}
	if c.Limits.MaxConnsPerAddr < 0 {
		bad("limits.max_conns_per_address", "%d must not be negative", c.Limits.MaxConnsPerAddr)
	}
	if c.Limits.MaxInFlight < 1 {
		bad("limits.max_in_flight", "%d must be at least 1", c.Limits.MaxInFlight)
	}
	if c.Limits.MaxBodyBytes < 1024 {
		bad("limits.max_body_bytes", "%d must be at least 1024", c.Limits.MaxBodyBytes)
	}
	if c.Limits.KeygenWorkers < 0 {
		bad("limits.keygen_workers", "%d must not be negative", c.Limits.KeygenWorkers)
	}
	if c.Limits.RSAWorkers < 0 {
		bad("limits.rsa_workers", "%d must not be negative", c.Limits.RSAWorkers)
	}
	switch c.Keys.Retrieval {
	case "enforce", "permissive":
	default:
		bad("keys.retrieval", `%q is not one of "enforce", "permissive"`, c.Keys.Retrieval)
	}
	switch c.Keys.UnregisteredHosts {
	case "refuse", "any_tenant":
	default:
		bad("keys.unregistered_hosts", `%q is not one of "refuse", "any_tenant"`, c.Keys.UnregisteredHosts)
	}
	if c.Keys.RepeatWindow.Duration < 0 {
		bad("keys.repeat_window", "%s must not be negative", c.Keys.RepeatWindow.Duration)
	}
	c.OAuth.validate(bad)
	c.Audit.validate(bad)
	switch c.TLS.MinVersion {
	case "1.2", "1.3":
	default:
		bad("tls.min_version", `%q is not one of "1.2", "1.3"`, c.TLS.MinVersion)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls.cert_file", "tls.cert_file and tls.key_file must be set together")
	}
	if c.Metrics.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Metrics.Listen); err != nil || port == "" {
			bad("metrics.listen", "%q is not a host:port address", c.Metrics.Listen)
		}
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", `%q is not one of "text", "json"`, c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", `%q is not one of "debug", "info", "warn", "error"`, c.Log.Level)
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
