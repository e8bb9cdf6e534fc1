package config

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const ldapSection = `
[[oauth.ldap]]
id = "campus"
tenant = "test"
url = "ldaps://ldap.example.org:636"
bind_dn = "cn=tms,ou=services,dc=example,dc=org"
user_base = "ou=people,dc=example,dc=org"
`

func TestLDAPSection(t *testing.T) {
	path := writeFile(t, "[oauth]\nmfa_validity = \"12h\"\n"+ldapSection+`
[[oauth.ldap]]
id = "lab"
tenant = "lab"
url = "ldap://127.0.0.1:3389"
insecure_no_tls = true
user_base = "ou=people,dc=lab"
user_filter = "(&(objectClass=person)(mail={username}))"
username_attribute = "mail"
timeout = "3s"
max_connections = 2
`)
	cfg, src, err := Load(path, true, []string{"TMS_OAUTH_LDAP_CAMPUS_BIND_PASSWORD=do not show me"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(cfg.OAuth.LDAP) != 2 {
		t.Fatalf("sections: %+v", cfg.OAuth.LDAP)
	}
	campus, lab := cfg.OAuth.LDAP[0], cfg.OAuth.LDAP[1]
	// Left-out settings take their defaults.
	if campus.UserFilter != "(uid={username})" || campus.UsernameAttribute != "uid" || campus.Timeout.Duration != 10*time.Second ||
		campus.DialTimeout.Duration != 5*time.Second || campus.MaxConnections != 8 || campus.PasswordEnv() != "TMS_OAUTH_LDAP_CAMPUS_BIND_PASSWORD" {
		t.Fatalf("campus: %+v", campus)
	}
	if lab.UsernameAttribute != "mail" || lab.Timeout.Duration != 3*time.Second || lab.MaxConnections != 2 || !lab.InsecureNoTLS {
		t.Fatalf("lab: %+v", lab)
	}
	if cfg.OAuth.MFAValidity.Duration != 12*time.Hour || src["oauth.mfa_validity"] != "file "+path || src["oauth.ldap"] != "file "+path {
		t.Fatalf("oauth: %+v %v", cfg.OAuth, src)
	}
	desc := Describe(cfg, src)
	for _, want := range []string{`oauth.ldap[0].url = "ldaps://ldap.example.org:636" # file ` + path,
		`oauth.ldap[1].username_attribute = "mail"`, `oauth.ldap[0].bind_password_file = ""`} {
		if !strings.Contains(regexp.MustCompile(` +`).ReplaceAllString(desc, " "), want) {
			t.Errorf("--print-config lacks %s:\n%s", want, desc)
		}
	}
	if strings.Contains(desc, "do not show me") {
		t.Errorf("--print-config shows the search password:\n%s", desc)
	}
	// The tables are not environment variables, but the search passwords
	// are read from some.
	if _, ok := EnvVars()["oauth.ldap"]; ok {
		t.Error("oauth.ldap has an environment variable")
	}
	if !slices.Contains(EnvNames(cfg), "TMS_OAUTH_LDAP_LAB_BIND_PASSWORD") {
		t.Error("EnvNames lacks the search password variable of a directory")
	}
}

func TestLDAPUnknownKey(t *testing.T) {
	_, _, err := Load(writeFile(t, ldapSection+"bind_password = \"inline\"\n"), true, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown key "oauth.ldap.bind_password"`) || !strings.Contains(err.Error(), "line 8") {
		t.Fatalf("got %v, want the unknown key refused with its line", err)
	}
}

// TestLDAPTemplateExample: the example in the template works once
// uncommented.
func TestLDAPTemplateExample(t *testing.T) {
	tmpl := Template()
	start := strings.Index(tmpl, "# [[oauth.ldap]]\n")
	if start < 0 {
		t.Fatalf("the template has no [[oauth.ldap]] example:\n%s", tmpl)
	}
	var section strings.Builder
	for line := range strings.SplitSeq(tmpl[start:], "\n") {
		if !strings.HasPrefix(line, "# ") {
			break
		}
		section.WriteString(strings.TrimPrefix(line, "# ") + "\n")
	}
	cfg, _, err := Load(writeFile(t, section.String()), true, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, section.String())
	}
	if err := cfg.Validate(); err != nil || len(cfg.OAuth.LDAP) != 1 || cfg.OAuth.LDAP[0].ID != "campus" {
		t.Fatalf("%v %+v", err, cfg.OAuth.LDAP)
	}
}

func TestLDAPValidation(t *testing.T) {
	good := LDAP{ID: "campus", Tenant: "test", URL: "ldaps://ldap.example.org", BindDN: "cn=tms,dc=example,dc=org",
		BindPasswordFile: "/etc/tms/ldap.password", UserBase: "ou=people,dc=example,dc=org"}
	good.setDefaults()
	tests := []struct {
		key  string
		edit func(l *LDAP)
	}{
		{"oauth.ldap[0].id", func(l *LDAP) { l.ID = "" }},
		{"oauth.ldap[0].id", func(l *LDAP) { l.ID = "Campus LDAP" }},
		{"oauth.ldap[0].tenant", func(l *LDAP) { l.Tenant = "" }},
		{"oauth.ldap[0].url", func(l *LDAP) { l.URL = "" }},
		{"oauth.ldap[0].url", func(l *LDAP) { l.URL = "https://ldap.example.org" }},
		{"oauth.ldap[0].url", func(l *LDAP) { l.URL = "ldaps://ldap.example.org/dc=example,dc=org" }},
		{"oauth.ldap[0].url", func(l *LDAP) { l.URL = "ldaps://cn=admin:secret@ldap.example.org" }},
		{"oauth.ldap[0].insecure_no_tls", func(l *LDAP) { l.URL, l.InsecureNoTLS = "ldap://ldap.example.org", true }},
		{"oauth.ldap[0].insecure_no_tls", func(l *LDAP) { l.URL, l.InsecureNoTLS = "ldap://10.0.0.1", true }},
		{"oauth.ldap[0].insecure_no_tls", func(l *LDAP) { l.InsecureNoTLS = true }},
		{"oauth.ldap[0].bind_dn", func(l *LDAP) { l.BindDN = "tms" }},
		{"oauth.ldap[0].bind_dn", func(l *LDAP) { l.BindDN = "" }},
		{"oauth.ldap[0].user_base", func(l *LDAP) { l.UserBase = "" }},
		{"oauth.ldap[0].user_base", func(l *LDAP) { l.UserBase = "people" }},
		{"oauth.ldap[0].user_filter", func(l *LDAP) { l.UserFilter = "(uid=alice)" }},
		{"oauth.ldap[0].user_filter", func(l *LDAP) { l.UserFilter = "(uid={username}" }},
		{"oauth.ldap[0].username_attribute", func(l *LDAP) { l.UsernameAttribute = "uid)(x" }},
		{"oauth.ldap[0].timeout", func(l *LDAP) { l.Timeout.Duration = 0 }},
		{"oauth.ldap[0].dial_timeout", func(l *LDAP) { l.DialTimeout.Duration = time.Hour }},
		{"oauth.ldap[0].max_connections", func(l *LDAP) { l.MaxConnections = 0 }},
	}
	for _, tc := range tests {
		c := Default()
		l := good
		tc.edit(&l)
		c.OAuth.LDAP = []LDAP{l}
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.key+":") || strings.Count(err.Error(), "\n") != 0 {
			t.Errorf("%s: got %v, want one error naming the key", tc.key, err)
		}
	}
	for name, edit := range map[string]func(l *LDAP){
		"loopback without TLS":  func(l *LDAP) { l.URL, l.InsecureNoTLS = "ldap://127.0.0.1:3389", true },
		"localhost without TLS": func(l *LDAP) { l.URL, l.InsecureNoTLS = "ldap://localhost", true },
		"IPv6 loopback":         func(l *LDAP) { l.URL, l.InsecureNoTLS = "ldap://[::1]:3389", true },
		"StartTLS":              func(l *LDAP) { l.URL = "ldap://ldap.example.org" },
		"anonymous search":      func(l *LDAP) { l.BindDN, l.BindPasswordFile = "", "" },
		"password from the env": func(l *LDAP) { l.BindPasswordFile = "" },
	} {
		c := Default()
		l := good
		edit(&l)
		c.OAuth.LDAP = []LDAP{l}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	c := Default()
	other := good
	c.OAuth.LDAP = []LDAP{good, other}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "oauth.ldap[1].id") || !strings.Contains(err.Error(), "oauth.ldap[1].tenant") {
		t.Errorf("two sections for one tenant with one id: %v", err)
	}
}

// TestLDAPReadmeExample: the README's [[oauth.ldap]] example is a valid
// configuration.
func TestLDAPReadmeExample(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "### A directory (LDAP)")
	if start < 0 {
		t.Fatal("README.md has no section \"A directory (LDAP)\"")
	}
	block, ok := strings.CutPrefix(text[start+strings.Index(text[start:], "```toml\n"):], "```toml\n")
	if !ok {
		t.Fatal("the section has no toml example")
	}
	block = block[:strings.Index(block, "```")]
	cfg, _, err := Load(writeFile(t, block), true, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, block)
	}
	if err := cfg.Validate(); err != nil || len(cfg.OAuth.LDAP) != 1 || cfg.OAuth.LDAP[0].PasswordEnv() != "TMS_OAUTH_LDAP_CAMPUS_BIND_PASSWORD" {
		t.Fatalf("%v %+v", err, cfg.OAuth.LDAP)
	}
}
