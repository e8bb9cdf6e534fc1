package api_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/tms"
)

// gauge returns the value of the unlabelled gauge name, or -1 when it
// does not exist.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// slowBody opens a connection to the server at base and starts a key
// lookup whose body it never finishes: the headers announce 1,000 bytes,
// and one arrives.
func slowBody(t *testing.T, base string) net.Conn {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatalf("open a slow connection: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	_, err = fmt.Fprintf(c, "POST /v1/tms/pubkeys/creds/retrieve HTTP/1.1\r\nHost: %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", u.Host)
	if err != nil {
		t.Fatalf("write the slow request: %v", err)
	}
	return c
}

// slowBodies is the number of slow connections TestSlowBodiesTakeNoSlot
// opens, fifty times the slots; "benchtool slowbodies" measures a server
// with 2,000.
const slowBodies = 200

// TestSlowBodiesTakeNoSlot: many more connections than in-flight slots
// send their bodies slowly; none takes a slot, and a normal client's
// requests all succeed meanwhile.
func TestSlowBodiesTakeNoSlot(t *testing.T) {
	m := metrics.New()
	s := newStack(t, backends[0], stackOptions{API: api.Options{MaxInFlight: 4, BodyTimeout: time.Minute, Metrics: m}})
	fp := s.createKey(t, testClient(), keyBody(tms.TestUser, -1, -1)).str(t, "public_key_fingerprint")

	n := slowBodies
	for range n {
		slowBody(t, s.URL)
	}
	clocktest.Eventually(t, fmt.Sprintf("%d slow bodies being read", n), func() bool {
		return gauge(t, m.Registry(), "tms_http_request_bodies_reading") == float64(n)
	})
	if got := gauge(t, m.Registry(), "tms_http_requests_in_flight"); got != 0 {
		t.Fatalf("%v requests hold a slot while %d bodies trickle in, want 0", got, n)
	}
	const probes = 50
	for i := range probes {
		if r := s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp); r.Status != http.StatusOK {
			t.Fatalf("probe %d of %d with %d slow bodies open: status %d %s", i+1, probes, n, r.Status, r.Raw)
		}
	}
	t.Logf("%d probe requests succeeded while %d slow bodies were open (4 slots)", probes, n)
}

// TestSlowBodyTimesOut: a body that does not arrive within the body
// timeout is answered 408 and its connection closed.
func TestSlowBodyTimesOut(t *testing.T) {
	m := metrics.New()
	s := newStack(t, backends[0], stackOptions{API: api.Options{BodyTimeout: 50 * time.Millisecond, Metrics: m}})
	c := slowBody(t, s.URL)
	c.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
		t.Fatalf("answer %s (close %v), want 408 and the connection closed", resp.Status, resp.Close)
	}
	if got := counter(t, m.Registry(), "tms_http_rejected_total", map[string]string{"reason": "slow_body"}); got != 1 {
		t.Fatalf("tms_http_rejected_total{reason=slow_body} = %v, want 1", got)
	}
	// A normal request still gets its answer.
	s.call(t, "GET", "/v1/tms/version", hdr{}, nil).want(t, 200)
}
