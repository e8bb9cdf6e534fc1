package oauth_test

import (
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tmsproject/tms/internal/oauth"
	"github.com/tmsproject/tms/internal/tms"
	"github.com/tmsproject/tms/internal/totp/totptest"
)

// startUpstream opens the sign-in page of userCode in a new browser
// session from ip and presses the provider's button, without following
// the redirect. It returns the status of the start, or of the sign-in
// page when that was refused already.
func startUpstream(t *testing.T, srv *testServer, ip, userCode string) int {
	t.Helper()
	br := newBrowserFrom(t, srv.URL, ip)
	p := br.get(oauth.DevicePath + "/signin?tenant=" + tms.TestTenant + "&user_code=" + url.QueryEscape(userCode))
	if p.status != http.StatusOK {
		return p.status
	}
	m := upstreamLink.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no button of the provider on the sign-in page:\n%s", p.body)
	}
	br.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequest("GET", srv.URL+html.UnescapeString(m[1]), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := br.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusSeeOther && !strings.HasPrefix(resp.Header.Get("Location"), srv.URL) {
		return resp.StatusCode // sent to the provider
	}
	if resp.StatusCode == http.StatusSeeOther {
		t.Fatalf("start redirected to %s, not to the provider", resp.Header.Get("Location"))
	}
	return resp.StatusCode
}

// TestUpstreamStartsCountPerAddress: every start of an upstream sign-in
// keeps a flow in memory for the callback, in a table shared by all
// clients. One anonymous address that starts sign-ins with fresh browser
// sessions as fast as it can is held to the address's limit of attempts,
// so that it cannot fill that table (and refuse everybody's sign-ins) or
// try codes through the provider outside the limits; a user from another
// address still starts a sign-in. A sign-in that comes back gives its
// start back, so that many users behind one address (a campus NAT) who
// finish their sign-ins are never refused.
func TestUpstreamStartsCountPerAddress(t *testing.T) {
	w := newUpstreamWorld(t, sqliteBackend, worldOptions{})
	const tries, limit = 40, 10 // the default oauth.user_code_attempts_per_minute
	started, refused := 0, 0
	for i := range tries {
		switch status := startUpstream(t, w.srv, "127.0.0.2", "BCDF-GHJK"); status {
		case http.StatusSeeOther:
			started++
		case http.StatusTooManyRequests:
			refused++
		default:
			t.Fatalf("start %d: status %d", i, status)
		}
	}
	if started > limit || started+refused != tries {
		t.Fatalf("one address started %d upstream sign-ins (%d refused) of %d; want at most %d", started, refused, tries, limit)
	}
	_, userCode, _ := deviceCode(t, w.srv)
	if status := startUpstream(t, w.srv, "127.0.0.3", userCode); status != http.StatusSeeOther {
		t.Fatalf("a user from another address: start answered %d, want 303 to the provider", status)
	}
	for range 2 * limit {
		_, userCode, _ := deviceCode(t, w.srv)
		newBrowserFrom(t, w.srv.URL, "127.0.0.4").upstreamSignIn(userCode, "bob", "bob-pw").want(t, 200, "Approve access")
	}
}

// TestOneTimeCodePageCounts: the one-time code page after an upstream
// sign-in takes a user code like the other pages, and counts toward the
// same limit of the address: made-up codes from one address are looked up
// at most the limit's number of times.
func TestOneTimeCodePageCounts(t *testing.T) {
	srv := startServer(t, sqliteBackend, serverOptions{})
	br := newBrowserFrom(t, srv.URL, "127.0.0.5")
	const tries, limit = 40, 10
	looked, refused := 0, 0
	for i := range tries {
		switch p := br.get(oauth.DevicePath + "/otp?user_code=" + url.QueryEscape(madeUpCode(i))); p.status {
		case http.StatusTooManyRequests:
			refused++
		case http.StatusForbidden:
			looked++
		default:
			t.Fatalf("one-time code page %d: status %d:\n%s", i, p.status, p.body)
		}
	}
	if looked > limit || looked+refused != tries {
		t.Fatalf("%d made-up codes looked up on the one-time code page (%d refused) of %d; want at most %d", looked, refused, tries, limit)
	}
}

// TestOneTimeCodeGuessesCountPerAccount: after an upstream sign-in, wrong
// TMS one-time codes are failed sign-ins of the account, as with a
// password: from one address, the account's limit holds across logins
// (an attacker who knows the provider password cannot try codes at the
// address's higher rate), while the owner signs in from another address.
func TestOneTimeCodeGuessesCountPerAccount(t *testing.T) {
	w := newUpstreamWorld(t, sqliteBackend, worldOptions{local: tms.LocalTOTPWhenNoMFA})
	code, userCode, _ := deviceCode(t, w.srv)
	owner := newBrowserFrom(t, w.srv.URL, "127.0.0.8")
	p := owner.upstreamSignIn(userCode, "alice", "alice-pw").want(t, 200, "Set up your authenticator app")
	secret := strings.ReplaceAll(enrollSecret.FindStringSubmatch(p.body)[1], " ", "")
	p = owner.submit(p, oauth.DevicePath+"/enroll", url.Values{"user_code": {userCode}, "otp": {w.totp(t, secret, 0)}}).want(t, 200, "Approve access")
	w.approve(t, owner, p, userCode, code)

	const accountFailures = 5 // the default oauth.account_failures
	var statuses []int
	for round := range 2 {
		_, userCode, _ := deviceCode(t, w.srv)
		attacker := newBrowserFrom(t, w.srv.URL, "127.0.0.7")
		p := attacker.upstreamSignIn(userCode, "alice", "alice-pw").want(t, 200, "Enter your one-time code")
		csrf := p.field(t, "csrf")
		for range accountFailures - 1 - round {
			r := attacker.submit(p, oauth.DevicePath+"/otp", url.Values{"csrf": {csrf}, "user_code": {userCode}, "otp": {totptest.Wrong(t, secret, w.clock.Now())}})
			statuses = append(statuses, r.status)
		}
	}
	want := []int{401, 401, 401, 401, 401, 429, 429} // accountFailures wrong codes, then the account's backoff
	if !slices.Equal(statuses, want) {
		t.Fatalf("wrong one-time codes of one account from one address answered %v, want %v", statuses, want)
	}

	code, userCode, _ = deviceCode(t, w.srv)
	owner = newBrowserFrom(t, w.srv.URL, "127.0.0.8")
	p = owner.upstreamSignIn(userCode, "alice", "alice-pw").want(t, 200, "Enter your one-time code")
	p = owner.submit(p, oauth.DevicePath+"/otp", url.Values{"user_code": {userCode}, "otp": {w.totp(t, secret, 1)}}).want(t, 200, "Approve access")
	w.approve(t, owner, p, userCode, code)
}

// TestUpstreamCodeGuessesCount: someone with an account at the provider
// who signs in there again and again, each time for a made-up user code,
// has at most the address's limit of codes looked up: a callback gives
// the start its attempt back, but a code that does not exist keeps the
// callback's own counted.
func TestUpstreamCodeGuessesCount(t *testing.T) {
	w := newUpstreamWorld(t, sqliteBackend, worldOptions{})
	const tries, limit = 20, 10
	looked, refused := 0, 0
	for i := range tries {
		br := newBrowserFrom(t, w.srv.URL, "127.0.0.9")
		p := br.get(oauth.DevicePath + "/signin?tenant=" + tms.TestTenant + "&user_code=" + url.QueryEscape(madeUpCode(i)))
		if p.status == http.StatusOK {
			m := upstreamLink.FindStringSubmatch(p.body)
			if m == nil {
				t.Fatalf("no button of the provider on the sign-in page:\n%s", p.body)
			}
			if p = br.get(html.UnescapeString(m[1])); p.status == http.StatusOK {
				p = br.providerLogin(p, "bob", "bob-pw")
			}
		}
		switch {
		case p.status == http.StatusTooManyRequests:
			refused++
		case p.status == http.StatusBadRequest && strings.Contains(p.body, "is not known"):
			looked++
		default:
			t.Fatalf("try %d: status %d at %s:\n%s", i, p.status, p.path, p.body)
		}
	}
	if looked > limit || looked+refused != tries {
		t.Fatalf("%d made-up codes looked up through the provider (%d refused) of %d; want at most %d", looked, refused, tries, limit)
	}
}
