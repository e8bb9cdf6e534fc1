package oauth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/tmsproject/tms/internal/chromiumtest"
	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/tms"
)

// TestChromiumWalk walks the pages once in a real headless Chromium: a new
// user confirms the code of the verification_uri_complete link (the page
// and the sign-in after it name the tenant), signs in,
// enrols an authenticator from the QR page, and approves the application
// the consent page names; x/oauth2 then gets the tokens.
func TestChromiumWalk(t *testing.T) {
	srv := startServer(t, sqliteBackend, serverOptions{})
	admin := tms.Credentials{Tenant: tms.TestTenant, TenantSet: true, AdminID: srv.admin.AdminID, AdminSecret: srv.admin.Secret}
	if _, err := srv.svc.CreateUser(context.Background(), admin, tms.NewUser{Username: "carol", Password: "carol password"}); err != nil {
		t.Fatal(err)
	}
	browser := chromiumtest.Context(t, 90*time.Second)
	l := startLogin(t, srv, oauth2.AuthStyleAutoDetect)
	result := l.pollInBackground()

	// step runs actions, then waits for the element with id wantID, and
	// shows the page when it does not appear.
	step := func(what, wantID string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(browser, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		defer func() {
			if t.Failed() {
				html, _ := chromedp.Run(browser, chromedp.OuterHTML("html"))
				t.Logf("%s: the page:\n%s", what, html)
			}
		}()
		clocktest.Eventually(t, what+": element #"+wantID, func() bool {
			found, err := chromedp.Run(browser, chromedp.Evaluate[bool](`document.getElementById("`+wantID+`") !== null`))
			return err == nil && found
		})
	}
	text := func(sel chromedp.ID) string {
		t.Helper()
		s, err := chromedp.Run(browser, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}

	step("open the link", "user-code", chromedp.Navigate(l.da.VerificationURIComplete))
	if got := text("user-code"); got != l.da.UserCode {
		t.Fatalf("the confirmation page shows %q, want %q", got, l.da.UserCode)
	}
	if got := text("tenant"); got != tms.TestTenant {
		t.Fatalf("the confirmation page names the tenant %q, want %q", got, tms.TestTenant)
	}
	step("confirm the code", "username", chromedp.Click(chromedp.ID("confirm")))
	if got := text("tenant"); got != tms.TestTenant {
		t.Fatalf("the sign-in page names the tenant %q, want %q", got, tms.TestTenant)
	}
	step("sign in without a one-time code", "secret",
		chromedp.SendKeys(chromedp.ID("username"), "carol"),
		chromedp.SendKeys(chromedp.ID("password"), "carol password"),
		chromedp.Click(chromedp.ID("signin")))
	qr, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll("#qr svg path").length`))
	if err != nil || qr != 1 {
		t.Fatalf("QR code on the enrolment page: %d paths, %v", qr, err)
	}
	secret := strings.ReplaceAll(text("secret"), " ", "")
	step("confirm the authenticator", "days",
		chromedp.SendKeys(chromedp.ID("otp"), totp(t, secret, 0)),
		chromedp.Click(chromedp.ID("confirm")))
	if got := text("user"); got != "carol" {
		t.Fatalf("the consent page names the user %q", got)
	}
	if got := text("app"); !strings.Contains(got, "TMS command line") {
		t.Fatalf("the consent page names the application %q", got)
	}
	step("approve for 5 days", "result",
		chromedp.SetValue(chromedp.ID("days"), "5"),
		chromedp.Click(chromedp.ID("approve")))
	if got := text("result"); !strings.Contains(got, "for 5 days") {
		t.Fatalf("the result page says %q", got)
	}

	r := <-result
	if r.err != nil {
		t.Fatalf("x/oauth2 after the browser approved: %v", r.err)
	}
	if info := me(t, srv, r.tok.AccessToken); info["username"] != "carol" {
		t.Fatalf("user/me: %v", info)
	}
}
