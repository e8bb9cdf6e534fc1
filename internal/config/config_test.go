package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tms.toml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTemplateParsesToDefaults(t *testing.T) {
	path := writeFile(t, Template())
	cfg, src, err := Load(path, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Fatalf("template does not parse to the defaults:\ngot  %+v\nwant %+v", cfg, Default())
	}
	for key, s := range src {
		if s != "file "+path {
			t.Errorf("%s: source %q, want the file", key, s)
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.toml")
	cfg, src, err := Load(path, false, nil)
	if err != nil || cfg.HTTPPort != 3000 || src["http_port"] != "default" {
		t.Fatalf("missing optional file: %v %+v", err, src)
	}
	if _, _, err := Load(path, true, nil); err == nil {
		t.Fatal("missing required file accepted")
	}
}

func TestFileErrors(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"unknown top-level key", "http_prot = 3001\n", []string{"line 1", `unknown key "http_prot"`, "tms.toml"}},
		{"unknown section key", "[database]\nurll = \"x\"\n", []string{"line 2", `unknown key "database.urll"`}},
		{"unknown section", "[datbase]\nurl = \"x\"\n", []string{`unknown key "datbase`}},
		{"wrong type", "http_port = \"abc\"\n", []string{"line 1", "http_port"}},
		{"bad duration", "[limits]\nrequest_timeout = \"fast\"\n", []string{"line 2", "not a duration"}},
		{"syntax", "http_port = \n", []string{"line 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(writeFile(t, tc.body), true, nil)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	path := writeFile(t, "http_port = 4000\nenable_mvp = true\n[keys]\nrepeat_window = \"3s\"\n")
	env := []string{"TMS_HTTP_PORT=5000", "TMS_DATABASE_URL=postgres://tms:pw@db/tms", "TMS_SERVER_URLS=https://a/v1, https://b/v1", "UNRELATED=1"}
	cfg, src, err := Load(path, true, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Set(src, "http_port", "6000", "flag --http-port"); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key, source string
		got, want   any
	}{
		{"http_port", "flag --http-port", cfg.HTTPPort, 6000},
		{"enable_mvp", "file " + path, cfg.EnableMVP, true},
		{"keys.repeat_window", "file " + path, cfg.Keys.RepeatWindow.Duration, 3 * time.Second},
		{"database.url", "env TMS_DATABASE_URL", cfg.Database.URL, "postgres://tms:pw@db/tms"},
		{"server_urls", "env TMS_SERVER_URLS", cfg.ServerURLs, []string{"https://a/v1", "https://b/v1"}},
		{"title", "default", cfg.Title, "TMS Server"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.key, c.got, c.want)
		}
		if src[c.key] != c.source {
			t.Errorf("%s source %q, want %q", c.key, src[c.key], c.source)
		}
	}
	desc := Describe(cfg, src)
	if strings.Contains(desc, "pw@") || !strings.Contains(desc, "env TMS_DATABASE_URL") {
		t.Errorf("Describe leaks the password or misses the source:\n%s", desc)
	}
}

func TestEnvErrors(t *testing.T) {
	tests := []struct{ env, want string }{
		{"TMS_HTTP_PORT=eighty", "TMS_HTTP_PORT"},
		{"TMS_ENABLE_MVP=yes please", "TMS_ENABLE_MVP"},
		{"TMS_LIMITS_REQUEST_TIMEOUT=10", "TMS_LIMITS_REQUEST_TIMEOUT"},
	}
	for _, tc := range tests {
		_, _, err := Load("", false, []string{tc.env})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %s", tc.env, err, tc.want)
		}
	}
	cfg := Default()
	if err := cfg.Set(Sources{}, "no_such_key", "1", "flag --x"); err == nil {
		t.Error("Set accepted an unknown key")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		key  string
		edit func(c *Config)
	}{
		{"http_port", func(c *Config) { c.HTTPPort = 0 }},
		{"http_port", func(c *Config) { c.HTTPPort = 70000 }},
		{"http_addr", func(c *Config) { c.HTTPAddr = "localhost" }},
		{"new_clients", func(c *Config) { c.NewClients = "on_approval" }},
		{"new_clients", func(c *Config) { c.NewClients = "sometimes" }},
		{"server_urls", func(c *Config) { c.ServerURLs = []string{"/v1"} }},
		{"database.url", func(c *Config) { c.Database.URL = "mysql://x" }},
		{"database.max_conns", func(c *Config) { c.Database.MaxConns = -1 }},
		{"database.write_queue", func(c *Config) { c.Database.WriteQueue = 0 }},
		{"database.acquire_timeout", func(c *Config) { c.Database.AcquireTimeout.Duration = 0 }},
		{"limits.request_timeout", func(c *Config) { c.Limits.RequestTimeout.Duration = -time.Second }},
		{"limits.max_in_flight", func(c *Config) { c.Limits.MaxInFlight = 0 }},
		{"limits.body_timeout", func(c *Config) { c.Limits.BodyTimeout.Duration = 0 }},
		{"limits.body_timeout", func(c *Config) { c.Limits.BodyTimeout.Duration = time.Hour }},
		{"limits.max_conns_per_address", func(c *Config) { c.Limits.MaxConnsPerAddr = -1 }},
		{"limits.max_body_bytes", func(c *Config) { c.Limits.MaxBodyBytes = 10 }},
		{"limits.rsa_workers", func(c *Config) { c.Limits.RSAWorkers = -2 }},
		{"keys.retrieval", func(c *Config) { c.Keys.Retrieval = "strict" }},
		{"keys.unregistered_hosts", func(c *Config) { c.Keys.UnregisteredHosts = "allow" }},
		{"keys.repeat_window", func(c *Config) { c.Keys.RepeatWindow.Duration = -time.Second }},
		{"tls.min_version", func(c *Config) { c.TLS.MinVersion = "1.0" }},
		{"tls.cert_file", func(c *Config) { c.TLS.CertFile = "/x.pem" }},
		{"log.format", func(c *Config) { c.Log.Format = "xml" }},
		{"log.level", func(c *Config) { c.Log.Level = "loud" }},
	}
	for _, tc := range tests {
		c := Default()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.key+":") {
			t.Errorf("%s: got %v, want an error naming the key", tc.key, err)
		}
	}
	c := Default()
	c.HTTPPort, c.Log.Level = 0, "x"
	if err := c.Validate(); err == nil || strings.Count(err.Error(), "\n") != 1 {
		t.Errorf("Validate does not report every problem: %v", err)
	}
}

func TestAddresses(t *testing.T) {
	c := Default()
	if c.BaseURL() != "https://localhost:3000" || c.ListenAddr() != "0.0.0.0:3000" || !c.TLSEnabled() {
		t.Fatalf("defaults: %s %s", c.BaseURL(), c.ListenAddr())
	}
	c.HTTPAddr, c.ListenHost, c.HTTPPort = "http://tms.example.org", "::1", 8080
	if c.BaseURL() != "http://tms.example.org:8080" || c.ListenAddr() != "[::1]:8080" || c.TLSEnabled() {
		t.Fatalf("custom: %s %s", c.BaseURL(), c.ListenAddr())
	}
}
