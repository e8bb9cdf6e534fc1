package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const campusUpstream = `
[[oauth.upstream]]
id = "campus"
tenant = "test"
name = "Campus sign-in"
issuer = "https://idp.example.org/realms/hpc"
client_id = "tms"
client_secret_file = "SECRETFILE"
scopes = ["openid", "profile", "email"]
username_claim = "preferred_username"
mfa_amr = ["mfa", "otp", "hwk", "swk"]
mfa_acr = []
local_totp = "when-no-mfa"
create_users = true
`

func secretFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "campus.secret")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUpstreamConfig(t *testing.T) {
	secret := secretFile(t, "s3cret-value\n")
	path := writeFile(t, "http_addr = \"https://tms.example.org\"\n"+strings.ReplaceAll(campusUpstream, "SECRETFILE", secret)+
		"\n[[oauth.upstream]]\nid = \"lab-2\"\ntenant = \"lab\"\nname = \"Lab\"\nissuer = \"http://127.0.0.1:9999\"\nclient_id = \"c\"\n"+
		"\n[oauth.tenants.lab]\npassword_sign_in = false\n")
	cfg, src, err := Load(path, true, []string{"TMS_OAUTH_UPSTREAM_LAB_2_CLIENT_SECRET=from-env"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("valid upstreams refused: %v", err)
	}
	campus, lab := cfg.OAuth.Upstream[0], cfg.OAuth.Upstream[1]
	if campus.Secret() != "s3cret-value" || lab.Secret() != "from-env" || !campus.CreateUsers || lab.CreateUsers {
		t.Fatalf("secrets: %q %q; %+v", campus.Secret(), lab.Secret(), cfg.OAuth.Upstream)
	}
	// Defaults of the optional fields.
	if lab.UsernameClaim != "preferred_username" || lab.LocalTOTP != LocalTOTPWhenNoMFA || len(lab.Scopes) != 3 || len(lab.MFAAMR) != 4 {
		t.Fatalf("defaults: %+v", lab)
	}
	if cfg.OAuth.PasswordSignIn("lab") || !cfg.OAuth.PasswordSignIn("test") {
		t.Fatal("password_sign_in per tenant")
	}
	out := Describe(cfg, src)
	for _, want := range []string{
		`oauth.upstream[campus].redirect_uri`, `"https://tms.example.org:3000/v1/oauth2/upstream/campus/callback"`,
		`"https://tms.example.org:3000/v1/oauth2/upstream/lab-2/callback"`, "register this redirect URI at the provider",
		`oauth.upstream[campus].client_secret`, "file " + secret, "env TMS_OAUTH_UPSTREAM_LAB_2_CLIENT_SECRET",
		`oauth.tenants.lab.password_sign_in`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("print-config lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cret-value") || strings.Contains(out, "from-env") {
		t.Fatalf("print-config shows a client secret:\n%s", out)
	}
}

func TestUpstreamConfigErrors(t *testing.T) {
	secret := secretFile(t, "s3cret")
	base := strings.ReplaceAll(campusUpstream, "SECRETFILE", secret)
	tests := []struct {
		name, edit, want string
		env              []string
	}{
		{"id", `id = "Campus!"`, `oauth.upstream[#1].id: "Campus!" must be`, nil},
		{"missing id", `id = ""`, "oauth.upstream[#1].id: required", nil},
		{"tenant", `tenant = "a b"`, `oauth.upstream[campus].tenant: "a b" is not a tenant name`, nil},
		{"name", `name = ""`, "oauth.upstream[campus].name: required", nil},
		{"issuer http", `issuer = "http://idp.example.org"`, `oauth.upstream[campus].issuer: "http://idp.example.org" must be an https:// URL`, nil},
		{"issuer query", `issuer = "https://idp.example.org/?x=1"`, "oauth.upstream[campus].issuer:", nil},
		{"client id", `client_id = ""`, "oauth.upstream[campus].client_id: required", nil},
		{"scopes", `scopes = ["profile"]`, `oauth.upstream[campus].scopes: ["profile"] must include "openid"`, nil},
		{"claim", `username_claim = "a b"`, `oauth.upstream[campus].username_claim: "a b" is not a claim name`, nil},
		{"amr", `mfa_amr = [""]`, `oauth.upstream[campus].mfa_amr: "" is not a value`, nil},
		{"local totp", `local_totp = "sometimes"`, `oauth.upstream[campus].local_totp: "sometimes" is not one of`, nil},
		{"no secret", `client_secret_file = ""`, "oauth.upstream[campus].client_secret: required: set client_secret, client_secret_file or the environment variable TMS_OAUTH_UPSTREAM_CAMPUS_CLIENT_SECRET", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			field, _, _ := strings.Cut(tc.edit, " = ")
			var lines []string
			for _, l := range strings.Split(base, "\n") {
				if strings.HasPrefix(l, field+" = ") {
					l = tc.edit
				}
				lines = append(lines, l)
			}
			cfg, _, err := Load(writeFile(t, strings.Join(lines, "\n")), true, tc.env)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			err = cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.Count(err.Error(), "\n") != 0 {
				t.Fatalf("one bad value gave several problems: %v", err)
			}
		})
	}
	loadErrors := []struct {
		name, body, want string
		env              []string
	}{
		{"secret twice", base + "client_secret = \"x\"\n", "oauth.upstream[campus]: the client secret is given 2 times", nil},
		{"secret file and env", base, "given 2 times", []string{"TMS_OAUTH_UPSTREAM_CAMPUS_CLIENT_SECRET=x"}},
		{"missing secret file", strings.ReplaceAll(base, secret, "/nonexistent/campus.secret"), "oauth.upstream[campus].client_secret_file: open /nonexistent/campus.secret", nil},
		{"empty secret file", strings.ReplaceAll(base, secret, secretFile(t, "\n")), "oauth.upstream[campus]: the client secret from oauth.upstream[campus].client_secret_file is empty", nil},
		{"unknown key", base + "client_secert = \"x\"\n", `unknown key "oauth.upstream.client_secert"`, nil},
	}
	for _, tc := range loadErrors {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(writeFile(t, tc.body), true, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}

	// Two upstreams with one id, and a tenant left without a way in.
	cfg, _, err := Load(writeFile(t, base+base+"\n[oauth.tenants.other]\npassword_sign_in = false\n"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	for _, want := range []string{`oauth.upstream[campus].id: "campus" is used by another`,
		"oauth.tenants.other.password_sign_in: false leaves tenant other no way to sign in"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want an error containing %q", err, want)
		}
	}
}

func TestTemplateShowsUpstreamExample(t *testing.T) {
	tmpl := Template()
	if !strings.Contains(tmpl, "# [[oauth.upstream]]\n") || !strings.Contains(tmpl, "# [oauth.tenants.test]\n") {
		t.Fatalf("the template lacks the upstream example:\n%s", tmpl)
	}
	// Uncommented, the example is a valid configuration.
	var b strings.Builder
	setting := regexp.MustCompile(`^# (\[.*\]$|[a-z_]+ = )`)
	for _, l := range strings.Split(tmpl, "\n") {
		if setting.MatchString(l) {
			l = strings.TrimPrefix(l, "# ")
		}
		b.WriteString(l + "\n")
	}
	body := strings.ReplaceAll(b.String(), "/etc/tms/campus.secret", secretFile(t, "x"))
	cfg, _, err := Load(writeFile(t, body), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil || len(cfg.OAuth.Upstream) != 1 || cfg.OAuth.PasswordSignIn("test") {
		t.Fatalf("the uncommented example: %v %+v", err, cfg.OAuth)
	}
}

// TestUpstreamReadmeExample: the README's [[oauth.upstream]] example is a
// valid configuration, with its redirect URI as the README says.
func TestUpstreamReadmeExample(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "### An OpenID Connect provider")
	if start < 0 {
		t.Fatal("README.md has no section \"An OpenID Connect provider\"")
	}
	block, ok := strings.CutPrefix(text[start+strings.Index(text[start:], "```toml\n"):], "```toml\n")
	if !ok {
		t.Fatal("the section has no toml example")
	}
	block = block[:strings.Index(block, "```")]
	block = strings.ReplaceAll(block, "/etc/tms/campus.secret", secretFile(t, "s3cret"))
	cfg, src, err := Load(writeFile(t, "http_addr = \"https://tms.example.org\"\n"+block), true, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, block)
	}
	if err := cfg.Validate(); err != nil || len(cfg.OAuth.Upstream) != 1 || cfg.OAuth.PasswordSignIn("test") {
		t.Fatalf("%v %+v", err, cfg.OAuth)
	}
	if want := "https://tms.example.org:3000/v1/oauth2/upstream/campus/callback"; !strings.Contains(text, want) ||
		!strings.Contains(Describe(cfg, src), want) {
		t.Fatalf("the README's redirect URI %s is not the one --print-config shows", want)
	}
}
