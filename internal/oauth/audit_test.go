package oauth_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/oauth"
	"github.com/tmsproject/tms/internal/tms"
)

// auditEvent is an event of the audit listing.
type auditEvent struct {
	Type     string `json:"type"`
	Outcome  string `json:"outcome"`
	Tenant   string `json:"tenant"`
	User     string `json:"user"`
	ClientID string `json:"client_id"`
	Actor    string `json:"actor"`
	Detail   string `json:"detail"`
}

// listAudit lists the test tenant's audit events as its administrator.
func listAudit(t *testing.T, srv *testServer) []auditEvent {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+"/v1/tms/audit/list?limit=1000", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-TMS-TENANT", tms.TestTenant)
	req.Header.Set("X-TMS-ADMIN-ID", srv.admin.AdminID)
	req.Header.Set("X-TMS-ADMIN-SECRET", srv.admin.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Events []auditEvent `json:"events"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("audit list: status %d, %v", resp.StatusCode, err)
	}
	return out.Events
}

// postForm posts a form to the server and returns the status and the JSON
// answer, if any.
func postForm(t *testing.T, srv *testServer, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(srv.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestDeviceFlowEventsNameTenantAndUser walks a login from the device code
// to the revocation of its tokens and checks that the tenant's
// administrator sees each step in the audit list with the tenant and, once
// known, the user. (The code entry looks nothing up, so that the pages
// tell nothing about codes; its event has no tenant.)
func TestDeviceFlowEventsNameTenantAndUser(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			srv := startServer(t, b, serverOptions{audit: true})
			code, userCode, _ := deviceCode(t, srv)
			newBrowser(t, srv.URL).approve(srv, userCode)
			status, tokens := pollOnce(t, srv, code)
			if status != 200 {
				t.Fatalf("poll after approval: %d %v", status, tokens)
			}
			refresh, _ := tokens["refresh_token"].(string)
			if status, out := pollOnce(t, srv, code); status != 400 || out["error"] != "invalid_grant" {
				t.Fatalf("second redemption: %d %v", status, out)
			}
			status, renewed := postForm(t, srv, oauth.TokenPath, url.Values{"client_id": {tms.CLIClientID},
				"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
			if status != 200 {
				t.Fatalf("refresh: %d %v", status, renewed)
			}
			if status, out := postForm(t, srv, oauth.RevokePath, url.Values{"client_id": {tms.CLIClientID},
				"token": {renewed["refresh_token"].(string)}}); status != 200 {
				t.Fatalf("revoke: %d %v", status, out)
			}
			want := []struct {
				typ, outcome, user string
			}{
				{"device.start", "success", ""},
				{"user.login", "success", srv.user.Username},
				{"device.approve", "success", srv.user.Username},
				{"token.issue", "success", srv.user.Username}, // the redemption and the refresh
				{"token.issue", "invalid", srv.user.Username}, // the second redemption
				{"token.revoke", "success", srv.user.Username},
			}
			var events []auditEvent
			clocktest.Eventually(t, "seven audit events of the login", func() bool {
				events = listAudit(t, srv)
				return len(events) >= 7
			})
			for _, w := range want {
				found := false
				for _, e := range events {
					if e.Type != w.typ || e.Outcome != w.outcome {
						continue
					}
					found = true
					if e.Tenant != tms.TestTenant || e.User != w.user || e.ClientID != tms.CLIClientID {
						t.Errorf("%s/%s event: tenant %q, user %q, client %q; want %q, %q, %q", w.typ, w.outcome, e.Tenant, e.User, e.ClientID,
							tms.TestTenant, w.user, tms.CLIClientID)
					}
				}
				if !found {
					t.Errorf("the test tenant's audit list has no %s/%s event: %+v", w.typ, w.outcome, events)
				}
			}
		})
	}
}
