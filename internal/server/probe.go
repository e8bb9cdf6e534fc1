package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// probeTimeout bounds a health check.
const probeTimeout = 5 * time.Second

// CheckHealth asks the server that a start with the same root directory,
// configuration file and environment runs for GET /healthz, over loopback
// on its port, and returns an error unless it answers 200. Over TLS it
// trusts the server's certificate file (and the system's authorities) for
// the host of http_addr. Container health checks and service managers run
// it as "tms healthcheck".
func CheckHealth(ctx context.Context, opts StoreOptions) error {
	cfg, layout, err := loadConfig(opts)
	if err != nil {
		return err
	}
	host := cfg.ListenHost
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	transport := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	scheme := "http"
	if cfg.TLSEnabled() {
		scheme = "https"
		certFile := cfg.TLS.CertFile
		if certFile == "" {
			certFile = layout.CertFile()
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(certFile)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("read the server's certificate: %w", err)
		}
		pool.AppendCertsFromPEM(pem)
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, ServerName: cfg.PublicHost(), MinVersion: tls.VersionTLS12}
	}
	url := scheme + "://" + net.JoinHostPort(host, strconv.Itoa(cfg.HTTPPort)) + "/healthz"
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health check %s: %w", url, err)
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		return fmt.Errorf("health check %s: %w", url, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check %s: %s", url, resp.Status)
	}
	return nil
}
