// Package client is a Go client for the TMS HTTP API, used by the tms
// command line (administration, keys, login) and by tools that drive a
// server.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Credentials are the identity headers a request carries. Empty fields are
// not sent.
type Credentials struct {
	Tenant       string
	ClientID     string
	ClientSecret string
	AdminID      string
	AdminSecret  string
	// BearerToken is sent as "Authorization: Bearer ..." when set.
	BearerToken string
}

// Options configure a Client.
type Options struct {
	// BaseURL is the server, e.g. "https://tms.example.org:3000".
	BaseURL string
	// CACertFile adds the PEM certificates in this file to the trusted roots.
	CACertFile string
	// Insecure skips TLS certificate verification.
	Insecure bool
	// Timeout bounds each request (default 30s).
	Timeout time.Duration
}

// Client calls a TMS server.
type Client struct {
	base  *url.URL
	http  *http.Client
	Creds Credentials
}

// New returns a Client for the server at opts.BaseURL.
func New(opts Options, creds Credentials) (*Client, error) {
	if opts.BaseURL == "" {
		return nil, errors.New("no server URL: set TMS_URL or use --url")
	}
	u, err := url.Parse(strings.TrimRight(opts.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: must look like https://host:port", opts.BaseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/v1")
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.Insecure}
	if opts.CACertFile != "" {
		pem, err := os.ReadFile(opts.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("CA certificate file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA certificate file %s: no PEM certificates in it", opts.CACertFile)
		}
		tlsConfig.RootCAs = pool
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConfig
	return &Client{base: u, http: &http.Client{Transport: tr, Timeout: timeout}, Creds: creds}, nil
}

// BaseURL returns the server URL without a trailing slash.
func (c *Client) BaseURL() string { return c.base.String() }

// HTTPClient returns the underlying HTTP client (with the TLS settings).
func (c *Client) HTTPClient() *http.Client { return c.http }

// Error is an error answer of the server.
type Error struct {
	Status int
	// Code is result_code (the status as a string for TMS errors).
	Code string
	// Message is result_msg, or the body when it was not the JSON envelope.
	Message string
	// RetryAfter is the Retry-After header of a 503, if any.
	RetryAfter string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("server answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("server answered %d: %s", e.Status, e.Message)
}

// Do sends a request to path (relative to the server and already escaped,
// e.g. "/v1/tms/client/list") with body encoded as JSON when not nil, and
// decodes a 2xx JSON answer into out when not nil. When out embeds
// Envelope, the answer is also kept as received (see Envelope.Raw).
// Non-2xx answers return *Error.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	data, err := c.send(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
	}
	if r, ok := out.(rawKeeper); ok {
		r.keepRaw(data)
	}
	return nil
}

// call is Do for a request whose answer is a T: it returns the decoded
// answer.
func call[T any](ctx context.Context, c *Client, method, path string, query url.Values, body any) (T, error) {
	var out T
	err := c.Do(ctx, method, path, query, body, &out)
	return out, err
}

// send performs a request and returns the body of a 2xx answer.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any) ([]byte, error) {
	u := *c.base
	u.RawPath = c.base.EscapedPath() + path
	unescaped, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, fmt.Errorf("request path %q: %w", path, err)
	}
	u.Path = unescaped
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	c.setCredentials(req.Header)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, describeTransportError(c.base.String(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := &Error{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
		var env struct {
			ResultCode string `json:"result_code"`
			ResultMsg  string `json:"result_msg"`
			OAuthError string `json:"error"`
			OAuthDesc  string `json:"error_description"`
		}
		switch {
		case json.Unmarshal(data, &env) == nil && env.ResultMsg != "":
			apiErr.Code, apiErr.Message = env.ResultCode, env.ResultMsg
		case env.OAuthError != "":
			apiErr.Code, apiErr.Message = env.OAuthError, strings.TrimSpace(env.OAuthError+": "+env.OAuthDesc)
		default:
			apiErr.Message = strings.TrimSpace(string(data))
		}
		return nil, apiErr
	}
	return data, nil
}

func (c *Client) setCredentials(h http.Header) {
	set := func(name, v string) {
		if v != "" {
			h.Set(name, v)
		}
	}
	set("X-TMS-TENANT", c.Creds.Tenant)
	set("X-TMS-CLIENT-ID", c.Creds.ClientID)
	set("X-TMS-CLIENT-SECRET", c.Creds.ClientSecret)
	set("X-TMS-ADMIN-ID", c.Creds.AdminID)
	set("X-TMS-ADMIN-SECRET", c.Creds.AdminSecret)
	if c.Creds.BearerToken != "" {
		h.Set("Authorization", "Bearer "+c.Creds.BearerToken)
	}
}

// describeTransportError turns connection failures into advice.
func describeTransportError(base string, err error) error {
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownAuth):
		return fmt.Errorf("cannot verify the TLS certificate of %s (use --cacert FILE with the server's CA certificate, or --insecure for testing): %w", base, err)
	case strings.Contains(err.Error(), "connection refused"):
		return fmt.Errorf("cannot connect to %s: connection refused (is the server running, and is TMS_URL right?)", base)
	}
	return fmt.Errorf("request to %s failed: %w", base, err)
}
