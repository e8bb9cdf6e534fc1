package keycmd

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// DefaultConfigFile is the configuration file read when none is named: like
// the Rust tms_keycmd, tms_keycmd.toml in the current directory.
const DefaultConfigFile = "tms_keycmd.toml"

// Limits on the lookup timeout.
const (
	// DefaultTimeout is the lookup timeout when the config sets none.
	DefaultTimeout = 5 * time.Second
	// MaxTimeout is the longest timeout accepted; sshd's LoginGraceTime
	// defaults to 120 s and one login may run several lookups.
	MaxTimeout = 60 * time.Second
)

// Config is the validated content of tms_keycmd.toml.
type Config struct {
	// URL is the full address of the TMS retrieve endpoint (tms_url), for
	// example https://tms.example.org/v1/tms/pubkeys/creds/retrieve.
	URL *url.URL
	// HostName is this machine's host name as TMS knows it (host_name).
	HostName string
	// Timeout bounds one lookup: connect, TLS handshake, request and
	// response together (timeout).
	Timeout time.Duration
	// RootCAs are the certificate authorities trusted for an https URL: the
	// system roots plus the PEM bundle named by ca_file. Nil means the
	// system roots alone.
	RootCAs *x509.CertPool
	// LogFile is the file each call appends its log line to (log_file); empty
	// means standard error.
	LogFile string
	// HostSecret is this host's credential, read from host_secret_file; when
	// set, every lookup sends it with HostName as X-TMS-HOST-SECRET and
	// X-TMS-HOST-ID. Empty means lookups carry no host credential.
	HostSecret string
}

// fileConfig is the on-disk layout. Pointers tell a missing key from an
// empty one.
type fileConfig struct {
	TMSURL   *string `toml:"tms_url"`
	HostName *string `toml:"host_name"`
	Timeout  *string `toml:"timeout"`
	CAFile   *string `toml:"ca_file"`
	LogFile  *string `toml:"log_file"`

	HostSecretFile *string `toml:"host_secret_file"`
}

// acceptedKeys lists the keys of tms_keycmd.toml for error messages.
const acceptedKeys = "tms_url, host_name, timeout, ca_file, log_file, host_secret_file"

// LoadConfig reads and validates a tms_keycmd.toml file, and reads the host
// secret when host_secret_file names one. Relative ca_file, log_file and
// host_secret_file paths are taken relative to the directory of the file.
// The error names the file and the offending key.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	cfg, err := parseConfig(data, filepath.Dir(path))
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// parseConfig validates the TOML document data; dir anchors relative paths.
func parseConfig(data []byte, dir string) (Config, error) {
	var file fileConfig
	if err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&file); err != nil {
		return Config{}, describeTOMLError(err)
	}

	var cfg Config
	var err error
	if cfg.URL, err = parseTMSURL(file.TMSURL); err != nil {
		return Config{}, fmt.Errorf("tms_url: %w", err)
	}
	if cfg.HostName, err = parseHostName(file.HostName); err != nil {
		return Config{}, fmt.Errorf("host_name: %w", err)
	}
	if cfg.Timeout, err = parseTimeout(file.Timeout); err != nil {
		return Config{}, fmt.Errorf("timeout: %w", err)
	}
	if file.CAFile != nil {
		if strings.TrimSpace(*file.CAFile) == "" {
			return Config{}, errors.New("ca_file: is empty; remove the key to trust the system roots alone")
		}
		if cfg.URL.Scheme != "https" {
			return Config{}, fmt.Errorf("ca_file: set, but tms_url %q does not use https", cfg.URL)
		}
		if cfg.RootCAs, err = loadRootCAs(resolve(dir, *file.CAFile)); err != nil {
			return Config{}, fmt.Errorf("ca_file: %w", err)
		}
	}
	if file.LogFile != nil {
		if strings.TrimSpace(*file.LogFile) == "" {
			return Config{}, errors.New("log_file: is empty; remove the key to log to standard error")
		}
		cfg.LogFile = resolve(dir, *file.LogFile)
	}
	if file.HostSecretFile != nil {
		if strings.TrimSpace(*file.HostSecretFile) == "" {
			return Config{}, errors.New("host_secret_file: is empty; remove the key to send no host credential")
		}
		if err := checkHeaderValue(cfg.HostName); err != nil {
			return Config{}, fmt.Errorf("host_name: %q %w, as it is sent in the X-TMS-HOST-ID header with host_secret_file", cfg.HostName, err)
		}
		if cfg.HostSecret, err = readHostSecret(resolve(dir, *file.HostSecretFile)); err != nil {
			return Config{}, fmt.Errorf("host_secret_file: %w", err)
		}
	}
	return cfg, nil
}

// describeTOMLError turns a go-toml error into one line that names the key
// and position without the decoder's internal type names.
func describeTOMLError(err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		unknown := make([]string, 0, len(strict.Errors))
		for _, e := range strict.Errors {
			line, _ := e.Position()
			unknown = append(unknown, fmt.Sprintf("%q (line %d)", strings.Join(e.Key(), "."), line))
		}
		return fmt.Errorf("unknown key %s; accepted keys are %s", strings.Join(unknown, ", "), acceptedKeys)
	}
	var decode *toml.DecodeError
	if errors.As(err, &decode) {
		line, column := decode.Position()
		key := strings.Join(decode.Key(), ".")
		msg := strings.TrimPrefix(decode.Error(), "toml: ")
		if key != "" && (strings.HasPrefix(msg, "cannot decode TOML") || strings.HasPrefix(msg, "cannot store")) {
			// Every accepted key holds a string.
			return fmt.Errorf("%s (line %d): must be a string", key, line)
		}
		if key != "" {
			return fmt.Errorf("%s (line %d, column %d): %s", key, line, column, msg)
		}
		return fmt.Errorf("line %d, column %d: %s", line, column, msg)
	}
	return fmt.Errorf("parse TOML: %w", err)
}

func parseTMSURL(value *string) (*url.URL, error) {
	if value == nil {
		return nil, errors.New("is required: the full URL of the retrieve endpoint, e.g. https://tms.example.org/v1/tms/pubkeys/creds/retrieve")
	}
	raw := *value
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("is empty")
	}
	if raw != strings.TrimSpace(raw) {
		return nil, fmt.Errorf("%q has leading or trailing spaces", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q must start with http:// or https://", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q has no host", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q must not contain user information", u.Redacted())
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("%q must not contain a fragment", raw)
	}
	return u, nil
}

func parseHostName(value *string) (string, error) {
	if value == nil {
		return "", errors.New("is required: this host's name as registered in TMS")
	}
	name := *value
	switch {
	case strings.TrimSpace(name) == "":
		return "", errors.New("is empty")
	case name != strings.TrimSpace(name):
		return "", fmt.Errorf("%q has leading or trailing spaces", name)
	}
	return name, nil
}

func parseTimeout(value *string) (time.Duration, error) {
	if value == nil {
		return DefaultTimeout, nil
	}
	d, err := time.ParseDuration(*value)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as \"5s\" or \"1500ms\"", *value)
	}
	if d <= 0 || d > MaxTimeout {
		return 0, fmt.Errorf("%q is out of range: must be more than 0 and at most %s", *value, MaxTimeout)
	}
	return d, nil
}

// loadRootCAs returns the system roots plus every certificate in the PEM
// bundle at path.
func loadRootCAs(path string) (*x509.CertPool, error) {
	bundle, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(bundle) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// resolve anchors a relative path at dir.
func resolve(dir, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}
