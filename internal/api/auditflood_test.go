package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

// TestMadeUpLookupsFoldPerSource: key lookups need no credentials, so
// anyone can send lookups of keys nobody has, or malformed ones, with a
// new fingerprint each time. From one address they make a bounded number
// of audit entries, whose repeats count every request; the lookup of a
// real key is still an entry of its own.
func TestMadeUpLookupsFoldPerSource(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ref := &storeRef{}
		rec := audit.New(ref, audit.Options{Buffer: 20_000, FlushInterval: 5 * time.Millisecond, FailureWindow: time.Hour})
		s := newStack(t, b, stackOptions{API: api.Options{Audit: rec}})
		ref.st.Store(&s.Store)
		fp := s.createKey(t, clientHdr("test", tms.TestClientID, tms.TestClientSecret), keyBody(tms.TestUser, 3, 60)).
			str(t, "public_key_fingerprint")
		const requests, workers = 3_000, 8
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < requests; i += workers {
					body := fmt.Sprintf(`{"user":%q,"host":%q,"public_key_fingerprint":"SHA256:made-up-%d"}`, tms.TestHostAccount, tms.TestHost, i)
					if i%3 == 0 {
						body = fmt.Sprintf(`{"user":"made-up-%d"`, i) // malformed
					}
					req, _ := http.NewRequest("POST", s.URL+"/v1/tms/pubkeys/creds/retrieve", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					resp, err := s.client.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		s.retrieve(t, tms.TestHostAccount, tms.TestHost, fp).want(t, 200)
		if err := rec.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		rows, repeats, real := 0, 0, 0
		for _, tenant := range []string{"test", ""} {
			events, err := s.Store.ListAudit(context.Background(), store.AuditQuery{Tenant: tenant, Type: audit.TypeKeyRetrieve, Limit: 100_000})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events {
				if e.Fingerprint == fp {
					real++
					continue
				}
				rows++
				repeats += e.Repeats
			}
		}
		if rows > 4 || repeats != requests || real != 1 {
			t.Fatalf("%d made-up lookups made %d audit entries standing for %d (want at most 4 for %d); the real one %d entries (want 1)",
				requests, rows, repeats, requests, real)
		}
	})
}
