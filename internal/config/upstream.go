package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Upstream is one [[oauth.upstream]] table: an OpenID Connect provider
// through which the users of one tenant sign in on the device flow's pages.
type Upstream struct {
	// ID names the provider in URLs and in users' origin ("upstream:<id>").
	ID string `toml:"id"`
	// Tenant is the tenant whose users sign in here.
	Tenant string `toml:"tenant"`
	// Name is the text of the sign-in button.
	Name string `toml:"name"`
	// Issuer is the provider's issuer URL; discovery reads
	// <issuer>/.well-known/openid-configuration.
	Issuer   string `toml:"issuer"`
	ClientID string `toml:"client_id"`
	// ClientSecret, ClientSecretFile and the environment variable
	// SecretEnv() are the three ways to give the client secret; exactly one
	// is used.
	ClientSecret     string   `toml:"client_secret"`
	ClientSecretFile string   `toml:"client_secret_file"`
	Scopes           []string `toml:"scopes"`
	// UsernameClaim is the claim whose value is the TMS username.
	UsernameClaim string `toml:"username_claim"`
	// MFAAMR lists the amr values that count as a second factor.
	MFAAMR []string `toml:"mfa_amr"`
	// MFAACR lists the acr values that count as a second factor; they are
	// also requested (acr_values).
	MFAACR []string `toml:"mfa_acr"`
	// LocalTOTP is "when-no-mfa", "always" or "never".
	LocalTOTP string `toml:"local_totp"`
	// CreateUsers creates a TMS user at the first sign-in.
	CreateUsers bool `toml:"create_users"`

	// secret is the client secret from whichever source gave it, set by Load.
	secret string
	// secretSource says where secret came from, for --print-config.
	secretSource string
}

// The values of local_totp.
const (
	LocalTOTPWhenNoMFA = "when-no-mfa"
	LocalTOTPAlways    = "always"
	LocalTOTPNever     = "never"
)

// TenantSignIn is one [oauth.tenants.<name>] table: how a tenant's users
// sign in.
type TenantSignIn struct {
	// PasswordSignIn shows the password form (TMS or directory passwords)
	// on the sign-in page; false leaves only the upstream providers' buttons.
	PasswordSignIn *bool `toml:"password_sign_in"`
}

// PasswordSignIn reports whether the tenant's sign-in page shows the
// password form.
func (o *OAuth) PasswordSignIn(tenant string) bool {
	t, ok := o.Tenants[tenant]
	return !ok || t.PasswordSignIn == nil || *t.PasswordSignIn
}

// UpstreamCallbackPath is the path of the redirect URI of the upstream
// provider id, below the server's public base URL.
func UpstreamCallbackPath(id string) string { return "/v1/oauth2/upstream/" + id + "/callback" }

// SecretEnv is the environment variable that may hold the client secret.
func (u *Upstream) SecretEnv() string {
	return "TMS_OAUTH_UPSTREAM_" + strings.ToUpper(strings.ReplaceAll(u.ID, "-", "_")) + "_CLIENT_SECRET"
}

// Secret returns the client secret Load found.
func (u *Upstream) Secret() string { return u.secret }

// setSecret records the client secret and where it came from.
func (u *Upstream) setSecret(secret, source string) { u.secret, u.secretSource = secret, source }

// maxSecretFile bounds what is read from a client_secret_file.
const maxSecretFile = 4096

// loadUpstreamSecrets finds each upstream's client secret in its table, its
// file or its environment variable.
func loadUpstreamSecrets(o *OAuth, vars map[string]string) error {
	var errs []error
	for i := range o.Upstream {
		u := &o.Upstream[i]
		key := u.key(i)
		var sources []string
		if u.ClientSecret != "" {
			u.setSecret(u.ClientSecret, "client_secret")
			sources = append(sources, key+".client_secret")
		}
		if v, ok := vars[u.SecretEnv()]; ok && u.ID != "" {
			u.setSecret(strings.TrimSpace(v), "env "+u.SecretEnv())
			sources = append(sources, "environment variable "+u.SecretEnv())
		}
		if u.ClientSecretFile != "" {
			sources = append(sources, key+".client_secret_file")
			data, err := readSmallFile(u.ClientSecretFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.client_secret_file: %w", key, err))
				continue
			}
			u.setSecret(strings.TrimSpace(string(data)), "file "+u.ClientSecretFile)
		}
		switch {
		case len(sources) > 1:
			errs = append(errs, fmt.Errorf("%s: the client secret is given %d times (%s); give it once",
				key, len(sources), strings.Join(sources, ", ")))
		case len(sources) == 1 && u.secret == "":
			errs = append(errs, fmt.Errorf("%s: the client secret from %s is empty", key, sources[0]))
		}
	}
	return errors.Join(errs...)
}

func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, maxSecretFile+1)
	n, err := f.Read(buf)
	if err != nil && n == 0 {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if n > maxSecretFile {
		return nil, fmt.Errorf("%s is longer than %d bytes", path, maxSecretFile)
	}
	return buf[:n], nil
}

var (
	upstreamIDPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$`)
	tenantNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	claimNamePattern  = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
)

// key names the table in messages: oauth.upstream[<id>], or its position
// when the id is not usable.
func (u *Upstream) key(i int) string {
	if upstreamIDPattern.MatchString(u.ID) {
		return "oauth.upstream[" + u.ID + "]"
	}
	return fmt.Sprintf("oauth.upstream[#%d]", i+1)
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// applyDefaults fills the optional fields of an upstream with their
// defaults.
func (u *Upstream) applyDefaults() {
	if u.Scopes == nil {
		u.Scopes = []string{"openid", "profile", "email"}
	}
	if u.UsernameClaim == "" {
		u.UsernameClaim = "preferred_username"
	}
	if u.MFAAMR == nil {
		u.MFAAMR = []string{"mfa", "otp", "hwk", "swk"}
	}
	if u.LocalTOTP == "" {
		u.LocalTOTP = LocalTOTPWhenNoMFA
	}
}

// validateUpstreams reports each problem of the [[oauth.upstream]] and
// [oauth.tenants] tables through bad.
func (o OAuth) validateUpstreams(bad func(key, format string, args ...any)) {
	seen := map[string]bool{}
	hasUpstream := map[string]bool{}
	for i := range o.Upstream {
		u := &o.Upstream[i]
		key := u.key(i)
		switch {
		case u.ID == "":
			bad(key+".id", "required")
		case !upstreamIDPattern.MatchString(u.ID):
			bad(key+".id", "%q must be 1-40 lower-case letters, digits or '-', not starting or ending with '-'", u.ID)
		case seen[u.ID]:
			bad(key+".id", "%q is used by another [[oauth.upstream]]", u.ID)
		}
		seen[u.ID] = true
		if !tenantNamePattern.MatchString(u.Tenant) {
			bad(key+".tenant", "%q is not a tenant name", u.Tenant)
		}
		hasUpstream[u.Tenant] = true
		if strings.TrimSpace(u.Name) == "" || len(u.Name) > 100 {
			bad(key+".name", "required, at most 100 characters (the text of the sign-in button)")
		}
		if iu, err := url.Parse(u.Issuer); err != nil || iu.Host == "" || iu.RawQuery != "" || iu.Fragment != "" || iu.User != nil ||
			(iu.Scheme != "https" && !(iu.Scheme == "http" && isLoopback(iu.Hostname()))) {
			bad(key+".issuer", "%q must be an https:// URL without query or fragment (http:// only on loopback)", u.Issuer)
		}
		if u.ClientID == "" || len(u.ClientID) > 255 {
			bad(key+".client_id", "required, at most 255 characters")
		}
		if u.secret == "" && u.ClientSecret == "" && u.ClientSecretFile == "" {
			bad(key+".client_secret", "required: set client_secret, client_secret_file or the environment variable %s", u.SecretEnv())
		}
		if !slices.Contains(u.Scopes, "openid") {
			bad(key+".scopes", "%q must include \"openid\"", u.Scopes)
		}
		for _, s := range u.Scopes {
			if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
				bad(key+".scopes", "%q is not a scope", s)
			}
		}
		if !claimNamePattern.MatchString(u.UsernameClaim) {
			bad(key+".username_claim", "%q is not a claim name", u.UsernameClaim)
		}
		for name, values := range map[string][]string{"mfa_amr": u.MFAAMR, "mfa_acr": u.MFAACR} {
			for _, v := range values {
				if v == "" || len(v) > 200 || strings.ContainsAny(v, " \t\r\n") {
					bad(key+"."+name, "%q is not a value of the claim", v)
				}
			}
		}
		switch u.LocalTOTP {
		case LocalTOTPWhenNoMFA, LocalTOTPAlways, LocalTOTPNever:
		default:
			bad(key+".local_totp", "%q is not one of %q, %q, %q", u.LocalTOTP, LocalTOTPWhenNoMFA, LocalTOTPAlways, LocalTOTPNever)
		}
	}
	for _, name := range sortedKeys(o.Tenants) {
		if !tenantNamePattern.MatchString(name) {
			bad("oauth.tenants."+name, "%q is not a tenant name", name)
			continue
		}
		if !o.PasswordSignIn(name) && !hasUpstream[name] {
			bad("oauth.tenants."+name+".password_sign_in", "false leaves tenant %s no way to sign in: it has no [[oauth.upstream]]", name)
		}
	}
}
