package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAuditDefaults(t *testing.T) {
	c := Default()
	if !c.Audit.Enabled || c.Audit.Retention.Duration != 2160*time.Hour {
		t.Fatalf("audit defaults: %+v, want enabled and 2160h", c.Audit)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if tmpl := Template(); !strings.Contains(tmpl, "[audit]\n") || !strings.Contains(tmpl, `retention = "2160h0m0s"`) {
		t.Fatalf("the template lacks the [audit] section:\n%s", tmpl)
	}
}

func TestAuditSettings(t *testing.T) {
	tests := []struct {
		env       []string
		enabled   bool
		retention time.Duration
	}{
		{[]string{"TMS_AUDIT_ENABLED=false"}, false, 2160 * time.Hour},
		{[]string{"TMS_AUDIT_RETENTION=0s"}, true, 0},
		{[]string{"TMS_AUDIT_RETENTION=720h"}, true, 720 * time.Hour},
	}
	for _, tc := range tests {
		cfg, src, err := Load("", false, tc.env)
		if err != nil {
			t.Fatalf("%v: load: %v", tc.env, err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%v: validate: %v", tc.env, err)
		}
		if cfg.Audit.Enabled != tc.enabled || cfg.Audit.Retention.Duration != tc.retention {
			t.Fatalf("%v: got %+v", tc.env, cfg.Audit)
		}
		key := strings.ToLower(strings.TrimPrefix(strings.Split(tc.env[0], "=")[0], "TMS_AUDIT_"))
		if got, want := src["audit."+key], "env "+strings.Split(tc.env[0], "=")[0]; got != want {
			t.Fatalf("%v: source of audit.%s is %q, want %q", tc.env, key, got, want)
		}
	}
}

func TestAuditValidation(t *testing.T) {
	tests := []struct {
		env  string
		want string
	}{
		{"TMS_AUDIT_RETENTION=-1h", "audit.retention: -1h0m0s must not be negative"},
		{"TMS_AUDIT_RETENTION=10m", "audit.retention: 10m0s must be at least 1h"},
		{"TMS_AUDIT_FAILURE_WINDOW=2h", "audit.failure_window: 2h0m0s must be from 0s to 1h0m0s"},
		{"TMS_AUDIT_FAILURE_WINDOW=-1s", "audit.failure_window: -1s must be from 0s to 1h0m0s"},
	}
	for _, tc := range tests {
		cfg, _, err := Load("", false, []string{tc.env})
		if err != nil {
			t.Fatalf("%s: load: %v", tc.env, err)
		}
		err = cfg.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Fatalf("%s: got %v, want an error starting %q", tc.env, err, tc.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("%s: one bad value gave several problems: %v", tc.env, err)
		}
	}
	for _, env := range []string{"TMS_AUDIT_RETENTION=90 days", "TMS_AUDIT_ENABLED=yes please"} {
		if _, _, err := Load("", false, []string{env}); err == nil || !strings.Contains(err.Error(), strings.Split(env, "=")[0]) {
			t.Fatalf("%s: got %v, want an error naming the variable", env, err)
		}
	}
	path := filepath.Join(t.TempDir(), "tms.toml")
	if err := os.WriteFile(path, []byte("[audit]\nretention = \"forever\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(path, true, nil); err == nil || !strings.Contains(err.Error(), "audit.retention") {
		t.Fatalf("bad retention in the file: got %v, want an error naming audit.retention", err)
	}
}
