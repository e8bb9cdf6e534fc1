package loadtest

import (
	"github.com/tmsproject/tms/internal/envnames"

	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// Secret is a credential. It formats as "(hidden)" with every verb and in
// JSON, so printing a value that holds one cannot leak it.
type Secret string

// String hides the secret.
func (Secret) String() string { return "(hidden)" }

// GoString hides the secret from %#v.
func (Secret) GoString() string { return "(hidden)" }

// MarshalText hides the secret from encoders.
func (Secret) MarshalText() ([]byte, error) { return []byte("(hidden)"), nil }

// Reveal returns the secret itself, for a request header.
func (s Secret) Reveal() string { return string(s) }

// Inputs are the values the scenarios send. They come from the environment
// variables of the original load-testing suite and can be overridden by
// flags.
type Inputs struct {
	// URL is the server's base URL (TMS_URL), without a trailing slash.
	URL          string
	Tenant       string // X_TMS_TENANT
	ClientID     string // X_TMS_CLIENT_ID
	ClientSecret Secret // X_TMS_CLIENT_SECRET
	// AdminID and AdminSecret are the tenant administrator's credentials
	// (X_TMS_ADMIN_ID, X_TMS_ADMIN_SECRET), which the login scenario uses
	// to create and delete its users.
	AdminID     string
	AdminSecret Secret
	// Fingerprint is the key getkey retrieves (TMS_PUBKEY_FINGERPRINT). When
	// empty, getkey creates a key first.
	Fingerprint string
	// PubkeyHost is the host of keys created and retrieved (TMS_PUBKEY_HOST).
	PubkeyHost string
	// PubkeyUser is the host account of keys created and retrieved
	// (TMS_PUBKEY_USER).
	PubkeyUser string
	// PubkeyUserID is the account's uid sent by getkey (TMS_PUBKEY_USERID).
	PubkeyUserID string
	// KeyType is the key type (TMS_PUBKEY_KEYTYPE) as given: getkey sends it
	// unchanged, createkey sends its canonical short name.
	KeyType string
	// ClientUser is the client user createkey asks a key for.
	ClientUser string
	// ParseResponse makes every request read and check its response body
	// (TMS_PARSE_RESPONSE).
	ParseResponse bool
	// Verbose prints each parsed response body, with keys and secrets
	// redacted (TMS_VERBOSE).
	Verbose bool
}

// Input defaults: the values of the development server's test data.
const (
	DefaultURL          = "http://127.0.0.1:3000"
	DefaultPubkeyHost   = "testhost1"
	DefaultPubkeyUser   = "testhostaccount1"
	DefaultPubkeyUserID = "1"
	DefaultKeyType      = "ssh-ed25519"
	DefaultClientUser   = "testuser1"
)

// DefaultInputs returns the inputs used when nothing is set.
func DefaultInputs() Inputs {
	return Inputs{
		URL:          DefaultURL,
		PubkeyHost:   DefaultPubkeyHost,
		PubkeyUser:   DefaultPubkeyUser,
		PubkeyUserID: DefaultPubkeyUserID,
		KeyType:      DefaultKeyType,
		ClientUser:   DefaultClientUser,
	}
}

// InputField is one input that can be set from an environment variable, a
// flag, or both.
type InputField struct {
	// Env is the environment variable, or "" when there is none.
	Env string
	// Flag is the long flag name without dashes.
	Flag string
	// Usage is the flag's help text.
	Usage string
	// Bool marks a yes/no field; its flag may be given without a value.
	Bool bool
	// File marks a flag whose value is a path to read the input from.
	File bool
	set  func(in *Inputs, value string) error
}

// Apply sets the field in `in` from a raw value. source names where the
// value came from ("TMS_URL", "--url") and starts any error. For a File
// field given by flag, value is the path to read.
func (f InputField) Apply(in *Inputs, value, source string) error {
	if f.File && strings.HasPrefix(source, "--") {
		data, err := os.ReadFile(value)
		if err != nil {
			return fmt.Errorf("%s: %w", source, err)
		}
		value = strings.TrimRight(string(data), "\r\n")
	}
	if err := f.set(in, value); err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	return nil
}

// InputFields lists every input in the order help text shows them.
func InputFields() []InputField {
	return []InputField{
		{Env: envnames.URL, Flag: "url", Usage: "base URL of the TMS server (default " + DefaultURL + ")",
			set: func(in *Inputs, v string) error {
				u, err := parseBaseURL(v)
				return assignIf(err, func() { in.URL = u })
			}},
		{Env: "X_TMS_TENANT", Flag: "tenant", Usage: "tenant sent in X-TMS-TENANT",
			set: func(in *Inputs, v string) error {
				return assignIf(checkHeaderValue(v, false), func() { in.Tenant = v })
			}},
		{Env: "X_TMS_CLIENT_ID", Flag: "client-id", Usage: "client id sent in X-TMS-CLIENT-ID",
			set: func(in *Inputs, v string) error {
				return assignIf(checkHeaderValue(v, false), func() { in.ClientID = v })
			}},
		{Env: "X_TMS_CLIENT_SECRET", Flag: "client-secret-file", File: true,
			Usage: "file holding the client secret sent in X-TMS-CLIENT-SECRET",
			set: func(in *Inputs, v string) error {
				return assignIf(checkHeaderValue(v, true), func() { in.ClientSecret = Secret(v) })
			}},
		{Env: "X_TMS_ADMIN_ID", Flag: "admin-id", Usage: "tenant administrator id sent in X-TMS-ADMIN-ID (login creates its users with it)",
			set: func(in *Inputs, v string) error {
				return assignIf(checkHeaderValue(v, false), func() { in.AdminID = v })
			}},
		{Env: "X_TMS_ADMIN_SECRET", Flag: "admin-secret-file", File: true,
			Usage: "file holding the tenant administrator secret sent in X-TMS-ADMIN-SECRET",
			set: func(in *Inputs, v string) error {
				return assignIf(checkHeaderValue(v, true), func() { in.AdminSecret = Secret(v) })
			}},
		{Flag: "client-user", Usage: "client user that createkey asks a key for (default " + DefaultClientUser + ")",
			set: func(in *Inputs, v string) error { return assignIf(checkText(v), func() { in.ClientUser = v }) }},
		{Env: envnames.PubkeyHost, Flag: "pubkey-host", Usage: "host of the keys created and retrieved (default " + DefaultPubkeyHost + ")",
			set: func(in *Inputs, v string) error { return assignIf(checkText(v), func() { in.PubkeyHost = v }) }},
		{Env: envnames.PubkeyUser, Flag: "pubkey-user", Usage: "host account of the keys created and retrieved (default " + DefaultPubkeyUser + ")",
			set: func(in *Inputs, v string) error { return assignIf(checkText(v), func() { in.PubkeyUser = v }) }},
		{Env: envnames.PubkeyUserID, Flag: "pubkey-userid", Usage: "uid of the host account, sent by getkey (default " + DefaultPubkeyUserID + ")",
			set: func(in *Inputs, v string) error { return assignIf(checkText(v), func() { in.PubkeyUserID = v }) }},
		{Env: envnames.PubkeyKeyType, Flag: "key-type", Usage: "key type: ed25519, ecdsa or rsa (default " + DefaultKeyType + ")",
			set: func(in *Inputs, v string) error {
				if _, err := canonicalKeyType(v); err != nil {
					return err
				}
				in.KeyType = v
				return nil
			}},
		{Env: envnames.PubkeyFingerprint, Flag: "fingerprint", Usage: "fingerprint of the key getkey retrieves; when unset getkey creates a key first",
			set: func(in *Inputs, v string) error { return assignIf(checkFingerprint(v), func() { in.Fingerprint = v }) }},
		{Env: envnames.ParseResponse, Flag: "parse-response", Bool: true, Usage: "read and check every response body",
			set: func(in *Inputs, v string) error {
				b, err := parseBool(v)
				return assignIf(err, func() { in.ParseResponse = b })
			}},
		{Env: envnames.Verbose, Flag: "verbose", Bool: true, Usage: "print parsed response bodies, with keys and secrets redacted",
			set: func(in *Inputs, v string) error {
				b, err := parseBool(v)
				return assignIf(err, func() { in.Verbose = b })
			}},
	}
}

// InputsFromEnv starts from DefaultInputs and applies every environment
// variable of InputFields that is set and not empty.
func InputsFromEnv(lookup func(string) (string, bool)) (Inputs, error) {
	in := DefaultInputs()
	for _, f := range InputFields() {
		if f.Env == "" {
			continue
		}
		v, ok := lookup(f.Env)
		if !ok || v == "" {
			continue
		}
		if err := f.Apply(&in, v, f.Env); err != nil {
			return Inputs{}, &InputError{Err: err}
		}
	}
	return in, nil
}

// assignIf runs assign only when err is nil, and returns err.
func assignIf(err error, assign func()) error {
	if err != nil {
		return err
	}
	assign()
	return nil
}

// parseBaseURL checks a server base URL and returns it without a trailing
// slash.
func parseBaseURL(raw string) (string, error) {
	if lower := strings.ToLower(raw); !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		if strings.Contains(raw, "@") { // it may hold a password
			return "", fmt.Errorf("must start with http:// or https://")
		}
		return "", fmt.Errorf("must start with http:// or https://, got %q", raw)
	}
	u, err := url.Parse(raw)
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return "", fmt.Errorf("not a URL: %w", urlErr.Err)
	}
	if err != nil {
		return "", fmt.Errorf("not a URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("must start with http:// or https://, got %q", u.Redacted())
	case u.Host == "":
		return "", fmt.Errorf("has no host: %q", u.Redacted())
	case u.User != nil:
		return "", fmt.Errorf("must not contain a user or password (TMS takes credentials in X-TMS-* headers): %q", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("must not have a query or fragment: %q", u.Redacted())
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// checkHeaderValue accepts a non-empty value of visible ASCII, the only
// header values the server accepts. A secret is never echoed.
func checkHeaderValue(v string, secret bool) error {
	if v == "" {
		return fmt.Errorf("is empty")
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			if secret {
				return fmt.Errorf("contains a character that is not visible ASCII at byte %d", i)
			}
			return fmt.Errorf("contains a character that is not visible ASCII at byte %d: %q", i, v)
		}
	}
	return nil
}

// checkText accepts a non-empty value without control characters.
func checkText(v string) error {
	if v == "" {
		return fmt.Errorf("is empty")
	}
	if i := strings.IndexFunc(v, unicode.IsControl); i >= 0 {
		return fmt.Errorf("contains a control character at byte %d: %q", i, v)
	}
	return nil
}

// checkFingerprint accepts an OpenSSH SHA256 fingerprint such as
// "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s".
func checkFingerprint(v string) error {
	body, ok := strings.CutPrefix(v, "SHA256:")
	if !ok || body == "" || strings.ContainsFunc(body, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '=')
	}) {
		return fmt.Errorf("must be an OpenSSH fingerprint like SHA256:<base64> (as ssh-keygen -l prints it), got %q", v)
	}
	return nil
}

// canonicalKeyType maps a key type as users write it to the name createkey
// sends: "" for the server's default (ed25519), "ecdsa" or "rsa".
func canonicalKeyType(v string) (string, error) {
	switch strings.ToLower(v) {
	case "", "ed25519", "ssh-ed25519":
		return "", nil
	case "ecdsa", "ecdsa-sha2-nistp521":
		return "ecdsa", nil
	case "rsa", "ssh-rsa":
		return "rsa", nil
	}
	return "", fmt.Errorf("unknown key type %q (want ed25519, ecdsa or rsa)", v)
}

// parseBool reads a yes/no value as strconv.ParseBool does, and also yes,
// no, on and off.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes", "on":
		return true, nil
	case "no", "off":
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("want true or false, got %q", v)
	}
	return b, nil
}

// InputError reports input that is not acceptable: a bad flag, environment
// variable or combination of them. Its message names the field.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }
