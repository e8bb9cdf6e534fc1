package api_test

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/tms"
)

// seriesOf returns every series of the registry's tms_ metrics, as the
// metric name with its labels.
func seriesOf(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "tms_") {
			continue
		}
		for _, m := range f.GetMetric() {
			var b strings.Builder
			b.WriteString(f.GetName())
			for _, l := range m.GetLabel() {
				b.WriteString(" " + l.GetName() + "=" + l.GetValue())
			}
			out = append(out, b.String())
		}
	}
	slices.Sort(out)
	return out
}

// tokenChars are the characters of an HTTP token (RFC 9110 §5.6.2), which
// a request method may be made of.
const tokenChars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomString returns n characters drawn from chars.
func randomString(rng *rand.Rand, chars string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[rng.IntN(len(chars))]
	}
	return string(b)
}

// TestRandomMethodsAndPathsAddNoSeries sends 1,000 requests with made-up
// methods (up to 3,000 characters) and paths, and checks that the request
// metrics have no series more than before: methods outside the standard
// set count as "other" and unmatched paths as "unmatched".
func TestRandomMethodsAndPathsAddNoSeries(t *testing.T) {
	m := metrics.New()
	s := newStack(t, backends[0], stackOptions{API: api.Options{Metrics: m}})
	send := func(method, path string) {
		t.Helper()
		req, err := http.NewRequest(method, s.URL+path, nil)
		if err != nil {
			t.Fatalf("request %.40s %.80s: %v", method, path, err)
		}
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatalf("%.40s %.80s: %v", method, path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("%.40s %.80s answered %d, want 404 or 405", method, path, resp.StatusCode)
		}
	}
	// One request of each kind the random ones are made of.
	send("BREW", "/x/warm-up")
	send("BREW", "/v1/tms/hello")
	send("GET", "/x/warm-up")
	before := seriesOf(t, m.Registry())

	routes := []string{"/v1/tms/hello", "/v1/tms/pubkeys/creds", "/v1/tms/client/list", "/v1/tms/user/keys", "/v1/tms/tenants/list"}
	pathChars := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 1000 {
		method := randomString(rng, tokenChars, 1+rng.IntN(3000))
		if metrics.MethodLabel(method) != metrics.MethodOther {
			method += "X"
		}
		var path string
		switch i % 4 {
		case 0: // a registered route with a method it does not have
			path = routes[rng.IntN(len(routes))]
		case 1: // a path no route has, with a standard method
			method = "GET"
			path = "/x/" + randomString(rng, pathChars, 1+rng.IntN(200))
		default: // deeper than any route
			path = "/v1/tms"
			for range 7 {
				path += "/" + randomString(rng, pathChars, 1+rng.IntN(30))
			}
		}
		send(method, path)
	}
	if after := seriesOf(t, m.Registry()); !slices.Equal(before, after) {
		t.Errorf("1,000 requests with made-up methods and paths changed the series\nbefore: %d %q\nafter:  %d %q",
			len(before), before, len(after), after)
	}
}

// TestKeyRetrievalSeriesExistFromTheStart checks that every result of a key
// lookup, each refusal among them, has its series before any lookup.
func TestKeyRetrievalSeriesExistFromTheStart(t *testing.T) {
	m := metrics.New()
	api.New(api.Options{Metrics: m})
	series := seriesOf(t, m.Registry())
	want := []string{"accepted", "error", "no_such_key", "key_expired", "no_uses_left", "mfa_disabled", "mfa_expired",
		"no_delegation", "host_mapping_expired", "client_disabled", "host_credential_mismatch", "other_tenant", "host_unregistered"}
	if n := len(tms.Refusals()) + 2; len(want) > n {
		t.Fatalf("test lists more results than there are")
	}
	for _, result := range want {
		if !slices.Contains(series, "tms_keys_retrieved_total result="+result) {
			t.Errorf("no series tms_keys_retrieved_total{result=%q} at the start: %q", result, series)
		}
	}
	n := 0
	for _, s := range series {
		if strings.HasPrefix(s, "tms_keys_retrieved_total ") {
			n++
		}
	}
	if n != len(tms.Refusals())+2 {
		t.Errorf("%d tms_keys_retrieved_total series, want one per refusal (%d) plus accepted and error", n, len(tms.Refusals()))
	}
}
