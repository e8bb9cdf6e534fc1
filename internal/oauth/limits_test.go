package oauth_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tmsproject/tms/internal/oauth"
)

// newBrowserFrom is a browser whose connections come from a loopback
// address of its own (127.0.0.0/8 is all local on Linux), so that the
// server sees another client address.
func newBrowserFrom(t *testing.T, base, ip string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{t: t, base: base, http: &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second}}
}

// TestSignInBurstEvaluatesAtMostTheLimit: 200 concurrent wrong sign-ins
// from one address have at most the address's limit of passwords
// checked; the rest are refused with 429 and Retry-After.
func TestSignInBurstEvaluatesAtMostTheLimit(t *testing.T) {
	srv := startServer(t, sqliteBackend, serverOptions{attempts: 10})
	_, userCode, _ := deviceCode(t, srv)
	br := newBrowser(t, srv.URL)
	form := br.get(oauth.DevicePath+"/signin?user_code="+url.QueryEscape(userCode)).want(t, 200, "Sign in")
	csrf := form.field(t, "csrf")
	before := srv.svc.PasswordChecks()

	const burst = 200
	statuses := make([]int, burst)
	retry := make([]string, burst)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Each guesses another account, so only the address limit
			// applies.
			body := url.Values{"csrf": {csrf}, "user_code": {userCode}, "username": {fmt.Sprintf("user%d", i)},
				"password": {"wrong password"}, "otp": {"123456"}}.Encode()
			req, _ := http.NewRequest("POST", srv.URL+oauth.DevicePath+"/signin", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := br.http.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i], retry[i] = resp.StatusCode, resp.Header.Get("Retry-After")
		}()
	}
	close(start)
	wg.Wait()

	checked := srv.svc.PasswordChecks() - before
	counts := map[int]int{}
	for i, s := range statuses {
		counts[s]++
		if s == http.StatusTooManyRequests && retry[i] == "" {
			t.Errorf("429 without Retry-After")
		}
	}
	if checked > 10 {
		t.Fatalf("%d passwords checked in a burst of %d from one address; the limit is 10 (answers %v)", checked, burst, counts)
	}
	// A check the password pool was too busy for answers 503.
	if counts[http.StatusUnauthorized]+counts[http.StatusServiceUnavailable] != int(checked) || counts[http.StatusTooManyRequests] != burst-int(checked) {
		t.Fatalf("answers %v for %d passwords checked", counts, checked)
	}
	wantMetrics(t, srv, fmt.Sprintf(`tms_http_rejected_total{reason="attempt_limit"} %d`, burst-int(checked)))
}

var (
	csrfPattern = regexp.MustCompile(`name="csrf" value="[^"]*"`)
	codePattern = regexp.MustCompile(`[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}`)
)

// shape is a page without what differs between two equal answers: the
// CSRF token of the session and the code that was asked about.
func shape(p page) string {
	return codePattern.ReplaceAllString(csrfPattern.ReplaceAllString(p.body, `name="csrf" value=""`), "CODE")
}

// TestNoUserCodeOracle: without a browser session that signed in for it,
// every page that takes a code answers a pending code, a code another
// session signed in for, an answered code and an unknown code alike; each
// of those pages counts towards the address's limit.
func TestNoUserCodeOracle(t *testing.T) {
	srv := startServer(t, sqliteBackend, serverOptions{attempts: 1000})
	_, pending, _ := deviceCode(t, srv)
	_, bound, _ := deviceCode(t, srv)
	newBrowser(t, srv.URL).signIn(bound, srv.user.Username, srv.user.Password, totp(t, srv.user.TOTPSecret, 0)).want(t, 200, "Approve access")
	_, answered, _ := deviceCode(t, srv)
	denier := newBrowser(t, srv.URL)
	p := denier.signIn(answered, srv.user.Username, srv.user.Password, totp(t, srv.user.TOTPSecret, 1)).want(t, 200, "Approve access")
	denier.decide(p, answered, "deny", "").want(t, 200, "Request denied")
	codes := map[string]string{"pending": pending, "bound elsewhere": bound, "answered": answered, "unknown": "BBBB-BBBB"}

	steps := []struct {
		name string
		do   func(br *browser, entry page, code string) page
	}{
		{"GET code page", func(br *browser, _ page, code string) page {
			return br.get(oauth.DevicePath + "?user_code=" + url.QueryEscape(code))
		}},
		{"POST code page", func(br *browser, entry page, code string) page {
			return br.submit(entry, oauth.DevicePath, url.Values{"user_code": {code}})
		}},
		{"GET sign-in", func(br *browser, _ page, code string) page {
			return br.get(oauth.DevicePath + "/signin?user_code=" + url.QueryEscape(code))
		}},
		{"POST sign-in", func(br *browser, entry page, code string) page {
			return br.submit(entry, oauth.DevicePath+"/signin", url.Values{"user_code": {code}, "username": {"mallory"},
				"password": {"guess"}, "otp": {"123456"}})
		}},
		{"GET enroll", func(br *browser, _ page, code string) page {
			return br.get(oauth.DevicePath + "/enroll?user_code=" + url.QueryEscape(code))
		}},
		{"POST enroll", func(br *browser, entry page, code string) page {
			return br.submit(entry, oauth.DevicePath+"/enroll", url.Values{"user_code": {code}, "otp": {"123456"}})
		}},
		{"GET consent", func(br *browser, _ page, code string) page {
			return br.get(oauth.DevicePath + "/consent?user_code=" + url.QueryEscape(code))
		}},
		{"POST consent", func(br *browser, entry page, code string) page {
			return br.decide(entry, code, "approve", "1")
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var want page
			var wantName string
			for name, code := range codes {
				br := newBrowser(t, srv.URL)
				entry := br.get(oauth.DevicePath).want(t, 200)
				p := st.do(br, entry, code)
				if p.status >= 500 || p.status == http.StatusTooManyRequests {
					t.Fatalf("%s code: status %d", name, p.status)
				}
				if wantName == "" {
					want, wantName = p, name
					continue
				}
				if p.status != want.status || shape(p) != shape(want) {
					t.Fatalf("%s code answered %d, %s code %d:\n%s\n---\n%s", name, p.status, wantName, want.status, shape(p), shape(want))
				}
			}
		})
	}

	t.Run("pages that look a code up count", func(t *testing.T) {
		limited := startServer(t, sqliteBackend, serverOptions{attempts: 10})
		br := newBrowser(t, limited.URL)
		refused := 0
		for i := range 60 {
			p := br.get(oauth.DevicePath + "/consent?user_code=" + url.QueryEscape(fmt.Sprintf("BBBB-%c%c%c%c", "BCDF"[i%4], "GHJK"[i/4%4], 'L', 'M')))
			if p.status == http.StatusTooManyRequests {
				refused++
			}
		}
		if refused != 50 {
			t.Fatalf("%d of 60 wrong codes on the consent page refused, want 50", refused)
		}
		// Once refused, the address is refused on every page.
		entry := br.get(oauth.DevicePath)
		entry.want(t, http.StatusTooManyRequests)
		br.get(oauth.DevicePath+"/signin?user_code=BBBB-BBBB").want(t, http.StatusTooManyRequests)
	})
}

// TestLegitimateUserSignsInDuringAttack: while attackers at full speed
// from ten other addresses are refused (guessing codes on the sign-in,
// enrolment and consent pages, and guessing the user's password), the
// user signs in from a new address with the real code and the device
// gets its tokens.
func TestLegitimateUserSignsInDuringAttack(t *testing.T) {
	srv := startServer(t, sqliteBackend, serverOptions{attempts: 10})
	l := startLogin(t, srv, oauth2.AuthStyleInParams)
	result := l.pollInBackground()

	var wg sync.WaitGroup
	var mu sync.Mutex
	refusedFrom := map[string]int{}
	for a := range 10 {
		ip := fmt.Sprintf("127.0.0.%d", 2+a)
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := newBrowserFrom(t, srv.URL, ip)
			entry := br.get(oauth.DevicePath).want(t, 200)
			for i := range 40 {
				guess := fmt.Sprintf("%c%c%c%c-BBBB", "BCDF"[i%4], "GHJK"[a%4], "LMNP"[i/4%4], "QRST"[i/16%4])
				var p page
				switch i % 4 {
				case 0:
					p = br.submit(entry, oauth.DevicePath+"/signin", url.Values{"user_code": {guess}, "username": {"mallory"},
						"password": {"guess"}, "otp": {"123456"}})
				case 1:
					p = br.get(oauth.DevicePath + "/consent?user_code=" + guess)
				case 2:
					p = br.get(oauth.DevicePath + "/enroll?user_code=" + guess)
				case 3:
					// The user's own account.
					p = br.submit(entry, oauth.DevicePath+"/signin", url.Values{"user_code": {guess},
						"username": {srv.user.Username}, "password": {"guess"}, "otp": {"123456"}})
				}
				if p.status == http.StatusTooManyRequests {
					mu.Lock()
					refusedFrom[ip]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(refusedFrom) != 10 {
		t.Fatalf("attackers refused: %v; want all ten addresses refused", refusedFrom)
	}
	// One more attacker, still at it, is refused ...
	attacker := newBrowserFrom(t, srv.URL, "127.0.0.2")
	attacker.get(oauth.DevicePath+"/consent?user_code=BBBB-BBBB").want(t, http.StatusTooManyRequests)
	// ... while the user, from a new address, signs in and approves.
	user := newBrowserFrom(t, srv.URL, "127.0.0.99")
	p := user.signIn(l.da.UserCode, srv.user.Username, srv.user.Password, totp(t, srv.user.TOTPSecret, 0)).want(t, 200, "Approve access")
	user.decide(p, l.da.UserCode, "approve", "1").want(t, 200, "Device approved")
	r := <-result
	if r.err != nil {
		t.Fatalf("the device after the user approved: %v", r.err)
	}
	me(t, srv, r.tok.AccessToken)
}

// TestDeviceCodeLimitPerAddress: one address may start a limited number of
// logins a minute; beyond it, 429 slow_down with Retry-After, while other
// addresses are served.
func TestDeviceCodeLimitPerAddress(t *testing.T) {
	srv := startServer(t, sqliteBackend, serverOptions{})
	post := func(br *browser) page {
		req, _ := http.NewRequest("POST", srv.URL+oauth.DeviceCodePath, strings.NewReader(url.Values{"client_id": {"tms-cli"},
			"tenant": {"test"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return br.do(req)
	}
	attacker := newBrowserFrom(t, srv.URL, "127.0.0.2")
	for i := range 30 {
		if p := post(attacker); p.status != http.StatusOK {
			t.Fatalf("login %d: %d %s", i+1, p.status, p.body)
		}
	}
	p := post(attacker).want(t, http.StatusTooManyRequests, `"error":"slow_down"`)
	if p.header.Get("Retry-After") != "2" {
		t.Errorf("Retry-After %q, want 2 (one login every 2s)", p.header.Get("Retry-After"))
	}
	post(newBrowserFrom(t, srv.URL, "127.0.0.3")).want(t, http.StatusOK, "device_code")
	srv.limiter.Add(2 * time.Second)
	post(attacker).want(t, http.StatusOK, "device_code")
	wantMetrics(t, srv, `tms_http_rejected_total{reason="device_code_limit"} 1`)
}

// TestDeviceCodeCapPerTenant: a concurrent burst of logins from several
// addresses, each within its own limit, stores at most the tenant's cap;
// the rest get 503 temporarily_unavailable with Retry-After.
func TestDeviceCodeCapPerTenant(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			srv := startServer(t, b, serverOptions{maxLive: 20})
			const perAddr, addrs = 20, 3
			type answer struct {
				status int
				body   string
				retry  string
			}
			answers := make([]answer, perAddr*addrs)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for a := range addrs {
				br := newBrowserFrom(t, srv.URL, fmt.Sprintf("127.0.0.%d", 20+a))
				for i := range perAddr {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						resp, err := br.http.PostForm(srv.URL+oauth.DeviceCodePath, url.Values{"client_id": {"tms-cli"}, "tenant": {"test"}})
						if err != nil {
							t.Error(err)
							return
						}
						defer resp.Body.Close()
						body, _ := io.ReadAll(resp.Body)
						answers[a*perAddr+i] = answer{resp.StatusCode, string(body), resp.Header.Get("Retry-After")}
					}()
				}
			}
			close(start)
			wg.Wait()
			counts := map[int]int{}
			for _, a := range answers {
				counts[a.status]++
				if a.status == http.StatusServiceUnavailable && (a.retry == "" || !strings.Contains(a.body, `"temporarily_unavailable"`)) {
					t.Errorf("503 without Retry-After or temporarily_unavailable: %q %s", a.retry, a.body)
				}
			}
			if counts[http.StatusOK] != 20 || counts[http.StatusServiceUnavailable] != perAddr*addrs-20 {
				t.Fatalf("answers %v to %d concurrent logins with a cap of 20", counts, perAddr*addrs)
			}
			wantMetrics(t, srv, fmt.Sprintf(`tms_http_rejected_total{reason="device_code_cap"} %d`, perAddr*addrs-20))
		})
	}
}

// TestSignInBudgetDeniesTheLogin: after the allowed failed sign-ins for
// one login (from any addresses), the login is denied: its device gets
// access_denied, and even the right password is told it was answered.
func TestSignInBudgetDeniesTheLogin(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			srv := startServer(t, b, serverOptions{})
			l := startLogin(t, srv, oauth2.AuthStyleInParams)
			result := l.pollInBackground()
			waitFor(t, l.rec.pending, "authorization_pending")
			for i := range 5 {
				br := newBrowserFrom(t, srv.URL, fmt.Sprintf("127.0.0.%d", 30+i))
				entry := br.get(oauth.DevicePath).want(t, 200)
				br.submit(entry, oauth.DevicePath+"/signin", url.Values{"user_code": {l.da.UserCode}, "username": {srv.user.Username},
					"password": {"guess"}, "otp": {"123456"}}).want(t, http.StatusUnauthorized, "not right")
			}
			r := <-result
			wantCode(t, r.err, "access_denied")
			newBrowser(t, srv.URL).signIn(l.da.UserCode, srv.user.Username, srv.user.Password, totp(t, srv.user.TOTPSecret, 0)).
				want(t, http.StatusConflict, "already answered")
		})
	}
}

// TestIPv6CountsPerSlash64: the addresses of one IPv6 /64 share one limit;
// another /64 has its own.
func TestIPv6CountsPerSlash64(t *testing.T) {
	srv := startServer(t, sqliteBackend, serverOptions{attempts: 10})
	consent := func(remote string) int {
		req := httptest.NewRequest("GET", oauth.DevicePath+"/consent?user_code=BBBB-BBBB", nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		srv.handler.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := range 10 {
		if code := consent(fmt.Sprintf("[2001:db8:0:1::%x]:40000", i+1)); code != http.StatusForbidden {
			t.Fatalf("attempt %d: %d, want 403 (sign in)", i+1, code)
		}
	}
	if code := consent("[2001:db8:0:1:ffff:ffff:ffff:ffff]:40000"); code != http.StatusTooManyRequests {
		t.Fatalf("another address of the same /64: %d, want 429", code)
	}
	if code := consent("[2001:db8:0:2::1]:40000"); code != http.StatusForbidden {
		t.Fatalf("an address of another /64: %d, want 403", code)
	}
}

// TestAccountBackoff: failed sign-ins of one account from one address hold
// back that address for that account only: the same address may still
// try another account, and the owner signs in from another address. The
// failures from all addresses raise the alarm without refusing anyone.
func TestAccountBackoff(t *testing.T) {
	srv := startServer(t, sqliteBackend, serverOptions{attempts: 100, attemptsTotal: 6})
	_, userCode, _ := deviceCode(t, srv)
	attacker := newBrowserFrom(t, srv.URL, "127.0.0.40")
	entry := attacker.get(oauth.DevicePath).want(t, 200)
	guess := func(username string) page {
		return attacker.submit(entry, oauth.DevicePath+"/signin", url.Values{"user_code": {"BBBB-BBBB"}, "username": {username},
			"password": {"guess"}, "otp": {"123456"}})
	}
	for range 5 {
		guess(srv.user.Username).want(t, http.StatusUnauthorized, "not right")
	}
	p := guess(srv.user.Username).want(t, http.StatusTooManyRequests, "Too many")
	if p.header.Get("Retry-After") != "180" {
		t.Errorf("Retry-After %q, want 180 (one failure back every 3 minutes)", p.header.Get("Retry-After"))
	}
	guess("mallory").want(t, http.StatusUnauthorized, "not right")
	wantMetrics(t, srv, `tms_http_rejected_total{reason="account_backoff"} 1`, `tms_alarms_total{alarm="signin_failures"} 1`)
	newBrowserFrom(t, srv.URL, "127.0.0.41").signIn(userCode, srv.user.Username, srv.user.Password, totp(t, srv.user.TOTPSecret, 0)).
		want(t, 200, "Approve access")
}
