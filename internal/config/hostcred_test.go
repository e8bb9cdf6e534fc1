package config

import (
	"strings"
	"testing"
)

func TestRequireHostCredential(t *testing.T) {
	if Default().Keys.RequireHostCredential {
		t.Fatal("require_host_credential is on by default; the Rust tms_keycmd sends no host credential")
	}
	if !strings.Contains(Template(), "\nrequire_host_credential = false\n") || !strings.Contains(Template(), "X-TMS-HOST-SECRET") {
		t.Errorf("the tms.toml template does not describe require_host_credential:\n%s", Template())
	}

	tests := []struct {
		name, file string
		env        []string
		want       bool
		source     string
	}{
		{"file", "[keys]\nrequire_host_credential = true\n", nil, true, "file "},
		{"environment over file", "[keys]\nrequire_host_credential = true\n", []string{"TMS_KEYS_REQUIRE_HOST_CREDENTIAL=false"}, false,
			"env TMS_KEYS_REQUIRE_HOST_CREDENTIAL"},
		{"environment", "", []string{"TMS_KEYS_REQUIRE_HOST_CREDENTIAL=true"}, true, "env TMS_KEYS_REQUIRE_HOST_CREDENTIAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, src, err := Load(writeFile(t, tt.file), true, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Keys.RequireHostCredential != tt.want || !strings.HasPrefix(src["keys.require_host_credential"], tt.source) {
				t.Fatalf("require_host_credential = %v from %q, want %v from %q", cfg.Keys.RequireHostCredential,
					src["keys.require_host_credential"], tt.want, tt.source)
			}
		})
	}

	bad := []struct {
		name, file string
		env        []string
		want       []string
	}{
		{"string in file", "[keys]\nrequire_host_credential = \"yes\"\n", nil, []string{"line 2", "keys.require_host_credential"}},
		{"bad environment value", "", []string{"TMS_KEYS_REQUIRE_HOST_CREDENTIAL=maybe"},
			[]string{"TMS_KEYS_REQUIRE_HOST_CREDENTIAL", `"maybe" is not a boolean`}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load(writeFile(t, tt.file), true, tt.env)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
