package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
	"github.com/spf13/cobra"
	"golang.org/x/oauth2"
	"golang.org/x/term"

	"github.com/tmsproject/tms/internal/client"
)

// The public OAuth client of the tms command line, which every tenant has,
// and the scope it asks for.
const (
	cliClientID = "tms-cli"
	cliScope    = "keys"
	// defaultTenant is the tenant tms login signs in to without --tenant
	// or X_TMS_TENANT.
	defaultTenant = "default"
)

// userFlags are the flags of the end-user commands (login, logout, whoami,
// keys).
type userFlags struct {
	url      string
	tenant   string
	cacert   string
	insecure bool
	timeout  time.Duration
	json     bool
}

// userConnectionHelp is appended to the help of the end-user commands.
const userConnectionHelp = `
CONNECTION
  --url or TMS_URL names the server. Without either, the commands after
  tms login use the one server you are logged in to. --cacert FILE trusts
  a self-signed server; tms login remembers it (and --insecure) for the
  commands that follow.

LOGIN
  tms login stores the tokens in your configuration directory
  ($XDG_CONFIG_HOME/tms or ~/.config/tms on Linux), one file per server,
  readable by you alone. The access token is renewed with the refresh token
  when it expires; both stop working when the approval you gave ends, when
  you run tms logout or tms access revoke tms-cli, or when an
  administrator revokes them. Keys you created stay until they expire,
  you delete them (tms keys delete), or the approval is revoked
  (tms logout --revoke, tms access revoke tms-cli).

EXIT STATUS
  0 on success, 1 when the server refused or could not be reached, 2 for
  mistakes in the command line.`

func addUserFlags(cmd *cobra.Command, f *userFlags, withTenant bool) {
	fs := cmd.Flags()
	fs.StringVar(&f.url, "url", "", "server `URL` (default $TMS_URL, else the server you are logged in to)")
	if withTenant {
		fs.StringVar(&f.tenant, "tenant", "", "`NAME` of the tenant to sign in to (default $X_TMS_TENANT, else \"default\")")
	}
	fs.StringVar(&f.cacert, "cacert", "", "trust the PEM certificates in `FILE` (for a self-signed server)")
	fs.BoolVar(&f.insecure, "insecure", false, "skip TLS certificate verification (testing only)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "time limit of each request")
}

// resolveServer returns the server a command talks to: --url, TMS_URL, or
// the only server with a stored login.
func resolveServer(f userFlags, stdio IO, store loginStore) (string, error) {
	s := pick(f.url, "url", stdio.environ(), envURL)
	if s.value != "" {
		if u, err := url.Parse(s.value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", &usageError{fmt.Errorf("%s: %q is not a server URL such as https://tms.example.org:3000", s.source, s.value)}
		}
		return normalizeServer(s.value), nil
	}
	switch servers := store.servers(); len(servers) {
	case 0:
		return "", &usageError{fmt.Errorf("no server URL: set %s or use --url", envURL)}
	case 1:
		return servers[0], nil
	default:
		return "", &usageError{fmt.Errorf("no server URL and logins to several servers (%s): set %s or use --url",
			strings.Join(servers, ", "), envURL)}
	}
}

// oauthConfig is the x/oauth2 configuration that renews a stored login at
// the server's token endpoint, which takes the tokens of every tenant. It
// sends the client id in the body, the style public clients use.
func oauthConfig(server string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: cliClientID,
		Endpoint: oauth2.Endpoint{
			TokenURL:  server + "/v1/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		Scopes: []string{cliScope},
	}
}

// oauthError turns an error of x/oauth2 into a one-line message.
func oauthError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	switch re.ErrorCode {
	case "":
		return fmt.Errorf("the server answered %s", re.Response.Status)
	case "access_denied":
		return errors.New("the request was denied in the browser")
	case "expired_token":
		return errors.New("the code expired before it was approved; run tms login again")
	}
	if re.ErrorDescription != "" {
		return fmt.Errorf("%s: %s", re.ErrorCode, re.ErrorDescription)
	}
	return errors.New(re.ErrorCode)
}

func newLoginCommand(stdio IO) *cobra.Command {
	var f userFlags
	var noQR bool
	cmd := &cobra.Command{
		Use:   "login [--url URL] [--tenant NAME]",
		Short: "Log in through a browser (OAuth 2.0 device flow)",
		Long: `Log in to a TMS server as yourself. tms login shows a web address and a
code; open the address in any browser (on this or another device), enter
the code, sign in with your password and one-time code, and approve the
request for as many days as you choose. The first time, the page helps you
set up an authenticator app.

Signing in renews your MFA record and approving gives the tms command line
(tms-cli) a delegation, so tms keys can then create and delete your own SSH
keys. tms access list shows the approval; tms logout --revoke ends it with
the keys made through it. tms login uses the OAuth endpoints of the tenant,
which it reads from the tenant's metadata
(/.well-known/oauth-authorization-server/v1/oauth2/tenants/NAME).
` + userConnectionHelp,
		Example: `  # A development server (tms server --dev) and its test user:
  . ~/.tms/dev.env
  tms login
  tms keys create --host testhost1 --account testhostaccount1

  tms login --url https://tms.example.org:3000 --tenant physics`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLogin(cmd.Context(), stdio, f, !noQR)
		},
	}
	addUserFlags(cmd, &f, true)
	cmd.Flags().BoolVar(&noQR, "no-qr", false, "do not print a QR code of the address")
	return cmd
}

func runLogin(ctx context.Context, stdio IO, f userFlags, qr bool) error {
	store, err := newLoginStore(stdio)
	if err != nil {
		return err
	}
	env := stdio.environ()
	server, err := resolveServer(f, stdio, store)
	if err != nil {
		return err
	}
	tenant := pick(f.tenant, "tenant", env, envTenant)
	if tenant.value == "" {
		tenant = setting{defaultTenant, "the default"}
	}
	if err := checkHeaderValue(tenant); err != nil {
		return &usageError{err}
	}
	if f.timeout <= 0 {
		return &usageError{fmt.Errorf("--timeout: %s is not a positive duration", f.timeout)}
	}
	api, err := client.New(client.Options{BaseURL: server, CACertFile: f.cacert, Insecure: f.insecure, Timeout: f.timeout}, client.Credentials{})
	if err != nil {
		return &usageError{fmt.Errorf("--cacert: %w", err)}
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, api.HTTPClient())
	cfg, err := tenantOAuthConfig(octx, api.HTTPClient(), server, tenant.value)
	if err != nil {
		return err
	}
	da, err := cfg.DeviceAuth(octx)
	if err != nil {
		return fmt.Errorf("start the login at %s: %w", server, oauthError(err))
	}
	showCode(stdio.Err, da, qr)
	stop := startSpinner(stdio.Err, "Waiting for you to approve in the browser")
	tok, err := cfg.DeviceAccessToken(octx, da)
	stop()
	switch {
	case errors.Is(err, context.DeadlineExceeded) && !da.Expiry.IsZero() && time.Now().After(da.Expiry):
		return errors.New("the code expired before it was approved; run tms login again")
	case errors.Is(err, context.Canceled):
		return errors.New("login canceled before it was approved")
	}
	if err != nil {
		return fmt.Errorf("log in: %w", oauthError(err))
	}
	bearer, err := client.New(client.Options{BaseURL: server, CACertFile: f.cacert, Insecure: f.insecure, Timeout: f.timeout},
		client.Credentials{BearerToken: tok.AccessToken})
	if err != nil {
		return err
	}
	me, err := bearer.Me(ctx)
	if err != nil {
		return serverFailure(err)
	}
	if old, err := store.load(server); err == nil && old.RefreshToken != tok.RefreshToken {
		// The earlier login of this server is replaced; end it.
		revoke(ctx, api.HTTPClient(), server, old.RefreshToken)
	}
	path, err := store.save(storedLogin{Server: server, Tenant: me.Tenant, ClientID: cliClientID, Username: me.Username,
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry, CACert: f.cacert, Insecure: f.insecure})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "Logged in to %s as %s (tenant %s) until %s.\nThe login is stored in %s.\n",
		server, me.Username, me.Tenant, when(me.DelegationExpiresAt), path)
	return nil
}

// showCode prints where to go and what code to enter.
func showCode(w io.Writer, da *oauth2.DeviceAuthResponse, qr bool) {
	fmt.Fprintf(w, "To log in, open this page in a browser:\n\n    %s\n\nand enter the code:\n\n    %s\n\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(w, "Or open %s\n(the page shows the code; check that it is the one above).\n", da.VerificationURIComplete)
		if qr {
			if q, err := qrcode.New(da.VerificationURIComplete, qrcode.Low); err == nil {
				fmt.Fprintf(w, "Or scan this QR code with a phone:\n\n%s\n", q.ToSmallString(false))
			}
		}
	}
	if !da.Expiry.IsZero() {
		fmt.Fprintf(w, "The code expires at %s.\n", da.Expiry.Local().Format("15:04:05"))
	}
}

// startSpinner shows a spinner with msg on w while waiting, when w is a
// terminal, and returns the function that stops it and clears the line.
func startSpinner(w io.Writer, msg string) (stop func()) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		fmt.Fprintln(w, msg+"...")
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		frames := []string{"|", "/", "-", "\\"}
		tick := time.NewTicker(150 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(f, "\r%s %s ", frames[i%len(frames)], msg)
			select {
			case <-done:
				fmt.Fprintf(f, "\r%s\r", strings.Repeat(" ", len(msg)+3))
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// revoke asks the server to revoke a token and its whole login (RFC 7009).
func revoke(ctx context.Context, hc *http.Client, server, token string) error {
	form := url.Values{"client_id": {cliClientID}, "token": {token}, "token_type_hint": {"refresh_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, server+"/v1/oauth2/revoke", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("revoke the login: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("revoke the login at %s: %w", server, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoke the login at %s: the server answered %s", server, resp.Status)
	}
	return nil
}

// userSession is a stored login ready to call the user API.
type userSession struct {
	api   *client.Client
	login storedLogin
}

// openUserSession loads the login of the server the flags name and renews
// its access token when it has expired, saving the new tokens.
func openUserSession(ctx context.Context, stdio IO, f userFlags) (*userSession, error) {
	store, err := newLoginStore(stdio)
	if err != nil {
		return nil, err
	}
	server, err := resolveServer(f, stdio, store)
	if err != nil {
		return nil, err
	}
	if f.timeout <= 0 {
		return nil, &usageError{fmt.Errorf("--timeout: %s is not a positive duration", f.timeout)}
	}
	l, err := store.load(server)
	if err != nil {
		return nil, err
	}
	cacert, insecure := l.CACert, l.Insecure
	if f.cacert != "" || f.insecure {
		cacert, insecure = f.cacert, f.insecure
	}
	opts := client.Options{BaseURL: server, CACertFile: cacert, Insecure: insecure, Timeout: f.timeout}
	plain, err := client.New(opts, client.Credentials{})
	if err != nil {
		return nil, &usageError{fmt.Errorf("--cacert: %w", err)}
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, plain.HTTPClient())
	tok, err := oauthConfig(server).TokenSource(octx, &oauth2.Token{AccessToken: l.AccessToken, RefreshToken: l.RefreshToken,
		TokenType: "Bearer", Expiry: l.Expiry}).Token()
	if err != nil {
		return nil, fmt.Errorf("renew the login to %s (run tms login again): %w", server, oauthError(err))
	}
	if tok.AccessToken != l.AccessToken {
		l.AccessToken, l.Expiry = tok.AccessToken, tok.Expiry
		if tok.RefreshToken != "" {
			l.RefreshToken = tok.RefreshToken
		}
		if _, err := store.save(l); err != nil {
			return nil, err
		}
	}
	api, err := client.New(opts, client.Credentials{BearerToken: l.AccessToken})
	if err != nil {
		return nil, err
	}
	return &userSession{api: api, login: l}, nil
}

// forget deletes the stored login of the session's server.
func (s *userSession) forget(stdio IO) error {
	store, err := newLoginStore(stdio)
	if err != nil {
		return err
	}
	return store.remove(s.login.Server)
}

func newLogoutCommand(stdio IO) *cobra.Command {
	var (
		f          userFlags
		withRevoke bool
	)
	cmd := &cobra.Command{
		Use:   "logout [--revoke] [--url URL]",
		Short: "Log out: revoke the tokens of tms login and forget them; --revoke also the approval and its keys",
		Long: `Log out of a server: the server revokes the tokens of your login (they stop
working everywhere) and the stored login is deleted.

Without --revoke, the approval you gave tms-cli and the keys you created
with tms keys create stay: the keys keep working until they expire, run out
of uses, or you delete them with tms keys delete.

With --revoke, the server also deletes the approval you gave tms-cli and
every key made through it, so sshd refuses those keys at once (the same as
tms access revoke tms-cli). Keys that other applications obtained for you
stay; tms access revoke CLIENT ends those.
` + userConnectionHelp,
		Example: "  tms logout\n  tms logout --revoke\n  tms logout --url https://tms.example.org:3000",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if withRevoke {
				return logoutRevoking(cmd.Context(), stdio, f)
			}
			store, err := newLoginStore(stdio)
			if err != nil {
				return err
			}
			server, err := resolveServer(f, stdio, store)
			if err != nil {
				return err
			}
			l, err := store.load(server)
			if err != nil {
				return err
			}
			cacert, insecure := l.CACert, l.Insecure
			if f.cacert != "" || f.insecure {
				cacert, insecure = f.cacert, f.insecure
			}
			plain, err := client.New(client.Options{BaseURL: server, CACertFile: cacert, Insecure: insecure, Timeout: f.timeout}, client.Credentials{})
			if err != nil {
				return &usageError{fmt.Errorf("--cacert: %w", err)}
			}
			revokeErr := revoke(cmd.Context(), plain.HTTPClient(), server, l.RefreshToken)
			if err := store.remove(server); err != nil {
				return err
			}
			if revokeErr != nil {
				return fmt.Errorf("the stored login is deleted, but %w", revokeErr)
			}
			fmt.Fprintf(stdio.Out, "Logged out of %s; its tokens are revoked. The approval of %s and the keys made through it stay (tms logout --revoke ends them).\n",
				server, cliClientID)
			return nil
		},
	}
	addUserFlags(cmd, &f, false)
	cmd.Flags().BoolVar(&withRevoke, "revoke", false, "also revoke the approval of tms-cli and delete the keys made through it")
	return cmd
}

// logoutRevoking revokes the delegation to tms-cli, which deletes the keys
// made through it and revokes every token of the user for tms-cli, and
// then deletes the stored login. When the server cannot be told, the
// stored login is kept, so the command can be run again.
func logoutRevoking(ctx context.Context, stdio IO, f userFlags) error {
	s, err := openUserSession(ctx, stdio, f)
	if err != nil {
		return err
	}
	rev, err := s.api.RevokeMyDelegation(ctx, cliClientID)
	if err != nil {
		return fmt.Errorf("revoke the approval of %s (the stored login is kept; run tms logout --revoke again): %w", cliClientID, serverFailure(err))
	}
	if err := s.forget(stdio); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "Logged out of %s; revoked %d tokens and the approval of %s, and deleted the %d keys made through it.\n",
		s.login.Server, rev.NumTokensRevoked, cliClientID, rev.NumKeysDeleted)
	return nil
}

func newWhoamiCommand(stdio IO) *cobra.Command {
	var f userFlags
	cmd := &cobra.Command{
		Use:   "whoami [--url URL]",
		Short: "Show who you are logged in as",
		Long: `Show the user, tenant and application of your login, and until when your
MFA record, the approval you gave and the access token last.
` + userConnectionHelp,
		Example: "  tms whoami\n  tms whoami --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openUserSession(cmd.Context(), stdio, f)
			if err != nil {
				return err
			}
			me, err := s.api.Me(cmd.Context())
			if err != nil {
				return serverFailure(err)
			}
			if f.json {
				return printJSON(stdio.Out, me.Raw())
			}
			o := newOutput(stdio.Out)
			o.field("user", me.Username)
			o.field("tenant", me.Tenant)
			o.field("server", s.login.Server)
			o.field("application", me.ClientID)
			o.field("mfa_expires_at", mfaExpiry(me.MFAExpiresAt))
			o.field("approval_expires_at", when(me.DelegationExpiresAt))
			o.field("token_expires_at", when(me.TokenExpiresAt))
			return o.flush()
		},
	}
	addUserFlags(cmd, &f, false)
	cmd.Flags().BoolVar(&f.json, "json", false, "print the server's JSON answer")
	return cmd
}

// mfaExpiry says when the user's MFA record expires. A record that never
// expires was made so by an administrator (such as testuser1 of the test
// data): signing in extends a record but never shortens it, so "never"
// would read as if the sign-in had not counted.
func mfaExpiry(t time.Time) string {
	if client.Never(t) {
		return "never (an administrator made the user's MFA record permanent; signing in does not shorten it)"
	}
	return when(t)
}
