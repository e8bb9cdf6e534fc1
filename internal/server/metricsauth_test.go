package server_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/server/servertest"
)

// testMetricsToken is the bearer token of metricsTokenEnv.
const testMetricsToken = "0123456789abcdef0123456789abcdef-metrics"

// metricsTokenEnv writes testMetricsToken to a file and returns the
// variable that makes a server require it for /metrics on the API port.
func metricsTokenEnv(t *testing.T) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "metrics-token")
	if err := os.WriteFile(file, []byte(testMetricsToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return "TMS_METRICS_TOKEN_FILE=" + file
}

// TestMetricsNeedATokenOnTheAPIPort: outside --dev the API port, which
// anyone can reach, serves /metrics only with the bearer token of
// metrics.token_file, and not at all without one.
func TestMetricsNeedATokenOnTheAPIPort(t *testing.T) {
	client := &http.Client{Timeout: 10 * time.Second}

	plain := servertest.Start(t, server.Options{Env: baseEnv(t)})
	if status := get(t, client, plain.URL+"/metrics", nil); status != http.StatusNotFound {
		t.Fatalf("GET /metrics without metrics.token_file: %d, want 404", status)
	}

	const token = testMetricsToken
	guarded := servertest.Start(t, server.Options{Env: baseEnv(t, metricsTokenEnv(t))})
	for _, auth := range []map[string]string{nil, {"Authorization": "Bearer wrong"}, {"Authorization": token}} {
		if status := get(t, client, guarded.URL+"/metrics", auth); status != http.StatusUnauthorized {
			t.Fatalf("GET /metrics with %v: %d, want 401", auth, status)
		}
	}
	req, _ := http.NewRequest("GET", guarded.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	if _, err := io.Copy(&body, resp.Body); err != nil || resp.StatusCode != 200 || !strings.Contains(body.String(), "tms_http_requests_total") {
		t.Fatalf("GET /metrics with the token: %d %v, want 200 with the metrics", resp.StatusCode, err)
	}
}

// TestMetricsTokenFileChecked: a token file that is missing or too short
// stops the start with a message naming the setting.
func TestMetricsTokenFileChecked(t *testing.T) {
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("tooshort\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{filepath.Join(t.TempDir(), "missing"), short} {
		err := server.Run(context.Background(), server.Options{RootDir: t.TempDir(), Env: baseEnv(t, "TMS_METRICS_TOKEN_FILE="+file),
			Stdout: &servertest.Buffer{}, Stderr: &servertest.Buffer{}})
		if err == nil || !strings.Contains(err.Error(), "metrics.token_file") {
			t.Fatalf("start with token file %s: %v, want an error naming metrics.token_file", file, err)
		}
	}
}
