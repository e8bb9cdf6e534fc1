package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tmsproject/tms/internal/totp"
)

// LoginScenario is the name of the device-flow login scenario.
const LoginScenario = "login"

// MaxLoginUsers bounds --login-users.
const MaxLoginUsers = 100000

// The login scenario signs in as the command-line client of every tenant.
const (
	loginClientID   = "tms-cli"
	deviceCodePath  = "/v1/oauth2/device/code"
	devicePagePath  = "/v1/oauth2/device"
	tokenPath       = "/v1/oauth2/token"
	deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"
	// loginDays is the lifetime approved on the consent page: the shortest.
	loginDays = "1"
)

// The stages of a login, as failures are counted; stageWait is the wait
// for a free user, which only the preflight counts.
const (
	stageWait       = "wait"
	stageDeviceCode = "device-code"
	stageCodePage   = "code-page"
	stageEnterCode  = "enter-code"
	stageSignIn     = "sign-in"
	stageApprove    = "approve"
	stageToken      = "token"
)

// Sizing of the default user pool and of the work around it.
const (
	// assumedLoginTime is the shortest login an unthrottled virtual user is
	// assumed to make: it sets how many logins such a user may need per
	// TOTP step.
	assumedLoginTime = 100 * time.Millisecond
	// maxDefaultLoginUsers caps the pool sized from the load, since every
	// user costs the server a password hash to create.
	maxDefaultLoginUsers = 500
	// loginAdminWorkers is how many users are created or deleted at once.
	loginAdminWorkers = 4
	// adminAttempts is how often an administration request is sent when
	// the server answers that it is busy.
	adminAttempts = 5
)

// loginScenario performs whole device-flow logins as tms login and a user
// at a browser would.
func loginScenario() Scenario {
	return Scenario{
		Name: LoginScenario,
		Summary: "one tms login: device code, browser pages (enter code, sign in with password and TOTP, approve), " +
			"token; expects tokens",
		Prepare: prepareLogin,
	}
}

// defaultLoginUsers sizes the user pool so that the load rarely waits for a
// user: enough for the logins of one TOTP step at the expected rate, plus
// one for each closed-model user that may hold one across a step boundary,
// but no more than the logins of the largest step and the preflight.
func defaultLoginUsers(l ScenarioLoad) int {
	perStep := l.Rate * totp.Period.Seconds()
	if l.Unthrottled {
		perStep = max(perStep, float64(l.Users)*float64(totp.Period/assumedLoginTime))
	}
	n := math.Ceil(perStep+perStep/10) + float64(l.Users)
	n = min(n, float64(l.Iterations)+1, maxDefaultLoginUsers)
	return max(1, int(n))
}

// prepareLogin creates the pool of users the logins sign in with.
func prepareLogin(ctx context.Context, env *Env) (Action, error) {
	in := env.Inputs
	var missing []string
	if in.Tenant == "" {
		missing = append(missing, "X_TMS_TENANT (--tenant)")
	}
	if in.AdminID == "" {
		missing = append(missing, "X_TMS_ADMIN_ID (--admin-id)")
	}
	if in.AdminSecret == "" {
		missing = append(missing, "X_TMS_ADMIN_SECRET (--admin-secret-file)")
	}
	if len(missing) > 0 {
		return nil, &InputError{Err: fmt.Errorf("login creates the users it signs in with, which needs the tenant administrator's "+
			"credentials: set %s (a dev server writes them to <root>/dev.env)", strings.Join(missing, ", "))}
	}
	size, sizing := env.LoginUsers, "set by --login-users"
	if size == 0 {
		size = defaultLoginUsers(env.Load)
		sizing = "sized from the load; set --login-users to change it"
	}
	base, err := url.Parse(env.client.base)
	if err != nil {
		return nil, &InputError{Err: fmt.Errorf("TMS_URL: %w", err)}
	}
	a := &loginAction{
		client:     env.client,
		con:        env.con,
		inputs:     in,
		admin:      &loginAdmin{client: env.client, inputs: in},
		prefix:     "loadtest-" + randomHex(4),
		origin:     originOf(base),
		devicePage: base.JoinPath(devicePagePath).String(),
	}
	form := url.Values{"client_id": {loginClientID}, "tenant": {in.Tenant}}
	header := http.Header{}
	header.Set("Content-Type", "application/x-www-form-urlencoded")
	header.Set("Accept", "application/json")
	if a.deviceCode, err = env.client.newRequest(http.MethodPost, deviceCodePath, header, []byte(form.Encode()), http.StatusOK, nil); err != nil {
		return nil, err
	}

	users, err := a.createUsers(ctx, size)
	if err != nil {
		cleanupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		a.Cleanup(cleanupCtx)
		return nil, err
	}
	a.pool = newUserPool(users, time.Now)
	env.Note("login: created %s %s in tenant %q, each with a TOTP secret, to sign in with (%s; one sign-in per user "+
		"per %s TOTP step allows up to %.1f logins/s); they are deleted after the run",
		countOf(size, "user"), a.userRange(size), in.Tenant, sizing, totp.Period, float64(size)/totp.Period.Seconds())
	return a, nil
}

// loginAction is the prepared login scenario. Its iterations each take a
// user from the pool; Do on the action itself (the preflight) does too.
type loginAction struct {
	client *client
	con    *console
	inputs Inputs
	admin  *loginAdmin
	prefix string
	origin string
	// devicePage is where the server's pages are under TMS_URL, opened
	// when the verification URI it sends names another origin.
	devicePage string
	deviceCode *request
	pool       *userPool

	mu      sync.Mutex
	created []string
}

// username is the name of the pool's i-th user (from 1) of n.
func (a *loginAction) username(i, n int) string {
	return fmt.Sprintf("%s-%0*d", a.prefix, len(strconv.Itoa(n)), i)
}

// userRange describes the names of n users, e.g.
// "loadtest-1a2b3c4d-01 … loadtest-1a2b3c4d-40".
func (a *loginAction) userRange(n int) string {
	if n == 1 {
		return a.username(1, 1)
	}
	return a.username(1, n) + " … " + a.username(n, n)
}

// Acquire implements Gated: it waits for a free user.
func (a *loginAction) Acquire(ctx context.Context) (Action, error) {
	l, err := a.pool.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("wait for a free login user: %w", err)
	}
	return &loginIteration{action: a, lease: l}, nil
}

// Do performs one login with a user from the pool.
func (a *loginAction) Do(ctx context.Context, keepBody bool) Outcome {
	it, err := a.Acquire(ctx)
	if err != nil {
		return Outcome{Class: classifyError(err), Err: err, Stage: stageWait}
	}
	return it.Do(ctx, keepBody)
}

// Explain says what to do about a failed login.
func (a *loginAction) Explain(o Outcome) string {
	if o.Status == 0 {
		return ""
	}
	detail := fmt.Sprintf("%d", o.Status)
	if o.Err != nil {
		detail += ": " + o.Err.Error()
	}
	tenant := a.inputs.Tenant
	switch {
	case o.Status == http.StatusNotFound && (o.Stage == stageDeviceCode || o.Stage == stageCodePage):
		return fmt.Sprintf("%s has no device flow (%s at the %s stage): TMS_URL must be the base address of a TMS server that supports tms login",
			a.inputs.URL, detail, o.Stage)
	case o.Stage == stageDeviceCode && o.Status >= 400 && o.Status < 500:
		return fmt.Sprintf("the server refused to start a device login of client %s in tenant %q (%s): check X_TMS_TENANT",
			loginClientID, tenant, detail)
	case o.Status == http.StatusTooManyRequests:
		return fmt.Sprintf("the server limits failed code entries and sign-ins from this address (%s at the %s stage): "+
			"wait a minute, then retry", detail, o.Stage)
	case o.Stage == stageSignIn && o.Status == http.StatusUnauthorized:
		return fmt.Sprintf("the server refused the sign-in of a user the suite had just created in tenant %q (%s): the TOTP "+
			"codes depend on the time, so check that this machine's clock agrees with the server's", tenant, detail)
	case o.Status == http.StatusServiceUnavailable:
		return fmt.Sprintf("the server is overloaded at the %s stage (%s): wait until it recovers, or lower the load", o.Stage, detail)
	case o.Stage != "":
		return fmt.Sprintf("the %s stage of the login failed (%s)", o.Stage, detail)
	}
	return ""
}

// loginIteration is one login with a leased user.
type loginIteration struct {
	action *loginAction
	lease  lease
}

// Do performs the login and gives the user back.
func (it *loginIteration) Do(ctx context.Context, keepBody bool) Outcome {
	defer it.action.pool.release(it.lease)
	return it.action.login(ctx, it.lease, keepBody)
}

// Explain says what to do about a failed login.
func (it *loginIteration) Explain(o Outcome) string { return it.action.Explain(o) }

// deviceGrant is the part of the device authorization response a login
// uses.
type deviceGrant struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
}

// tokenAnswer is the part of the token response a login checks.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
}

// oauthError is the RFC 6749 error body of the OAuth endpoints.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// login performs one device-flow login: the device code, the browser
// pages, the token.
func (a *loginAction) login(ctx context.Context, l lease, keepBody bool) Outcome {
	o := a.client.send(ctx, a.deviceCode, true)
	if o.Class != ClassNone {
		return failed(o, stageDeviceCode, oauthFailure(o.Body))
	}
	var grant deviceGrant
	if err := json.Unmarshal(o.Body, &grant); err != nil || grant.DeviceCode == "" || grant.UserCode == "" {
		return Outcome{Status: o.Status, Class: ClassBadResponse, Stage: stageDeviceCode,
			Err: errors.New("the device authorization lacks device_code or user_code")}
	}
	verify, err := url.Parse(grant.VerificationURI)
	if err != nil || !verify.IsAbs() {
		return Outcome{Status: o.Status, Class: ClassBadResponse, Stage: stageDeviceCode,
			Err: fmt.Errorf("the device authorization has no usable verification_uri: %q", grant.VerificationURI)}
	}
	// The server names its public address; behind a proxy that differs from
	// TMS_URL, and the load stays on TMS_URL.
	pageURL := verify.String()
	if originOf(verify) != a.origin {
		pageURL = a.devicePage
	}

	b, err := a.newBrowser()
	if err != nil {
		return Outcome{Class: ClassNetwork, Stage: stageCodePage, Err: err}
	}
	p, o := b.open(ctx, pageURL, `name="user_code"`)
	if o.Class != ClassNone {
		return failed(o, stageCodePage, nil)
	}
	p, o = b.submit(ctx, p, url.Values{"user_code": {grant.UserCode}}, `name="password"`)
	if o.Class != ClassNone {
		return failed(o, stageEnterCode, nil)
	}
	p, o = b.submit(ctx, p, url.Values{"user_code": {grant.UserCode}, "username": {l.user.name},
		"password": {l.user.password}, "otp": {l.code()}}, `value="approve"`)
	if o.Class != ClassNone {
		return failed(o, stageSignIn, nil)
	}
	if _, o = b.submit(ctx, p, url.Values{"user_code": {grant.UserCode}, "days": {loginDays}, "action": {"approve"}},
		`class="ok" id="result"`); o.Class != ClassNone {
		return failed(o, stageApprove, nil)
	}

	token := url.Values{"client_id": {loginClientID}, "grant_type": {deviceCodeGrant}, "device_code": {grant.DeviceCode}}
	header := http.Header{}
	header.Set("Content-Type", "application/x-www-form-urlencoded")
	header.Set("Accept", "application/json")
	req, err := a.client.newRequest(http.MethodPost, tokenPath, header, []byte(token.Encode()), http.StatusOK, checkTokens)
	if err != nil {
		return Outcome{Class: ClassNetwork, Stage: stageToken, Err: err}
	}
	o = a.client.send(ctx, req, true)
	if o.Class != ClassNone {
		return failed(o, stageToken, oauthFailure(o.Body))
	}
	if !keepBody {
		o.Body = nil
	}
	return o
}

// checkTokens accepts a token response with both tokens.
func checkTokens(body []byte) error {
	var t tokenAnswer
	if err := json.Unmarshal(body, &t); err != nil {
		return fmt.Errorf("token response is not the expected JSON: %w", err)
	}
	if t.AccessToken == "" || t.RefreshToken == "" || !strings.EqualFold(t.TokenType, "bearer") {
		return errors.New("token response lacks access_token, refresh_token or token_type Bearer")
	}
	return nil
}

// oauthFailure describes an OAuth error body, or returns nil when the body
// is not one.
func oauthFailure(body []byte) error {
	var e oauthError
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return nil
	}
	if e.Description == "" {
		return errors.New(e.Error)
	}
	return fmt.Errorf("%s: %s", e.Error, e.Description)
}

// failed marks a failed outcome with its stage and, when the outcome does
// not say why already, with reason.
func failed(o Outcome, stage string, reason error) Outcome {
	o.Stage = stage
	if o.Err == nil {
		o.Err = reason
	}
	return o
}

// Patterns of the device pages: the form every page posts, its CSRF token,
// and the message of an error or result page.
var (
	formActionPattern = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	csrfPattern       = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
	pageErrorPattern  = regexp.MustCompile(`id="(?:error|result)">([^<]*)<`)
)

// page is a device page a browser shows, with its one form.
type page struct {
	// url is where the page was read; the form's action is relative to it.
	url    *url.URL
	action string
	csrf   string
}

// browser walks the device pages as a browser without JavaScript does: it
// keeps the session cookie, follows redirects on the server's own origin,
// sends the Origin header with each form, and reads each page's form.
type browser struct {
	http      *http.Client
	origin    string
	userAgent string
}

// newBrowser returns a browser with no cookies over the load client's
// connections.
func (a *loginAction) newBrowser() (*browser, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("start a browser session: %w", err)
	}
	origin := a.origin
	return &browser{
		http: &http.Client{Transport: a.client.transport, Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 || originOf(req.URL) != origin {
				return http.ErrUseLastResponse
			}
			return nil
		}},
		origin:    origin,
		userAgent: a.client.userAgent,
	}, nil
}

// open loads a page and checks that it shows want.
func (b *browser) open(ctx context.Context, pageURL, want string) (page, Outcome) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
	if err != nil {
		return page{}, Outcome{Class: ClassNetwork, Err: fmt.Errorf("build the request for %s: %w", pageURL, err)}
	}
	return b.do(req, want)
}

// submit posts the form of p with fields and the page's CSRF token, and
// checks that the page it leads to shows want.
func (b *browser) submit(ctx context.Context, p page, fields url.Values, want string) (page, Outcome) {
	fields.Set("csrf", p.csrf)
	target, err := p.url.Parse(p.action)
	if err != nil {
		return page{}, Outcome{Class: ClassBadResponse, Err: fmt.Errorf("the page's form posts to %q: %w", p.action, err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(fields.Encode()))
	if err != nil {
		return page{}, Outcome{Class: ClassNetwork, Err: fmt.Errorf("build the form post to %s: %w", p.action, err)}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.origin)
	return b.do(req, want)
}

// do sends a browser request, follows its redirects and reads the page it
// ends on, which must answer 200 and contain want.
func (b *browser) do(req *http.Request, want string) (page, Outcome) {
	req.Header.Set("User-Agent", b.userAgent)
	req.Header.Set("Accept", "text/html")
	resp, err := b.http.Do(req)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return page{}, Outcome{Class: classifyError(err), Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeptBody))
	if err != nil {
		return page{}, Outcome{Status: resp.StatusCode, Class: classifyError(err), Err: fmt.Errorf("read the page: %w", err)}
	}
	o := Outcome{Status: resp.StatusCode}
	text := string(body)
	if resp.StatusCode != http.StatusOK {
		o.Class = classifyStatus(resp.StatusCode)
		if m := pageErrorPattern.FindStringSubmatch(text); m != nil {
			o.Err = errors.New(strings.TrimSpace(html.UnescapeString(m[1])))
		} else if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			o.Err = fmt.Errorf("redirected away to %s", resp.Header.Get("Location"))
		}
		return page{}, o
	}
	if !strings.Contains(text, want) {
		o.Class = ClassBadResponse
		if m := pageErrorPattern.FindStringSubmatch(text); m != nil {
			o.Err = fmt.Errorf("the page says: %s", strings.TrimSpace(html.UnescapeString(m[1])))
		} else {
			o.Err = fmt.Errorf("%s answered a page without %s", resp.Request.URL.Path, want)
		}
		return page{}, o
	}
	p := page{url: resp.Request.URL}
	if m := formActionPattern.FindStringSubmatch(text); m != nil {
		p.action = html.UnescapeString(m[1])
	}
	if m := csrfPattern.FindStringSubmatch(text); m != nil {
		p.csrf = html.UnescapeString(m[1])
	}
	return p, o
}

// originOf returns the scheme and host of a URL, as browsers send it in
// the Origin header.
func originOf(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

// countOf writes a count of things, e.g. "1 user" or "2 users".
func countOf(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// loginAdmin sends the tenant administrator's requests that create and
// delete the login users.
type loginAdmin struct {
	client *client
	inputs Inputs
}

// send makes one administration request, again when the server answers
// that it is busy, and returns the last outcome with its body.
func (ad *loginAdmin) send(ctx context.Context, method, path string, body any, expect int) Outcome {
	header := http.Header{}
	header.Set("X-TMS-TENANT", ad.inputs.Tenant)
	header.Set("X-TMS-ADMIN-ID", ad.inputs.AdminID)
	header.Set("X-TMS-ADMIN-SECRET", ad.inputs.AdminSecret.Reveal())
	header.Set("Accept", "application/json")
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return Outcome{Class: ClassNetwork, Err: fmt.Errorf("encode the %s %s body: %w", method, path, err)}
		}
		header.Set("Content-Type", "application/json")
	}
	req, err := ad.client.newRequest(method, path, header, data, expect, nil)
	if err != nil {
		return Outcome{Class: ClassNetwork, Err: err}
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var o Outcome
	for attempt := 1; ; attempt++ {
		reqCtx, cancel := context.WithTimeout(ctx, preflightTimeout)
		o = ad.client.send(reqCtx, req, true)
		cancel()
		busy := o.Status == http.StatusServiceUnavailable || o.Status == http.StatusTooManyRequests
		if !busy || attempt == adminAttempts {
			return o
		}
		wait := time.Second
		if s, err := strconv.Atoi(o.RetryAfter); err == nil && s > 0 {
			wait = min(time.Duration(s)*time.Second, 5*time.Second)
		}
		if !sleep(ctx, timer, wait) {
			return o
		}
	}
}

// createUsers creates n users with random passwords and provisions TOTP
// for each, several at a time. Every user created is remembered for
// Cleanup, also when a later step fails.
func (a *loginAction) createUsers(ctx context.Context, n int) ([]*loginUser, error) {
	users := make([]*loginUser, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(loginAdminWorkers)
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			u, err := a.createUser(gctx, a.username(i+1, n))
			users[i] = u
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("create login users: %w", err)
	}
	return users, nil
}

// createUser creates one user and provisions its TOTP secret.
func (a *loginAction) createUser(ctx context.Context, name string) (*loginUser, error) {
	pw := make([]byte, 18)
	rand.Read(pw)
	u := &loginUser{name: name, password: base64.RawURLEncoding.EncodeToString(pw)}
	o := a.admin.send(ctx, http.MethodPost, "/v1/tms/users", struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}{u.name, u.password}, http.StatusCreated)
	if o.Status == http.StatusCreated {
		a.mu.Lock()
		a.created = append(a.created, name)
		a.mu.Unlock()
	}
	if o.Class != ClassNone {
		return nil, a.adminError(ctx, "create user "+name, o)
	}
	o = a.admin.send(ctx, http.MethodPost, "/v1/tms/users/"+url.PathEscape(name)+"/totp", nil, http.StatusCreated)
	if o.Class != ClassNone {
		return nil, a.adminError(ctx, "provision TOTP for "+name, o)
	}
	var prov struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(o.Body, &prov); err != nil {
		return nil, &PreflightError{Scenario: LoginScenario, Message: fmt.Sprintf("provision TOTP for %s: the answer is not the expected JSON: %v", name, err)}
	}
	key, err := totp.ParseSecret(prov.Secret)
	if err != nil {
		return nil, &PreflightError{Scenario: LoginScenario, Message: fmt.Sprintf("provision TOTP for %s: %v", name, err)}
	}
	u.key = key
	return u, nil
}

// adminError turns a failed administration request into a message that
// says what to do.
func (a *loginAction) adminError(ctx context.Context, what string, o Outcome) error {
	if ctx.Err() != nil && o.Status == 0 {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	in := a.inputs
	msg := decodeEnvelope(o.Body).ResultMsg
	detail := strconv.Itoa(o.Status)
	if msg != "" {
		detail += ": " + msg
	}
	var text string
	switch {
	case o.Status == 0:
		text = explainTransport(in, o)
	case o.Status == http.StatusUnauthorized || o.Status == http.StatusForbidden:
		text = fmt.Sprintf("the server refused the tenant administrator credentials of %q in tenant %q (%s): check X_TMS_ADMIN_ID "+
			"and X_TMS_ADMIN_SECRET (a dev server writes them to <root>/dev.env), and that X_TMS_TENANT is their tenant",
			in.AdminID, in.Tenant, detail)
	case o.Status == http.StatusBadRequest && strings.Contains(msg, "Tenant not enabled"):
		text = fmt.Sprintf("tenant %q is disabled or does not exist on this server (%s): set X_TMS_TENANT to an enabled tenant", in.Tenant, detail)
	default:
		text = explain(in, LoginScenario, o, "")
	}
	return &PreflightError{Scenario: LoginScenario, Message: fmt.Sprintf("%s: %s", what, text)}
}

// Cleanup says how long iterations waited for users, then deletes the
// users with their sign-ins, tokens, MFA records and delegations, several
// at a time, until ctx ends.
func (a *loginAction) Cleanup(ctx context.Context) {
	if a.pool != nil {
		if waits, waited := a.pool.waitStats(); waits > 0 {
			a.con.add(fmt.Sprintf("login: %d iterations waited for a user who had not signed in during the current TOTP step, "+
				"%s in all (not counted as latency); a larger --login-users avoids it", waits, waited.Round(time.Millisecond)))
		}
	}
	a.mu.Lock()
	names := append([]string(nil), a.created...)
	a.mu.Unlock()
	if len(names) == 0 {
		return
	}
	var (
		mu       sync.Mutex
		failures []string
	)
	var g errgroup.Group
	g.SetLimit(loginAdminWorkers)
	for _, name := range names {
		g.Go(func() error {
			if err := a.deleteUser(ctx, name); err != nil {
				mu.Lock()
				failures = append(failures, err.Error())
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait() // the workers collect their failures instead
	if len(failures) == 0 {
		a.con.add(fmt.Sprintf("login: deleted the %s it created (%s-*)", countOf(len(names), "user"), a.prefix))
		return
	}
	a.con.add(fmt.Sprintf("login: could not delete %d of the %s it created (%s-*): %s; delete them with \"tms users delete\"",
		len(failures), countOf(len(names), "user"), a.prefix, failures[0]))
}

// deleteUser deletes a user and the MFA record its sign-ins made, which
// takes its delegations along. Records that are already gone are fine.
func (a *loginAction) deleteUser(ctx context.Context, name string) error {
	for _, path := range []string{"/v1/tms/users/del/", "/v1/tms/usermfa/del/"} {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		o := a.admin.send(ctx, http.MethodDelete, path+url.PathEscape(name), nil, http.StatusOK)
		if o.Class != ClassNone && o.Status != http.StatusNotFound {
			detail := o.Class.String()
			if o.Status != 0 {
				detail = strconv.Itoa(o.Status)
			}
			if msg := decodeEnvelope(o.Body).ResultMsg; msg != "" {
				detail += " " + msg
			} else if o.Err != nil {
				detail += " " + o.Err.Error()
			}
			return fmt.Errorf("DELETE %s%s: %s", path, name, detail)
		}
	}
	return nil
}
