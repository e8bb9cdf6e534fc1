package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkSend measures one request of the hot loop against a server
// that answers at once: the generator's own cost per request.
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"public_key":"ssh-ed25519 AAAA","result_code":"0","result_msg":"success"}`))
	}))
	defer srv.Close()
	c, err := newClient(srv.URL, TLSOptions{}, 4)
	if err != nil {
		b.Fatal(err)
	}
	defer c.close()
	header := http.Header{}
	header.Set("Content-Type", "application/json")
	req, err := c.newRequest(http.MethodPost, "/v1/tms/pubkeys/creds/retrieve", header,
		[]byte(`{"user":"u","user_uid":"1","keytype":"ed25519","host":"h","public_key_fingerprint":"SHA256:x"}`), http.StatusOK, nil)
	if err != nil {
		b.Fatal(err)
	}
	rec := newRecorder(1, 1, CorrectionNone, 0, identity)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		rec.begin()
		reqCtx, cancel := context.WithTimeout(ctx, DefaultTimeout)
		o := c.send(reqCtx, req, false)
		cancel()
		if o.Class != ClassNone {
			b.Fatalf("request failed: %v %v", o.Class, o.Err)
		}
		rec.record(0, 0, 0, 0, 0, o)
	}
}
