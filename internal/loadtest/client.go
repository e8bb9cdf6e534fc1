package loadtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/tmsproject/tms/internal/version"
)

// maxKeptBody bounds how much of a response body is kept for checking.
const maxKeptBody = 1 << 20

// client sends prebuilt requests to one server over a pool of kept-alive
// connections. It follows no redirects and uses no proxy: the load goes
// exactly where TMS_URL points.
type client struct {
	base      string
	transport *http.Transport
	userAgent string
}

// newClient builds a client for base whose pool keeps up to conns idle
// connections, one per concurrent request the run can have.
func newClient(base string, opts TLSOptions, conns int) (*client, error) {
	tlsConf, err := tlsConfig(opts)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &client{
		base: base,
		transport: &http.Transport{
			DialContext:         dialer.DialContext,
			TLSClientConfig:     tlsConf,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		userAgent: "tms-loadtest/" + version.Version,
	}, nil
}

// tlsConfig builds the TLS settings from the trust options.
func tlsConfig(opts TLSOptions) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.Insecure}
	if opts.CACertFile == "" {
		return conf, nil
	}
	pem, err := os.ReadFile(opts.CACertFile)
	if err != nil {
		return nil, &InputError{Err: fmt.Errorf("--cacert: %w", err)}
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, &InputError{Err: fmt.Errorf("--cacert: no PEM certificate found in %s", opts.CACertFile)}
	}
	conf.RootCAs = pool
	return conf, nil
}

// close drops the client's idle connections.
func (c *client) close() { c.transport.CloseIdleConnections() }

// request is a request built once and sent many times. Its header map and
// URL are shared, read-only, by every send.
type request struct {
	template *http.Request
	expect   int
	// check validates a kept response body; nil accepts any body.
	check func(body []byte) error
}

// newRequest prebuilds a request to the server path, expecting status
// expect. header is owned by the request from now on.
func (c *client) newRequest(method, path string, header http.Header, body []byte, expect int, check func([]byte) error) (*request, error) {
	tmpl, err := http.NewRequestWithContext(context.Background(), method, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", method, path, err)
	}
	header.Set("User-Agent", c.userAgent)
	tmpl.Header = header
	if body != nil {
		tmpl.ContentLength = int64(len(body))
		tmpl.GetBody = func() (io.ReadCloser, error) {
			r := &bodyReader{}
			r.Reset(body)
			return r, nil
		}
	}
	return &request{template: tmpl, expect: expect, check: check}, nil
}

// bodyReader is a request body over prebuilt bytes.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

// send performs the request once. With keepBody the response body is kept in
// the outcome and checked; otherwise it is read to the end and dropped, so
// the connection can be reused.
func (c *client) send(ctx context.Context, r *request, keepBody bool) Outcome {
	req := r.template.WithContext(ctx)
	if r.template.GetBody != nil {
		req.Body, _ = r.template.GetBody() // never fails
	}
	resp, err := c.transport.RoundTrip(req)
	if err != nil {
		return Outcome{Class: classifyError(err), Err: err}
	}
	out := Outcome{Status: resp.StatusCode}
	if keepBody {
		out.Body, err = io.ReadAll(io.LimitReader(resp.Body, maxKeptBody))
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
		}
		if resp.StatusCode == http.StatusServiceUnavailable {
			out.RetryAfter = resp.Header.Get("Retry-After")
		}
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	switch {
	case err != nil:
		out.Class, out.Err = classifyError(err), fmt.Errorf("read response: %w", err)
	case resp.StatusCode != r.expect:
		out.Class = classifyStatus(resp.StatusCode)
	case keepBody && r.check != nil:
		if err := r.check(out.Body); err != nil {
			out.Class, out.Err = ClassBadResponse, err
		}
	}
	return out
}
