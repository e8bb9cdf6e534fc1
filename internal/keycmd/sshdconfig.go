package keycmd

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// RetrievePath is the path of the TMS retrieve endpoint.
const RetrievePath = "/v1/tms/pubkeys/creds/retrieve"

// SSHDSetup describes how a login host runs "tms authorized-keys" for sshd.
type SSHDSetup struct {
	// ServerURL is the TMS server's base URL (https://tms.example.org:3000)
	// or the full URL of its retrieve endpoint.
	ServerURL string
	// HostName is this host's name as registered in TMS.
	HostName string
	// Command is the absolute path of the tms binary sshd runs.
	Command string
	// ConfigFile is the absolute path of the tms_keycmd.toml to install.
	ConfigFile string
	// User is the AuthorizedKeysCommandUser.
	User string
	// HostSecretFile, when set, is the absolute path of the file holding
	// this host's credential.
	HostSecretFile string
	// Timeout bounds one lookup.
	Timeout time.Duration
}

// SSHDFiles is what an operator installs on a login host.
type SSHDFiles struct {
	// SSHDConfig holds the sshd_config lines, with comments.
	SSHDConfig string
	// KeycmdConfig is the content of tms_keycmd.toml, with comments.
	KeycmdConfig string
}

// accountName matches the user names sshd_config and useradd accept.
var accountName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9._-]*\$?$`)

// RenderSSHDSetup validates setup and returns the files it describes. The
// error starts with the name of the setting that is wrong, as the
// sshd-config command's flags name them: url, host-name, command,
// keycmd-config, user, host-secret-file or timeout.
func RenderSSHDSetup(setup SSHDSetup) (SSHDFiles, error) {
	retrieveURL, err := retrieveURLFor(setup.ServerURL)
	if err != nil {
		return SSHDFiles{}, fmt.Errorf("url: %w", err)
	}
	if _, err := parseHostName(&setup.HostName); err != nil {
		return SSHDFiles{}, fmt.Errorf("host-name: %w", err)
	}
	if err := checkHeaderValue(setup.HostName); err != nil {
		return SSHDFiles{}, fmt.Errorf("host-name: %q %w", setup.HostName, err)
	}
	if err := checkSSHDPath(setup.Command); err != nil {
		return SSHDFiles{}, fmt.Errorf("command: %w", err)
	}
	if err := checkSSHDPath(setup.ConfigFile); err != nil {
		return SSHDFiles{}, fmt.Errorf("keycmd-config: %w", err)
	}
	switch {
	case !accountName.MatchString(setup.User):
		return SSHDFiles{}, fmt.Errorf("user: %q is not an account name", setup.User)
	case setup.User == "root":
		return SSHDFiles{}, errors.New("user: the helper needs no privileges; use an unprivileged account such as nobody, not root")
	}
	if setup.HostSecretFile != "" {
		if err := checkSSHDPath(setup.HostSecretFile); err != nil {
			return SSHDFiles{}, fmt.Errorf("host-secret-file: %w", err)
		}
	}
	if setup.Timeout <= 0 || setup.Timeout > MaxTimeout {
		return SSHDFiles{}, fmt.Errorf("timeout: %s is out of range: must be more than 0 and at most %s", setup.Timeout, MaxTimeout)
	}

	data := struct {
		SSHDSetup
		RetrieveURL string
		Timeout     string
	}{setup, retrieveURL, setup.Timeout.String()}
	var sshd, keycmd bytes.Buffer
	if err := sshdConfigTemplate.Execute(&sshd, data); err != nil {
		return SSHDFiles{}, fmt.Errorf("render sshd_config lines: %w", err)
	}
	if err := keycmdConfigTemplate.Execute(&keycmd, data); err != nil {
		return SSHDFiles{}, fmt.Errorf("render tms_keycmd.toml: %w", err)
	}
	return SSHDFiles{SSHDConfig: sshd.String(), KeycmdConfig: keycmd.String()}, nil
}

// retrieveURLFor returns the retrieve endpoint of the server at raw, which
// is a base URL (optionally ending in /v1) or the endpoint itself.
func retrieveURLFor(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", errors.New("is required: the TMS server's URL, e.g. https://tms.example.org:3000")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%q must start with http:// or https://", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q must not have a query or fragment", raw)
	}
	if !strings.HasSuffix(u.Path, RetrievePath) {
		u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/v1") + RetrievePath
	}
	full := u.String()
	if _, err := parseTMSURL(&full); err != nil {
		return "", err
	}
	return full, nil
}

// checkSSHDPath accepts an absolute path that sshd_config and TOML can hold
// without quoting: no spaces, quotes, backslashes or % (sshd expands %
// tokens in AuthorizedKeysCommand).
func checkSSHDPath(path string) error {
	switch {
	case path == "":
		return errors.New("is required")
	case !filepath.IsAbs(path):
		return fmt.Errorf("%q is not an absolute path", path)
	case strings.ContainsAny(path, " \t\"'\\%"):
		return fmt.Errorf("%q contains a space, quote, backslash or %%, which sshd_config would misread", path)
	}
	if err := checkHeaderValue(path); err != nil {
		return fmt.Errorf("%q %w", path, err)
	}
	return nil
}

// templateFuncs quote values as TOML basic strings. Every value rendered is
// checked to hold no control characters, and for such strings Go's quoting
// and TOML's agree.
var templateFuncs = template.FuncMap{"toml": strconv.Quote}

var sshdConfigTemplate = template.Must(template.New("sshd_config").Funcs(templateFuncs).Parse(
	`# Let sshd ask TMS which key to accept. Add these lines to /etc/ssh/sshd_config
# (before any Match block) or to a file in /etc/ssh/sshd_config.d/, check them
# with "sshd -t", then reload sshd.
#
# sshd runs the command for every key a client offers (and again for the key
# it then accepts), as the AuthorizedKeysCommandUser, and accepts the key the
# command prints. It refuses to run the command unless {{.Command}} and
# every directory above it are owned by root and writable by no one else.
# Keys in users' authorized_keys files keep working; set
# "AuthorizedKeysFile none" to accept TMS keys only.
AuthorizedKeysCommand {{.Command}} authorized-keys --config {{.ConfigFile}} %u %U %f %t
AuthorizedKeysCommandUser {{.User}}
`))

var keycmdConfigTemplate = template.Must(template.New("tms_keycmd.toml").Funcs(templateFuncs).Parse(
	`# {{.ConfigFile}}: configuration of "tms authorized-keys".
# It decides which keys sshd accepts: keep it owned by root and writable by no
# one else (e.g. mode 0644). {{.User}} must be able to read it.

# The TMS retrieve endpoint and this host's name in TMS.
tms_url = {{toml .RetrieveURL}}
host_name = {{toml .HostName}}

# Limit on one lookup; keep it well below sshd's LoginGraceTime (default 120s).
# When it passes, the helper prints nothing and the key is refused.
timeout = {{toml .Timeout}}

# PEM bundle trusted in addition to the system roots, for a server whose
# certificate they do not cover:
# ca_file = "/etc/ssh/tms-ca.pem"

# Each lookup logs one line to standard error, which sshd normally discards.
# To keep the lines, name a file {{.User}} can append to:
# log_file = "/var/log/tms/keycmd.log"
{{if .HostSecretFile}}
# This host's credential, sent with every lookup; required when the server
# sets require_host_credential. A tenant administrator creates it with
#   tms hosts credentials create --host {{.HostName}} --secret-file {{.HostSecretFile}}
# and only root and {{.User}} may read it (the helper refuses a file every
# user can read):
#   chown root:"$(id -gn {{.User}})" {{.HostSecretFile}} && chmod 0440 {{.HostSecretFile}}
host_secret_file = {{toml .HostSecretFile}}
{{else}}
# When the server sets require_host_credential, name the file holding this
# host's credential (created with "tms hosts credentials create --host {{.HostName}}",
# readable by root and {{.User}} only):
# host_secret_file = "/etc/ssh/tms_host_secret"
{{end -}}
`))
