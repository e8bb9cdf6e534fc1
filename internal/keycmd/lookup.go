package keycmd

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/tmsproject/tms/internal/version"
)

// Request is one lookup, as sshd describes it to an AuthorizedKeysCommand.
type Request struct {
	// User is the account being logged in to (%u); TMS matches it against
	// the key's host account.
	User string
	// UID is that account's numeric user id (%U); TMS only logs it.
	UID uint32
	// Fingerprint is the offered key's fingerprint (%f), "SHA256:...".
	Fingerprint string
	// KeyType is the offered key's type (%t), e.g. "ssh-ed25519"; TMS only
	// logs it.
	KeyType string
}

// ParseArgs reads the four arguments sshd passes as "%u %U %f %t". The error
// names the argument that is wrong.
func ParseArgs(args []string) (Request, error) {
	if len(args) != 4 {
		return Request{}, fmt.Errorf("want 4 arguments USER UID FINGERPRINT KEYTYPE (sshd's %%u %%U %%f %%t), got %d", len(args))
	}
	if args[0] == "" {
		return Request{}, errors.New("argument 1, USER (%u): is empty")
	}
	uid, err := strconv.ParseUint(strings.TrimSpace(args[1]), 10, 32)
	if err != nil {
		return Request{}, fmt.Errorf("argument 2, UID (%%U): %q is not a user id (an integer from 0 to 4294967295)", args[1])
	}
	if args[2] == "" {
		return Request{}, errors.New("argument 3, FINGERPRINT (%f): is empty")
	}
	return Request{User: args[0], UID: uint32(uid), Fingerprint: args[2], KeyType: args[3]}, nil
}

// maxResponseBytes bounds how much of a response body is read.
const maxResponseBytes = 64 << 10

// ErrNotFound reports that TMS answered 404: it holds no usable key for the
// request. sshd asks about every key a client offers, so this is routine.
var ErrNotFound = errors.New("no key for this user, host and fingerprint")

// lookupBody is the JSON the retrieve endpoint takes.
type lookupBody struct {
	User        string `json:"user"`
	UserUID     string `json:"user_uid"`
	Host        string `json:"host"`
	Fingerprint string `json:"public_key_fingerprint"`
	KeyType     string `json:"key_type"`
}

// Lookup asks TMS for the authorized key matching req and returns it as one
// authorized_keys line without a trailing newline. Only a 200 answer whose
// JSON public_key is a single line that parses as an SSH public key with the
// requested fingerprint succeeds; anything else is an error, wrapping
// ErrNotFound for a 404. The whole exchange is bounded by cfg.Timeout and
// ctx; redirects are not followed and no proxy is used.
func Lookup(ctx context.Context, cfg Config, req Request) (string, error) {
	if cfg.URL == nil || cfg.Timeout <= 0 {
		return "", errors.New("lookup: config needs a URL and a positive timeout (use LoadConfig)")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	httpReq, err := newLookupRequest(ctx, cfg, req)
	if err != nil {
		return "", err
	}
	transport := &http.Transport{
		Proxy:             nil, // sshd clears the environment; never depend on it
		DialContext:       (&net.Dialer{}).DialContext,
		TLSClientConfig:   &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}

	resp, err := client.Do(httpReq)
	if err != nil {
		if timedOut(ctx) {
			return "", fmt.Errorf("no answer from %s within %s: %w", cfg.URL.Redacted(), cfg.Timeout, err)
		}
		return "", fmt.Errorf("lookup: %w", err) // names the method and URL
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		if timedOut(ctx) {
			return "", fmt.Errorf("response from %s incomplete after %s: %w", cfg.URL.Redacted(), cfg.Timeout, err)
		}
		return "", fmt.Errorf("read response from %s: %w", cfg.URL.Redacted(), err)
	}
	if len(body) > maxResponseBytes {
		return "", fmt.Errorf("response from %s: body is larger than %d KiB", cfg.URL.Redacted(), maxResponseBytes>>10)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("response from %s: status %s%s", cfg.URL.Redacted(), resp.Status, serverMessage(body))
		if resp.StatusCode == http.StatusNotFound {
			err = fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		return "", err
	}
	line, err := authorizedKey(body, req.Fingerprint)
	if err != nil {
		return "", fmt.Errorf("response from %s: %w", cfg.URL.Redacted(), err)
	}
	return line, nil
}

// newLookupRequest builds the POST to the retrieve endpoint, with this
// host's credential when the config has one.
func newLookupRequest(ctx context.Context, cfg Config, req Request) (*http.Request, error) {
	payload, err := json.Marshal(lookupBody{
		User:        req.User,
		UserUID:     strconv.FormatUint(uint64(req.UID), 10),
		Host:        cfg.HostName,
		Fingerprint: req.Fingerprint,
		KeyType:     req.KeyType,
	})
	if err != nil {
		return nil, fmt.Errorf("encode lookup request: %w", err)
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL.String(), bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("build lookup request: %w", err)
	}
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("Accept", "application/json")
	httpReq.Header.Set("User-Agent", "tms-authorized-keys/"+version.Version)
	if cfg.HostSecret != "" {
		httpReq.Header.Set(HeaderHostID, cfg.HostName)
		httpReq.Header.Set(HeaderHostSecret, cfg.HostSecret)
	}
	return httpReq, nil
}

// timedOut reports whether the lookup's deadline has passed.
func timedOut(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.DeadlineExceeded)
}

// authorizedKey extracts and checks public_key from a 200 body.
func authorizedKey(body []byte, fingerprint string) (string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return "", fmt.Errorf("body is not a JSON object: %w", err)
	}
	raw, ok := fields["public_key"]
	if !ok {
		return "", errors.New("public_key is missing")
	}
	var line string
	if len(raw) == 0 || raw[0] != '"' {
		return "", fmt.Errorf("public_key is not a string: %.40s", raw)
	}
	if err := json.Unmarshal(raw, &line); err != nil {
		return "", fmt.Errorf("public_key: %w", err)
	}
	switch {
	case line == "":
		return "", errors.New("public_key is empty")
	case strings.ContainsAny(line, "\r\n"):
		return "", errors.New("public_key is not a single line")
	}
	key, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return "", fmt.Errorf("public_key is not an authorized_keys line: %w", err)
	}
	if len(rest) != 0 {
		return "", errors.New("public_key holds more than one key")
	}
	if got := ssh.FingerprintSHA256(key); got != fingerprint {
		return "", fmt.Errorf("public_key has fingerprint %s, but sshd asked for %s", got, fingerprint)
	}
	return line, nil
}

// serverMessage returns ": server says <result_msg>" for a TMS error body, or
// a short quote of any other body, for the log line.
func serverMessage(body []byte) string {
	const maxQuoted = 200
	var envelope struct {
		ResultMsg *string `json:"result_msg"`
	}
	if err := json.Unmarshal(body, &envelope); err == nil && envelope.ResultMsg != nil {
		return fmt.Sprintf(": server says %q", truncate(*envelope.ResultMsg, maxQuoted))
	}
	if len(body) == 0 {
		return ""
	}
	return fmt.Sprintf(": body %q", truncate(string(body), maxQuoted))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
