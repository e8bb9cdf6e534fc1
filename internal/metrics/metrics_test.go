package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.Admitted()
	m.Released()
	m.ReadingBody(1)
	m.RequestDone("GET /x", "GET", 200, time.Millisecond)
	m.Rejected("overload")
	m.Refused("busy", time.Microsecond)
	m.KeyIssued("client", "ed25519", "issued")
	m.KeyRetrieved("accepted")
	m.DeviceFlow("started")
	m.GaugeFunc("x", "x", nil, func() float64 { return 1 })
}

func TestExposition(t *testing.T) {
	m := New()
	m.Admitted()
	m.Released()
	m.RequestDone("POST /v1/tms/pubkeys/creds", "POST", 201, 3*time.Millisecond)
	m.Refused("overload", 20*time.Microsecond)
	m.KeyIssued("client", "ed25519", "issued")
	m.KeyRetrieved("key_expired")
	m.DeviceFlow("approved")
	m.GaugeFunc("tms_test_gauge", "A test gauge.", nil, func() float64 { return 42 })

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`tms_http_requests_total{method="POST",route="POST /v1/tms/pubkeys/creds",status="201"} 1`,
		`tms_http_request_duration_seconds_count{method="POST",route="POST /v1/tms/pubkeys/creds"} 1`,
		`tms_http_requests_in_flight 0`,
		`tms_http_request_bodies_reading 0`,
		`tms_http_rejected_total{reason="overload"} 1`,
		`tms_http_rejected_total{reason="client_gone"} 0`,
		`tms_http_refusal_duration_seconds_bucket{reason="overload",le="2.5e-05"} 1`,
		`tms_keys_issued_total{path="client",result="issued",type="ed25519"} 1`,
		`tms_keys_retrieved_total{result="key_expired"} 1`,
		`tms_device_flow_total{event="approved"} 1`,
		`tms_test_gauge 42`,
		`process_resident_memory_bytes`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}

func TestLabelValuesAreBounded(t *testing.T) {
	for method, want := range map[string]string{"GET": "GET", "DELETE": "DELETE", "get": "other", "BREW": "other",
		strings.Repeat("X", 3000): "other", "": "other"} {
		if got := MethodLabel(method); got != want {
			t.Errorf("MethodLabel(%.20q) = %q, want %q", method, got, want)
		}
	}
	m := New()
	m.KeyIssued(KeyPathUser, "DSA", KeyRefused)
	m.KeyIssued(KeyPathUser, "", KeyIssued)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	text := rec.Body.String()
	for _, want := range []string{
		`tms_keys_issued_total{path="user",result="refused",type="invalid"} 1`,
		`tms_keys_issued_total{path="user",result="issued",type="ed25519"} 1`,
		`tms_keys_issued_total{path="client",result="error",type="rsa"} 0`,
		`tms_http_rejected_total{reason="attempt_limit"} 0`,
		`tms_http_rejected_total{reason="account_backoff"} 0`,
		`tms_http_rejected_total{reason="device_code_limit"} 0`,
		`tms_http_rejected_total{reason="device_code_cap"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if strings.Contains(text, "DSA") {
		t.Error("a requested key type became a label value")
	}
}
