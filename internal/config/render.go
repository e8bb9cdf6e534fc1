package config

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// Template returns a commented tms.toml that sets every option to its
// default value.
func Template() string {
	c := Default()
	var b strings.Builder
	b.WriteString(`# TMS server configuration.
#
# Every option is shown with its default value. Each can also be set by an
# environment variable named TMS_ plus the key in upper case, with the section
# joined by "_" (for example TMS_HTTP_PORT, TMS_DATABASE_URL); environment
# variables override this file and command-line flags override both.
# "tms server --print-config" shows the effective values and their sources.
`)
	section := ""
	for _, f := range fields(&c) {
		if sec, _, ok := strings.Cut(f.key, "."); ok && sec != section {
			section = sec
			b.WriteString("\n")
			writeComment(&b, f.section)
			fmt.Fprintf(&b, "[%s]\n", sec)
		} else {
			b.WriteString("\n")
		}
		writeComment(&b, f.comment)
		name := f.key
		if i := strings.LastIndex(name, "."); i >= 0 {
			name = name[i+1:]
		}
		fmt.Fprintf(&b, "%s = %s\n", name, tomlValue(f.value))
	}
	b.WriteString(upstreamTemplate)
	b.WriteString(ldapTemplate())
	return b.String()
}

// upstreamTemplate is the commented example of the sign-in tables, which
// have no default.
const upstreamTemplate = `
# OpenID Connect providers through which a tenant's users sign in, one
# [[oauth.upstream]] table each (none by default). Register the redirect URI
# <public base URL>/v1/oauth2/upstream/<id>/callback at the provider;
# "tms server --print-config" shows it. The client secret comes from
# client_secret, client_secret_file or the environment variable
# TMS_OAUTH_UPSTREAM_<ID>_CLIENT_SECRET (ID in upper case, "-" as "_").
#
# [[oauth.upstream]]
# id = "campus"                     # [a-z0-9-]; appears in URLs
# tenant = "test"                   # whose users sign in here
# name = "Campus sign-in"           # the button's text
# issuer = "https://idp.example.org/realms/hpc"   # discovery: <issuer>/.well-known/openid-configuration
# client_id = "tms"
# client_secret_file = "/etc/tms/campus.secret"
# scopes = ["openid", "profile", "email"]
# username_claim = "preferred_username"
# mfa_amr = ["mfa", "otp", "hwk", "swk"]           # amr values that count as a second factor
# mfa_acr = []                                     # acr values that count (and are requested)
# local_totp = "when-no-mfa"        # "when-no-mfa" | "always" | "never"
# create_users = true

# Per-tenant sign-in settings (none by default). password_sign_in = false
# hides the password form of the tenant's sign-in page, leaving only the
# buttons of its upstream providers.
#
# [oauth.tenants.test]
# password_sign_in = false
`

func writeComment(b *strings.Builder, text string) {
	if text == "" {
		return
	}
	for line := range strings.SplitSeq(text, "\n") {
		b.WriteString("# " + line + "\n")
	}
}

func tomlValue(v reflect.Value) string {
	if d, ok := v.Interface().(Duration); ok {
		return strconv.Quote(d.String())
	}
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Int, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Slice:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = strconv.Quote(v.Index(i).String())
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return fmt.Sprint(v.Interface())
}

// Describe lists every effective value with its source, one per line, with
// secrets masked.
func Describe(c Config, src Sources) string {
	type line struct{ key, value, source string }
	var lines []line
	for _, f := range fields(&c) {
		value := tomlValue(f.value)
		if f.secret {
			value = strconv.Quote(mask(f.value.String()))
		}
		lines = append(lines, line{f.key, value, src[f.key]})
	}
	for i := range c.OAuth.Upstream {
		u := &c.OAuth.Upstream[i]
		key, from := u.key(i), src["oauth.upstream"]
		add := func(name string, v any) {
			lines = append(lines, line{key + "." + name, tomlValue(reflect.ValueOf(v)), from})
		}
		add("tenant", u.Tenant)
		add("name", u.Name)
		add("issuer", u.Issuer)
		add("client_id", u.ClientID)
		lines = append(lines, line{key + ".client_secret", `"********"`, u.secretSource})
		add("scopes", u.Scopes)
		add("username_claim", u.UsernameClaim)
		add("mfa_amr", u.MFAAMR)
		add("mfa_acr", u.MFAACR)
		add("local_totp", u.LocalTOTP)
		add("create_users", u.CreateUsers)
		lines = append(lines, line{key + ".redirect_uri", strconv.Quote(c.BaseURL() + UpstreamCallbackPath(u.ID)),
			"register this redirect URI at the provider"})
	}
	for _, name := range sortedKeys(c.OAuth.Tenants) {
		lines = append(lines, line{"oauth.tenants." + name + ".password_sign_in", strconv.FormatBool(c.OAuth.PasswordSignIn(name)),
			src["oauth.tenants"]})
	}
	for i := range c.OAuth.LDAP {
		for _, f := range ldapFields(&c.OAuth.LDAP[i]) {
			lines = append(lines, line{fmt.Sprintf("oauth.ldap[%d].%s", i, f.key), tomlValue(f.value), src["oauth.ldap"]})
		}
	}
	width := 0
	for _, l := range lines {
		width = max(width, len(l.key))
	}
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%-*s = %-40s # %s\n", width, l.key, l.value, l.source)
	}
	return b.String()
}

// mask hides the password of a URL, or the whole value if it is not a URL.
func mask(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return "********"
	}
	return u.Redacted()
}
