// Package directory checks usernames and passwords against an LDAP
// directory (OpenLDAP, 389 Directory Server, Active Directory): it connects
// over TLS (ldaps:// or StartTLS), binds as a search account, finds the
// user's entry with a filter in which the username is escaped, and binds as
// that entry with the password. Each check uses a connection of its own,
// at most a fixed number at once, and every step is bounded by the
// caller's context and the configured timeouts.
package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

// The two ways a check can fail. Errors returned by Authenticate wrap one
// of them, with the cause for logs.
var (
	// ErrWrongCredentials: the user is unknown, the password is wrong, or
	// the directory refuses the user's bind. These cases are not told
	// apart, and take the same work.
	ErrWrongCredentials = errors.New("wrong username or password")
	// ErrUnavailable: the directory cannot be reached, TLS fails, the
	// search account is refused, a timeout passes, every connection is in
	// use, or the directory answers something unexpected.
	ErrUnavailable = errors.New("directory unavailable")
)

// Limits of what Authenticate sends to the directory.
const (
	maxUsernameLen = 256
	maxPasswordLen = 1024
)

// UsernamePlaceholder is replaced in the user filter by the escaped
// username.
const UsernamePlaceholder = "{username}"

// Config configures a Directory.
type Config struct {
	// URL is "ldaps://host[:port]" or "ldap://host[:port]"; ldap:// is
	// upgraded with StartTLS unless InsecureNoTLS is set.
	URL string
	// InsecureNoTLS sends passwords over ldap:// in clear text. Only for a
	// directory on the loopback interface.
	InsecureNoTLS bool
	// RootCAs verifies the directory's certificate; nil means the system's
	// roots.
	RootCAs *x509.CertPool
	// BindDN and BindPassword are the search account; an empty BindDN
	// searches anonymously.
	BindDN       string
	BindPassword string
	// UserBase is the subtree searched for users.
	UserBase string
	// UserFilter finds a user's entry; UsernamePlaceholder stands for the
	// escaped username, e.g. "(uid={username})".
	UserFilter string
	// UsernameAttribute holds the user's name as TMS knows it, e.g. "uid".
	UsernameAttribute string
	// DialTimeout bounds connecting, TLS included (default 5s).
	DialTimeout time.Duration
	// Timeout bounds a whole check (default 10s).
	Timeout time.Duration
	// MaxConnections is how many checks may run at once (default 8); more
	// wait for at most the timeout and then fail as unavailable.
	MaxConnections int
}

// Directory checks passwords against one LDAP directory. It is safe for
// concurrent use.
type Directory struct {
	cfg      Config
	addr     string
	ldaps    bool
	tls      *tls.Config
	slots    chan struct{}
	noSuchDN string
}

// Identity is the directory entry of a user who proved their password.
type Identity struct {
	DN string
	// Username is the value of the username attribute, as the directory
	// spells it.
	Username string
}

// New checks cfg and returns a Directory. It does not connect.
func New(cfg Config) (*Directory, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("url: %q must be ldaps://HOST[:PORT] or ldap://HOST[:PORT]", cfg.URL)
	}
	d := &Directory{cfg: cfg}
	port := u.Port()
	switch u.Scheme {
	case "ldaps":
		d.ldaps = true
		if port == "" {
			port = ldap.DefaultLdapsPort
		}
		if cfg.InsecureNoTLS {
			return nil, errors.New("url: ldaps:// always uses TLS; drop insecure_no_tls")
		}
	case "ldap":
		if port == "" {
			port = ldap.DefaultLdapPort
		}
	default:
		return nil, fmt.Errorf("url: scheme %q is not ldaps or ldap", u.Scheme)
	}
	d.addr = net.JoinHostPort(u.Hostname(), port)
	d.tls = &tls.Config{RootCAs: cfg.RootCAs, ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if cfg.UserBase == "" {
		return nil, errors.New("user_base: required")
	}
	if _, err := ldap.ParseDN(cfg.UserBase); err != nil {
		return nil, fmt.Errorf("user_base: %w", err)
	}
	if cfg.BindDN != "" {
		if _, err := ldap.ParseDN(cfg.BindDN); err != nil {
			return nil, fmt.Errorf("bind_dn: %w", err)
		}
		if cfg.BindPassword == "" {
			return nil, errors.New("bind_dn: the search account has no password")
		}
	}
	if err := CheckFilter(cfg.UserFilter); err != nil {
		return nil, err
	}
	if cfg.UsernameAttribute == "" {
		return nil, errors.New("username_attribute: required")
	}
	if d.cfg.DialTimeout <= 0 {
		d.cfg.DialTimeout = 5 * time.Second
	}
	if d.cfg.Timeout <= 0 {
		d.cfg.Timeout = 10 * time.Second
	}
	if d.cfg.MaxConnections <= 0 {
		d.cfg.MaxConnections = 8
	}
	d.slots = make(chan struct{}, d.cfg.MaxConnections)
	// Unknown users are answered after a bind as this entry, which does not
	// exist, so that they take the same work as a wrong password.
	d.noSuchDN = "cn=tms-no-such-user," + cfg.UserBase
	return d, nil
}

// CheckFilter reports whether filter is a valid LDAP filter with the
// username placeholder.
func CheckFilter(filter string) error {
	if !strings.Contains(filter, UsernamePlaceholder) {
		return fmt.Errorf("user_filter: %q lacks %s", filter, UsernamePlaceholder)
	}
	if _, err := ldap.CompileFilter(strings.ReplaceAll(filter, UsernamePlaceholder, "x")); err != nil {
		return fmt.Errorf("user_filter: %q: %w", filter, err)
	}
	return nil
}

// Authenticate checks a username and password. It returns the user's entry,
// or an error that wraps ErrWrongCredentials or ErrUnavailable. An empty
// password is refused before anything is sent: a simple bind with a DN and
// no password is an unauthenticated bind, which many directories accept.
func (d *Directory) Authenticate(ctx context.Context, username, password string) (Identity, error) {
	if !plausible(username, maxUsernameLen) || password == "" || len(password) > maxPasswordLen {
		return Identity{}, ErrWrongCredentials
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	select {
	case d.slots <- struct{}{}:
		defer func() { <-d.slots }()
	case <-ctx.Done():
		return Identity{}, fmt.Errorf("%w: all %d directory connections stayed busy: %w", ErrUnavailable, d.cfg.MaxConnections, ctx.Err())
	}
	conn, err := d.connect(ctx)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer conn.close()
	if d.cfg.BindDN != "" {
		if err := conn.Bind(d.cfg.BindDN, d.cfg.BindPassword); err != nil {
			return Identity{}, fmt.Errorf("%w: bind as the search account %s: %w", ErrUnavailable, d.cfg.BindDN, conn.cause(err))
		}
	}
	entry, err := d.find(conn, username)
	if errors.Is(err, ErrWrongCredentials) {
		// The same bind as for a known user, which fails.
		if berr := d.bindUser(conn, d.noSuchDN, password); errors.Is(berr, ErrUnavailable) {
			return Identity{}, berr
		}
		return Identity{}, err
	}
	if err != nil {
		return Identity{}, err
	}
	if err := d.bindUser(conn, entry.DN, password); err != nil {
		return Identity{}, err
	}
	id := Identity{DN: entry.DN, Username: pickValue(entry.GetEqualFoldAttributeValues(d.cfg.UsernameAttribute), username)}
	if id.Username == "" {
		return Identity{}, fmt.Errorf("%w: the entry %s has no single %s value", ErrUnavailable, entry.DN, d.cfg.UsernameAttribute)
	}
	return id, nil
}

// plausible reports whether s can be a username: not empty, not too long,
// valid UTF-8 without control characters.
func plausible(s string, maxLen int) bool {
	return s != "" && len(s) <= maxLen && utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// find returns the one entry the user filter matches for username.
func (d *Directory) find(conn *conn, username string) (*ldap.Entry, error) {
	filter := strings.ReplaceAll(d.cfg.UserFilter, UsernamePlaceholder, ldap.EscapeFilter(username))
	req := ldap.NewSearchRequest(d.cfg.UserBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, int(max(1, d.cfg.Timeout/time.Second)), false, filter, []string{d.cfg.UsernameAttribute}, nil)
	res, err := conn.Search(req)
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		return nil, fmt.Errorf("%w: the filter %s matches more than one entry", ErrWrongCredentials, filter)
	case err != nil:
		return nil, fmt.Errorf("%w: search %s for %s: %w", ErrUnavailable, d.cfg.UserBase, filter, conn.cause(err))
	case len(res.Entries) == 0:
		return nil, fmt.Errorf("%w: no entry matches %s", ErrWrongCredentials, filter)
	case len(res.Entries) > 1:
		return nil, fmt.Errorf("%w: the filter %s matches more than one entry", ErrWrongCredentials, filter)
	}
	return res.Entries[0], nil
}

// bindUser binds as dn with password: nil on success, ErrWrongCredentials
// when the directory refuses, ErrUnavailable when it fails.
func (d *Directory) bindUser(conn *conn, dn, password string) error {
	err := conn.Bind(dn, password)
	switch {
	case err == nil:
		return nil
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidCredentials, ldap.LDAPResultInsufficientAccessRights,
		ldap.LDAPResultUnwillingToPerform, ldap.LDAPResultInvalidDNSyntax):
		return fmt.Errorf("%w: bind as %s: %w", ErrWrongCredentials, dn, err)
	}
	return fmt.Errorf("%w: bind as %s: %w", ErrUnavailable, dn, conn.cause(err))
}

// pickValue returns the only value, or among several the one that equals
// typed ignoring case, or "".
func pickValue(values []string, typed string) string {
	if len(values) == 1 {
		return values[0]
	}
	for _, v := range values {
		if strings.EqualFold(v, typed) {
			return v
		}
	}
	return ""
}

// conn is an LDAP connection whose socket is closed when the context of
// the check ends.
type conn struct {
	*ldap.Conn
	ctx  context.Context
	stop func() bool
}

// connect dials the directory and secures the connection.
func (d *Directory) connect(ctx context.Context) (*conn, error) {
	dialer := &net.Dialer{Timeout: d.cfg.DialTimeout}
	raw, err := dialer.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", d.addr, err)
	}
	// Every read and write ends by the deadline of the check, TLS
	// handshakes included; and the socket closes when the caller gives up.
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	var nc net.Conn = raw
	if d.ldaps {
		hsCtx, cancel := context.WithTimeout(ctx, d.cfg.DialTimeout)
		tc := tls.Client(raw, d.tls)
		err := tc.HandshakeContext(hsCtx)
		cancel()
		if err != nil {
			stop()
			raw.Close()
			return nil, fmt.Errorf("TLS with %s: %w", d.addr, err)
		}
		nc = tc
	}
	lc := ldap.NewConn(nc, d.ldaps)
	lc.Start()
	lc.SetTimeout(d.cfg.Timeout)
	c := &conn{Conn: lc, ctx: ctx, stop: stop}
	if !d.ldaps && !d.cfg.InsecureNoTLS {
		if err := lc.StartTLS(d.tls); err != nil {
			c.close()
			return nil, fmt.Errorf("StartTLS with %s: %w", d.addr, c.cause(err))
		}
	}
	return c, nil
}

// cause returns err, or the context's error when the check was cut short.
func (c *conn) cause(err error) error {
	if cerr := c.ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

// close says goodbye to the directory (an unbind) unless the check was cut
// short, and closes the connection.
func (c *conn) close() {
	if c.ctx.Err() == nil {
		c.Conn.Unbind()
	}
	c.stop()
	c.Conn.Close()
}
