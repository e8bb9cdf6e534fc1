package server

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/tmsproject/tms/internal/config"
	"github.com/tmsproject/tms/internal/metrics"
)

// minMetricsToken is the shortest bearer token metrics.token_file may hold.
const minMetricsToken = 32

// readMetricsToken reads the bearer token of metrics.token_file; none is
// "" when the setting is empty.
func readMetricsToken(c config.Metrics) (string, error) {
	if c.TokenFile == "" {
		return "", nil
	}
	data, err := os.ReadFile(c.TokenFile)
	if err != nil {
		return "", fmt.Errorf("metrics.token_file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if len(token) < minMetricsToken || strings.ContainsAny(token, " \t\r\n") {
		return "", fmt.Errorf("metrics.token_file: %s must hold one token of at least %d characters without spaces", c.TokenFile, minMetricsToken)
	}
	return token, nil
}

// apiMetricsRoute returns the /metrics route of the API port, or nil when
// the API port serves no metrics. Anyone can reach the API port, so it
// serves them only behind the bearer token of metrics.token_file or, on a
// development server, to anyone; otherwise they are served only on
// metrics.listen.
func apiMetricsRoute(m *metrics.Metrics, token string, dev bool, logger *slog.Logger) func(*http.ServeMux) {
	switch {
	case token != "":
		h := requireBearer(token, m.Handler())
		return func(mux *http.ServeMux) { mux.Handle("GET /metrics", h) }
	case dev:
		return func(mux *http.ServeMux) { mux.Handle("GET /metrics", m.Handler()) }
	}
	logger.Info("metrics are not served on the API port: set metrics.listen for a separate listener or metrics.token_file for a bearer token")
	return nil
}

// requireBearer serves h only to requests with the bearer token.
func requireBearer(token string, h http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tms metrics"`)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"result_code":"401","result_msg":"ERROR: NOT AUTHORIZED to read metrics: send Authorization: Bearer with the token of metrics.token_file."}`)
			return
		}
		h.ServeHTTP(w, r)
	})
}
