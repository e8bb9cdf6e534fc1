package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/keys"
	"github.com/tmsproject/tms/internal/store/sqlite"
	"github.com/tmsproject/tms/internal/tms"
)

// BenchmarkRetrieveKeyAudit measures sshd's key lookup through the API
// handler, in process, over SQLite, with the audit log off and on, so that
// the cost of recording every lookup can be read from the difference.
func BenchmarkRetrieveKeyAudit(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "audit=off"
		if on {
			name = "audit=on"
		}
		b.Run(name, func(b *testing.B) {
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
			svc := tms.New(tms.Options{Store: db, Keys: gen, UnregisteredHosts: tms.AcceptUnregisteredHosts})
			if _, err := svc.Initialize(ctx); err != nil {
				b.Fatal(err)
			}
			key, err := svc.CreateKey(ctx, tms.Credentials{Tenant: tms.TestTenant, TenantSet: true, ClientSet: true,
				ClientID: tms.TestClientID, ClientSecret: tms.TestClientSecret},
				tms.KeyRequest{ClientUserID: tms.TestUser, Host: tms.TestHost, HostAccount: tms.TestHostAccount, NumUses: -1, TTLMinutes: -1})
			if err != nil {
				b.Fatal(err)
			}
			var rec *audit.Recorder
			if on {
				rec = audit.New(db, audit.Options{})
				defer rec.Close(ctx)
			}
			h := api.New(api.Options{Service: svc, Audit: rec}).Handler()
			body := `{"user":"` + tms.TestHostAccount + `","host":"` + tms.TestHost + `","public_key_fingerprint":"` + key.Pair.Fingerprint + `"}`
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/v1/tms/pubkeys/creds/retrieve", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
			b.StopTimer()
			if s := rec.Stats(); on && s.DroppedFull+s.DroppedWrite > 0 {
				b.Logf("audit events dropped: %+v", s)
			}
		})
	}
}
