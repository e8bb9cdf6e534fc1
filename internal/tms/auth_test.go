package tms

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/tmsproject/tms/internal/store/readcache"
	"github.com/tmsproject/tms/internal/store/sqlite"
)

// TestUnknownIDDoesTheSameWork checks that a request with an unknown
// client or administrator id does the same work as one with a known id
// and a wrong secret, counted in allocations: both are answered from the
// read cache, and both compare the secret against a hash (a dummy one for
// the unknown id). Were either missing, the unknown id would allocate
// less (no comparison) or much more (a database read).
func TestUnknownIDDoesTheSameWork(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "tms.db")})
	if err != nil {
		t.Fatal(err)
	}
	st := readcache.Wrap(db, 1000)
	t.Cleanup(func() { st.Close() })
	svc := New(Options{Store: st})
	if _, err := svc.Initialize(ctx); err != nil {
		t.Fatal(err)
	}
	const wrong = "0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name           string
		known, unknown Credentials
	}{
		{"client",
			Credentials{Tenant: TestTenant, TenantSet: true, ClientSet: true, ClientID: TestClientID, ClientSecret: wrong},
			Credentials{Tenant: TestTenant, TenantSet: true, ClientSet: true, ClientID: "nosuch", ClientSecret: wrong}},
		{"administrator",
			Credentials{Tenant: TestTenant, TenantSet: true, AdminID: AdminID, AdminSecret: wrong},
			Credentials{Tenant: TestTenant, TenantSet: true, AdminID: "~~nosuch", AdminSecret: wrong}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			allocs := func(c Credentials) float64 {
				return testing.AllocsPerRun(200, func() {
					if _, err := svc.ListClients(ctx, c); ErrorKind(err) != KindUnauthorized {
						t.Fatalf("list clients as %+v: %v, want 401", c, err)
					}
				})
			}
			known, unknown := allocs(tc.known), allocs(tc.unknown)
			// One allocation apart is noise: the race detector makes
			// sync.Pool (used by fmt) drop items at random. Leaving out
			// the comparison saves three; a database read costs dozens.
			if math.Abs(known-unknown) > 1 {
				t.Fatalf("a known id with a wrong secret allocates %v times, an unknown id %v: they do different work", known, unknown)
			}
		})
	}
}
