package loadtest

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/loadtest/wiretest"
)

func TestPreflightExplainsFailures(t *testing.T) {
	tests := []struct {
		name      string
		opts      wiretest.Options
		scenarios []string
		adjust    func(t *testing.T, cfg *Config, srv *wiretest.Server)
		want      []string
	}{
		{
			name:      "server not running",
			scenarios: []string{"getversion"},
			adjust: func(t *testing.T, cfg *Config, _ *wiretest.Server) {
				cfg.Inputs.URL = "http://" + closedAddress(t)
			},
			want: []string{"preflight getversion", "connection refused", "tms server --dev"},
		},
		{
			name:      "wrong secret",
			scenarios: []string{"getclient"},
			adjust: func(_ *testing.T, cfg *Config, _ *wiretest.Server) {
				cfg.Inputs.ClientSecret = "not-the-secret"
			},
			want: []string{"refused the credentials", `"testclient1"`, "X_TMS_CLIENT_SECRET", "401"},
		},
		{
			name:      "tenant disabled",
			opts:      wiretest.Options{TenantDisabled: true},
			scenarios: []string{"createkey"},
			want:      []string{`tenant "test" is disabled or does not exist`, "Tenant not enabled.", "X_TMS_TENANT"},
		},
		{
			name:      "unknown fingerprint",
			scenarios: []string{"getkey"},
			adjust: func(_ *testing.T, cfg *Config, _ *wiretest.Server) {
				cfg.Inputs.Fingerprint = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
			},
			want: []string{"TMS_PUBKEY_FINGERPRINT SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s is not known", `"testhostaccount1"`, `"testhost1"`, "unset it"},
		},
		{
			name:      "missing delegation",
			opts:      wiretest.Options{RefuseKeys: true},
			scenarios: []string{"createkey"},
			want:      []string{"refuses to create a key", "Required delegation record not found", "MVP"},
		},
		{
			name:      "missing delegation while preparing getkey",
			opts:      wiretest.Options{RefuseKeys: true},
			scenarios: []string{"getkey"},
			want:      []string{"preflight getkey: TMS_PUBKEY_FINGERPRINT is not set and creating a key to retrieve failed", "Required delegation record not found"},
		},
		{
			name:      "overloaded",
			opts:      wiretest.Options{OverloadEvery: 1},
			scenarios: []string{"getversion"},
			want:      []string{"overloaded", "503", "Retry-After 1s"},
		},
		{
			name:      "URL with a path",
			scenarios: []string{"getversion"},
			adjust: func(_ *testing.T, cfg *Config, srv *wiretest.Server) {
				cfg.Inputs.URL = srv.URL + "/v1"
			},
			want: []string{"answers 404", "without /v1"},
		},
		{
			name:      "no answer",
			opts:      wiretest.Options{Latency: 5 * time.Second},
			scenarios: []string{"getversion"},
			adjust: func(_ *testing.T, cfg *Config, _ *wiretest.Server) {
				cfg.Timeout = 100 * time.Millisecond
			},
			want: []string{"no answer from", "before the timeout"},
		},
		{
			name:      "untrusted certificate",
			opts:      wiretest.Options{TLS: true},
			scenarios: []string{"getversion"},
			want:      []string{"TLS certificate is not trusted", "--cacert", "--insecure"},
		},
		{
			name:      "http to an https server",
			opts:      wiretest.Options{TLS: true},
			scenarios: []string{"getversion"},
			adjust: func(_ *testing.T, cfg *Config, srv *wiretest.Server) {
				cfg.Inputs.URL = strings.Replace(srv.URL, "https://", "http://", 1)
			},
			want: []string{"is an HTTPS server", "https://"},
		},
		{
			name:      "https to an http server",
			scenarios: []string{"getversion"},
			adjust: func(_ *testing.T, cfg *Config, srv *wiretest.Server) {
				cfg.Inputs.URL = strings.Replace(srv.URL, "http://", "https://", 1)
			},
			want: []string{"speaks plain HTTP", "http://"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := wiretest.Start(t, tt.opts)
			cfg := testConfig(srv.URL, tt.scenarios...)
			if tt.adjust != nil {
				tt.adjust(t, &cfg, srv)
			}
			rep, log, err := runTest(t, cfg)
			var pe *PreflightError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (report %v), want a preflight error\nlog:\n%s", err, rep != nil, log)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret1") || strings.Contains(err.Error(), "not-the-secret") {
				t.Errorf("message shows a secret: %q", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message spans lines: %q", err)
			}
		})
	}
}

func TestTrustOptions(t *testing.T) {
	srv := wiretest.Start(t, wiretest.Options{TLS: true})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, srv.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]TLSOptions{
		"cacert":   {CACertFile: caFile},
		"insecure": {Insecure: true},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(srv.URL, "getversion")
			cfg.TLS = opts
			rep, log, err := runTest(t, cfg)
			if err != nil || !rep.Passed {
				t.Fatalf("err = %v, report %+v\nlog:\n%s", err, rep, log)
			}
		})
	}
}

func TestBadCACertFile(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]string{"missing": filepath.Join(t.TempDir(), "none.pem"), "not PEM": notPEM} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig("https://127.0.0.1:1", "getversion")
			cfg.TLS.CACertFile = file
			_, _, err := runTest(t, cfg)
			var inputErr *InputError
			if !errors.As(err, &inputErr) || !strings.HasPrefix(err.Error(), "--cacert: ") {
				t.Errorf("err = %v, want an input error starting with --cacert", err)
			}
		})
	}
}

// closedAddress returns a loopback address nothing listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
