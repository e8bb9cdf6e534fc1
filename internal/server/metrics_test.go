package server_test

import (
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/server/servertest"
	"github.com/tmsproject/tms/internal/store/postgres/pgtest"
)

// metricRow is a row of the README's metrics table: the series it names
// and, for each label, the values it lists.
type metricRow struct {
	names  []string
	labels map[string][]string
}

// openLabels take values the README describes rather than lists.
var openLabels = map[string]bool{"route": true, "status": true, "tenant": true, "upstream": true}

// createdOnUse are the metrics whose series appear with the first request
// that has their labels; every other labelled series exists from the
// start.
var createdOnUse = map[string]bool{"tms_http_requests_total": true, "tms_http_request_duration_seconds": true}

// createdByConfig are the metrics whose series exist only when the
// configuration has what they count: a tenant's directory.
// TestDirectoryConfig checks them.
var createdByConfig = map[string]bool{"tms_directory_sign_ins_total": true}

// readmeMetrics parses the metrics table of the README: the first column
// names series in backquotes; the second lists labels in backquotes, each
// followed by its values in parentheses.
func readmeMetrics(t *testing.T) map[string]metricRow {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "| series | labels | meaning |")
	if start < 0 {
		t.Fatal("README.md has no metrics table (| series | labels | meaning |)")
	}
	quoted := regexp.MustCompile("`([^`]+)`")
	label := regexp.MustCompile("^`([a-z_]+)`(?: \\(([^)]*)\\))?(?:, |$)")
	out := map[string]metricRow{}
	for _, line := range strings.Split(text[start:], "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 3 {
			t.Fatalf("README metrics row %q has %d cells, want 3", line, len(cells))
		}
		row := metricRow{labels: map[string][]string{}}
		for _, m := range quoted.FindAllStringSubmatch(cells[0], -1) {
			row.names = append(row.names, m[1])
		}
		for rest := strings.TrimSpace(cells[1]); rest != ""; rest = strings.TrimSpace(rest) {
			m := label.FindStringSubmatch(rest)
			if m == nil {
				t.Fatalf("README metrics row %q: cannot read the labels at %q", line, rest)
			}
			row.labels[m[1]] = []string{}
			if !openLabels[m[1]] {
				for _, v := range quoted.FindAllStringSubmatch(m[2], -1) {
					row.labels[m[1]] = append(row.labels[m[1]], v[1])
				}
			}
			rest = rest[len(m[0]):]
		}
		for _, name := range row.names {
			if _, dup := out[name]; dup {
				t.Errorf("README lists %s twice", name)
			}
			out[name] = row
		}
	}
	return out
}

// scrapeFamilies returns the label values of every tms_ metric a server
// exports, by metric and label. It sends testMetricsToken, which a server
// outside --dev needs (metricsTokenEnv).
func scrapeFamilies(t *testing.T, url string) map[string]map[string][]string {
	t.Helper()
	resp, err := http.Get(url + "/v1/tms/hello") // so the request metrics have a series
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, err := http.NewRequest("GET", url+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testMetricsToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string]map[string][]string{}
	for name, f := range families {
		if !strings.HasPrefix(name, "tms_") {
			continue
		}
		labels := map[string][]string{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if !slices.Contains(labels[l.GetName()], l.GetValue()) {
					labels[l.GetName()] = append(labels[l.GetName()], l.GetValue())
				}
			}
		}
		out[name] = labels
		checkHelp(t, name, f.GetHelp(), labels)
	}
	return out
}

// checkHelp fails the test when the HELP text of a labelled metric names,
// in a parenthesized list, a value none of its labels takes.
func checkHelp(t *testing.T, name, help string, labels map[string][]string) {
	t.Helper()
	if len(labels) == 0 {
		return
	}
	identifier := regexp.MustCompile(`^[a-z0-9_]+$`)
	for _, m := range regexp.MustCompile(`\(([^)]*)\)`).FindAllStringSubmatch(help, -1) {
		for item := range strings.SplitSeq(m[1], ",") {
			item = strings.TrimSpace(item)
			if !identifier.MatchString(item) {
				continue
			}
			found := false
			for _, values := range labels {
				found = found || slices.Contains(values, item)
			}
			if !found {
				t.Errorf("the HELP text of %s names %q, a value none of its labels takes: %q", name, item, help)
			}
		}
	}
}

// TestReadmeListsEveryMetric compares the README's metrics table with the
// metrics of a running server on each backend: every metric, label and
// label value the server exports is in the table, and every one the table
// lists exists from the start.
func TestReadmeListsEveryMetric(t *testing.T) {
	readme := readmeMetrics(t)
	exported := map[string]map[string][]string{}
	// The SQLite server has an upstream provider, so that its series exist.
	sqliteServer := servertest.Start(t, server.Options{Dev: true, ConfigFile: downUpstreamConfig(t)})
	for name, labels := range scrapeFamilies(t, sqliteServer.URL) {
		exported[name] = labels
	}
	if os.Getenv(pgtest.Variable) != "" {
		pg := servertest.Start(t, server.Options{Dev: true, Env: []string{"TMS_DATABASE_URL=" + pgtest.NewSchema(t)}})
		for name, labels := range scrapeFamilies(t, pg.URL) {
			if _, ok := exported[name]; !ok {
				exported[name] = labels
			}
		}
	}

	for name, labels := range exported {
		row, ok := readme[name]
		if !ok {
			t.Errorf("the README's metrics table lacks %s", name)
			continue
		}
		for l, values := range labels {
			listed, ok := row.labels[l]
			if !ok {
				t.Errorf("the README lists no label %s for %s", l, name)
				continue
			}
			if openLabels[l] {
				continue
			}
			for _, v := range values {
				if !slices.Contains(listed, v) {
					t.Errorf("the README lists no value %q of %s{%s}", v, name, l)
				}
			}
			if createdOnUse[name] {
				continue
			}
			for _, v := range listed {
				if !slices.Contains(values, v) {
					t.Errorf("the README lists %s{%s=%q}, which the server does not export at the start", name, l, v)
				}
			}
		}
		for l := range row.labels {
			if _, ok := labels[l]; !ok && !createdOnUse[name] {
				t.Errorf("the README lists a label %s for %s, which has none", l, name)
			}
		}
	}
	if os.Getenv(pgtest.Variable) == "" {
		t.Logf("only SQLite checked: set %s to check that the README lists no metric the servers lack", pgtest.Variable)
		return
	}
	for name := range readme {
		if _, ok := exported[name]; !ok && !createdByConfig[name] {
			t.Errorf("the README lists %s, which no server exports", name)
		}
	}
}
