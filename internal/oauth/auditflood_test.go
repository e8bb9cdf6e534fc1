package oauth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/oauth"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

// TestAnonymousRequestsFoldInAudit: what anyone can send to the OAuth
// endpoints and pages without credentials (made-up device codes and
// refresh tokens, unsupported grants, revocations of made-up tokens,
// code entries) cannot grow the audit log at request rate: from one
// address they make a bounded number of entries, whose repeats count
// every request.
func TestAnonymousRequestsFoldInAudit(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			srv := startServer(t, b, serverOptions{audit: true, auditWindow: time.Hour})
			br := newBrowser(t, srv.URL)
			csrf := br.get(oauth.DevicePath).want(t, 200).field(t, "csrf")
			const each, workers = 300, 8
			kinds := []struct {
				path string
				form func(i int) url.Values
			}{
				{oauth.TokenPath, func(i int) url.Values {
					return url.Values{"client_id": {fmt.Sprint("made-up-", i)}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
						"device_code": {fmt.Sprint("guess-", i)}}
				}},
				{oauth.TokenPath, func(i int) url.Values {
					return url.Values{"client_id": {tms.CLIClientID}, "grant_type": {"refresh_token"}, "refresh_token": {fmt.Sprint("guess-", i)}}
				}},
				{oauth.TokenPath, func(i int) url.Values {
					return url.Values{"client_id": {tms.CLIClientID}, "grant_type": {fmt.Sprint("made-up-", i)}}
				}},
				{oauth.RevokePath, func(i int) url.Values {
					return url.Values{"client_id": {fmt.Sprint("made-up-", i)}, "token": {fmt.Sprint("guess-", i)}}
				}},
				{oauth.DevicePath, func(i int) url.Values {
					return url.Values{"csrf": {csrf}, "user_code": {madeUpCode(i)}}
				}},
			}
			var wg sync.WaitGroup
			for _, k := range kinds {
				for w := range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := w; i < each; i += workers {
							req, _ := http.NewRequest("POST", srv.URL+k.path, strings.NewReader(k.form(i).Encode()))
							req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
							resp, err := http.DefaultTransport.RoundTrip(withCookies(br, req))
							if err != nil {
								t.Error(err)
								return
							}
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
					}()
				}
			}
			wg.Wait()
			if err := srv.audit.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			rows, repeats := 0, 0
			byType := map[string]int{}
			for _, tenant := range []string{"", tms.TestTenant, tms.DefaultTenant} {
				events, err := srv.st.ListAudit(context.Background(), store.AuditQuery{Tenant: tenant, Limit: 100_000})
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range events {
					rows++
					repeats += e.Repeats
					byType[e.Type+"/"+e.Outcome]++
				}
			}
			if total := each * len(kinds); rows > 4*len(kinds) || repeats != total {
				t.Fatalf("%d anonymous requests made %d audit entries standing for %d; want at most %d entries (%v)",
					total, rows, repeats, 4*len(kinds), byType)
			}
		})
	}
}

// withCookies adds the browser's cookies for the request's URL.
func withCookies(b *browser, req *http.Request) *http.Request {
	for _, c := range b.http.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	return req
}

// madeUpCode is a well-formed user code made of n.
func madeUpCode(n int) string {
	const alphabet = "BCDFGHJKLMNPQRSTVWXZ"
	code := []byte("BCDF-BCDF")
	for i := len(code) - 1; i > 4 && n > 0; i-- {
		code[i] = alphabet[n%len(alphabet)]
		n /= len(alphabet)
	}
	return string(code)
}
