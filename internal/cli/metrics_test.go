package cli

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tmsproject/tms/internal/clocktest"
)

// scrape reads the server's metrics into a map from series (name with
// labels) to value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsMoveDuringLoad runs tms loadtest against a dev server and
// checks that the request, key and storage counters grow by what the load
// did.
func TestMetricsMoveDuringLoad(t *testing.T) {
	_, env := startDevServer(t)
	before := scrape(t, env["TMS_URL"])
	env.ok(t, "loadtest", "--scenarios", "getkey,createkey", "--users", "4", "--iterations", "25", "--progress", "off")
	after := scrape(t, env["TMS_URL"])

	grew := func(series string, atLeast float64) {
		t.Helper()
		if d := after[series] - before[series]; d < atLeast {
			t.Errorf("%s grew by %v during the load, want at least %v", series, d, atLeast)
		}
	}
	grew(`tms_http_requests_total{method="POST",route="POST /v1/tms/pubkeys/creds/retrieve",status="200"}`, 100)
	grew(`tms_http_requests_total{method="POST",route="POST /v1/tms/pubkeys/creds",status="201"}`, 100)
	grew(`tms_http_request_duration_seconds_count{method="POST",route="POST /v1/tms/pubkeys/creds/retrieve"}`, 100)
	grew(`tms_keys_retrieved_total{result="accepted"}`, 100)
	grew(`tms_keys_issued_total{path="client",result="issued",type="ed25519"}`, 100)
	grew(`tms_db_writes_committed_total`, 100)
	grew(`tms_db_read_cache_hits_total`, 50)
	// The audit log is written in batches a moment later.
	clocktest.Eventually(t, "200 audit events written", func() bool {
		after = scrape(t, env["TMS_URL"])
		return after[`tms_audit_events_written_total`]-before[`tms_audit_events_written_total`] >= 200
	})
	if after["process_resident_memory_bytes"] <= 0 {
		t.Error("no process memory gauge")
	}
}
