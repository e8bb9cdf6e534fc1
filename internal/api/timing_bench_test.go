package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/keys"
	"github.com/tmsproject/tms/internal/store/sqlite"
	"github.com/tmsproject/tms/internal/tms"
)

// BenchmarkUnknownIDTiming measures whether answers tell which ids exist:
// it times, in turns, 3,000 requests with a known client (or
// administrator) id and a wrong secret and 3,000 with an unknown id,
// through the API handler in process over SQLite, and reports the median
// of each and their difference (unknown minus known) in microseconds.
// Run it with -benchtime 1x.
func BenchmarkUnknownIDTiming(b *testing.B) {
	const samples = 3000
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(b.TempDir(), "tms.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	gen, err := keys.NewGenerator(keys.Options{})
	if err != nil {
		b.Fatal(err)
	}
	svc := tms.New(tms.Options{Store: db, Keys: gen})
	if _, err := svc.Initialize(ctx); err != nil {
		b.Fatal(err)
	}
	h := api.New(api.Options{Service: svc}).Handler()
	const wrong = "0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, kind := range []struct {
		name, path, idHeader, secretHeader, known string
	}{
		{"client", "/v1/tms/client/" + tms.TestClientID, "X-TMS-CLIENT-ID", "X-TMS-CLIENT-SECRET", tms.TestClientID},
		{"admin", "/v1/tms/client/list", "X-TMS-ADMIN-ID", "X-TMS-ADMIN-SECRET", tms.AdminID},
	} {
		b.Run(kind.name, func(b *testing.B) {
			call := func(id string) time.Duration {
				req := httptest.NewRequest(http.MethodGet, kind.path, nil)
				req.Header.Set("X-TMS-TENANT", tms.TestTenant)
				req.Header.Set(kind.idHeader, id)
				req.Header.Set(kind.secretHeader, wrong)
				w := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(w, req)
				d := time.Since(start)
				if w.Code != http.StatusUnauthorized {
					b.Fatalf("%s %s as %s: status %d, want 401", http.MethodGet, kind.path, id, w.Code)
				}
				return d
			}
			for range b.N {
				var known, unknown []time.Duration
				for range samples {
					known = append(known, call(kind.known))
					unknown = append(unknown, call("nosuch-"+kind.known))
				}
				mk, mu := median(known), median(unknown)
				b.ReportMetric(float64(mk)/1e3, "known-µs")
				b.ReportMetric(float64(mu)/1e3, "unknown-µs")
				b.ReportMetric(float64(mu-mk)/1e3, "diff-µs")
			}
		})
	}
}

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
