package config

import (
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAP is one [[oauth.ldap]] section: the directory whose passwords the
// sign-in page of a tenant checks instead of TMS passwords.
type LDAP struct {
	ID                string   `toml:"id" comment:"Short name of the directory: 1-32 of a-z, 0-9 and \"-\". Users created at their first sign-in\nremember it (origin \"ldap:<id>\" in \"tms users list\")."`
	Tenant            string   `toml:"tenant" comment:"The tenant whose users sign in with their directory password; at most one directory per tenant."`
	URL               string   `toml:"url" comment:"\"ldaps://HOST[:PORT]\" (TLS from the start) or \"ldap://HOST[:PORT]\" (upgraded with StartTLS;\nTMS refuses to go on without TLS)."`
	CAFile            string   `toml:"ca_file" comment:"PEM file of the CAs that sign the directory's certificate; empty means the system's CAs."`
	InsecureNoTLS     bool     `toml:"insecure_no_tls" comment:"Send passwords over ldap:// without TLS. Allowed only for a directory on the loopback\ninterface (127.0.0.1, ::1, localhost), e.g. a local proxy or a test."`
	BindDN            string   `toml:"bind_dn" comment:"The search account TMS binds as to find users; empty searches anonymously."`
	BindPasswordFile  string   `toml:"bind_password_file" comment:"File holding the search account's password (one line), readable only by the server's user. Without it\nthe password comes from the environment variable TMS_OAUTH_LDAP_<ID>_BIND_PASSWORD (ID in upper case, \"-\" as \"_\")."`
	UserBase          string   `toml:"user_base" comment:"The subtree searched for users, e.g. \"ou=people,dc=example,dc=org\"."`
	UserFilter        string   `toml:"user_filter" comment:"The filter that finds the one entry of a user; {username} stands for the typed username,\nescaped as RFC 4515 asks."`
	UsernameAttribute string   `toml:"username_attribute" comment:"The attribute of the entry that is the user's TMS username."`
	DialTimeout       Duration `toml:"dial_timeout" comment:"Longest time to connect to the directory, TLS included."`
	Timeout           Duration `toml:"timeout" comment:"Longest time one password check may take; then the sign-in page says the directory is unavailable."`
	MaxConnections    int      `toml:"max_connections" comment:"Password checks that may run at once (each on a connection of its own); more wait until timeout."`
}

// Defaults of an [[oauth.ldap]] section.
const (
	defaultUserFilter   = "(uid={username})"
	defaultUsernameAttr = "uid"
	defaultLDAPConns    = 8
)

// PasswordEnv is the environment variable that gives the search
// account's password when bind_password_file does not:
// TMS_OAUTH_LDAP_<ID>_BIND_PASSWORD, the id in upper case with "_" for "-".
func (l LDAP) PasswordEnv() string {
	return "TMS_OAUTH_LDAP_" + strings.ToUpper(strings.ReplaceAll(l.ID, "-", "_")) + "_BIND_PASSWORD"
}

// ldapExample is the section the template shows.
func ldapExample() LDAP {
	return LDAP{ID: "campus", Tenant: "hpc", URL: "ldaps://ldap.example.org", CAFile: "/etc/tms/ldap-ca.pem",
		BindDN: "cn=tms,ou=services,dc=example,dc=org", BindPasswordFile: "/etc/tms/ldap-bind.password",
		UserBase: "ou=people,dc=example,dc=org", UserFilter: defaultUserFilter, UsernameAttribute: defaultUsernameAttr,
		DialTimeout: Duration{5 * time.Second}, Timeout: Duration{10 * time.Second}, MaxConnections: defaultLDAPConns}
}

// ldapComment introduces the [[oauth.ldap]] example of the template.
const ldapComment = `Directory (LDAP) sign-in, one [[oauth.ldap]] table per tenant that uses it (none by default): the
sign-in page of the tenant checks passwords against the directory instead of TMS passwords, then
asks for the user's TMS one-time code as usual. Users are created at their first sign-in.`

// ldapTemplate is the commented example of the template: removing one
// "# " from each line gives a working table.
func ldapTemplate() string {
	var body strings.Builder
	body.WriteString("[[oauth.ldap]]\n")
	ex := ldapExample()
	for _, f := range ldapFields(&ex) {
		writeComment(&body, f.comment)
		fmt.Fprintf(&body, "%s = %s\n", f.key, tomlValue(f.value))
	}
	var b strings.Builder
	b.WriteString("\n")
	writeComment(&b, ldapComment)
	b.WriteString("#\n")
	writeComment(&b, strings.TrimSuffix(body.String(), "\n"))
	return b.String()
}

// ldapFields lists the settings of a table, keyed by their names in it.
func ldapFields(l *LDAP) []field {
	v := reflect.ValueOf(l).Elem()
	var out []field
	for i := range v.NumField() {
		sf := v.Type().Field(i)
		out = append(out, field{key: sf.Tag.Get("toml"), value: v.Field(i), comment: sf.Tag.Get("comment")})
	}
	return out
}

// setDefaults fills the settings left out of the section.
func (l *LDAP) setDefaults() {
	if l.UserFilter == "" {
		l.UserFilter = defaultUserFilter
	}
	if l.UsernameAttribute == "" {
		l.UsernameAttribute = defaultUsernameAttr
	}
	if l.DialTimeout.Duration == 0 {
		l.DialTimeout.Duration = 5 * time.Second
	}
	if l.Timeout.Duration == 0 {
		l.Timeout.Duration = 10 * time.Second
	}
	if l.MaxConnections == 0 {
		l.MaxConnections = defaultLDAPConns
	}
}

var (
	ldapIDPattern   = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	attributeName   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,63}$`)
	placeholderText = "{username}"
)

// validateLDAP reports each problem of the [[oauth.ldap]] sections.
func validateLDAP(dirs []LDAP, bad func(key, format string, args ...any)) {
	ids, tenants := map[string]bool{}, map[string]bool{}
	for i, l := range dirs {
		key := func(name string) string { return fmt.Sprintf("oauth.ldap[%d].%s", i, name) }
		switch {
		case !ldapIDPattern.MatchString(l.ID):
			bad(key("id"), "%q must be 1-32 of a-z, 0-9 and -", l.ID)
		case ids[l.ID]:
			bad(key("id"), "%q is used by another [[oauth.ldap]] section", l.ID)
		}
		ids[l.ID] = true
		switch {
		case strings.TrimSpace(l.Tenant) == "":
			bad(key("tenant"), "required")
		case tenants[l.Tenant]:
			bad(key("tenant"), "%q has another [[oauth.ldap]] section; a tenant has at most one directory", l.Tenant)
		}
		tenants[l.Tenant] = true
		l.validateURL(key, bad)
		if l.BindDN != "" {
			if _, err := ldap.ParseDN(l.BindDN); err != nil {
				bad(key("bind_dn"), "%q is not a DN: %v", l.BindDN, err)
			}
		} else if l.BindPasswordFile != "" {
			bad(key("bind_dn"), "required with bind_password_file")
		}
		if l.UserBase == "" {
			bad(key("user_base"), "required, e.g. \"ou=people,dc=example,dc=org\"")
		} else if _, err := ldap.ParseDN(l.UserBase); err != nil {
			bad(key("user_base"), "%q is not a DN: %v", l.UserBase, err)
		}
		if !strings.Contains(l.UserFilter, placeholderText) {
			bad(key("user_filter"), "%q lacks %s", l.UserFilter, placeholderText)
		} else if _, err := ldap.CompileFilter(strings.ReplaceAll(l.UserFilter, placeholderText, "x")); err != nil {
			bad(key("user_filter"), "%q is not an LDAP filter: %v", l.UserFilter, err)
		}
		if !attributeName.MatchString(l.UsernameAttribute) {
			bad(key("username_attribute"), "%q is not an attribute name", l.UsernameAttribute)
		}
		for name, d := range map[string]Duration{"dial_timeout": l.DialTimeout, "timeout": l.Timeout} {
			if d.Duration < 100*time.Millisecond || d.Duration > time.Minute {
				bad(key(name), "%s must be from 100ms to 1m0s", d.Duration)
			}
		}
		if l.MaxConnections < 1 || l.MaxConnections > 256 {
			bad(key("max_connections"), "%d must be from 1 to 256", l.MaxConnections)
		}
	}
}

// validateURL checks the url and whether it may go without TLS.
func (l LDAP) validateURL(key func(string) string, bad func(key, format string, args ...any)) {
	u, err := url.Parse(l.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Hostname() == "" || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.User != nil {
		bad(key("url"), "%q must be ldaps://HOST[:PORT] or ldap://HOST[:PORT]", l.URL)
		return
	}
	if !l.InsecureNoTLS {
		return
	}
	if u.Scheme == "ldaps" {
		bad(key("insecure_no_tls"), "contradicts the ldaps:// url, which always uses TLS")
		return
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		bad(key("insecure_no_tls"), "allowed only for a directory on the loopback interface, not %s: passwords would cross the network in clear text", host)
	}
}
