package directory_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/directory"
	"github.com/tmsproject/tms/internal/directory/slapdtest"
)

var users = []slapdtest.User{
	{UID: "alice", Password: "alice in wonderland"},
	{UID: "bob", Password: "bob's password", Mail: "team@tms.test"},
	{UID: "carol", Password: "carol's password", Mail: "team@tms.test"},
}

func config(s *slapdtest.Server, url string) directory.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CAPEM)
	return directory.Config{URL: url, RootCAs: pool, BindDN: slapdtest.BindDN, BindPassword: s.BindPassword,
		UserBase: slapdtest.PeopleDN, UserFilter: "(uid={username})", UsernameAttribute: "uid", Timeout: 20 * time.Second}
}

func newDirectory(t *testing.T, cfg directory.Config) *directory.Directory {
	t.Helper()
	d, err := directory.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestAuthenticate checks passwords against a real slapd over ldaps://,
// over ldap:// with StartTLS, and over plain ldap:// when allowed.
func TestAuthenticate(t *testing.T) {
	s := slapdtest.Start(t, users...)
	plain := config(s, s.LDAPURL)
	plain.InsecureNoTLS = true
	for name, cfg := range map[string]directory.Config{
		"ldaps":    config(s, s.LDAPSURL),
		"starttls": config(s, s.LDAPURL),
		"plain":    plain,
	} {
		t.Run(name, func(t *testing.T) {
			d := newDirectory(t, cfg)
			ctx := t.Context()
			id, err := d.Authenticate(ctx, "alice", "alice in wonderland")
			if err != nil || id.Username != "alice" || id.DN != "uid=alice,"+slapdtest.PeopleDN {
				t.Fatalf("right password: %+v %v", id, err)
			}
			// The directory decides how the name is spelt.
			if id, err := d.Authenticate(ctx, "ALICE", "alice in wonderland"); err != nil || id.Username != "alice" {
				t.Fatalf("upper-case username: %+v %v", id, err)
			}
			refused := map[string][2]string{
				"wrong password":       {"alice", "alice in neverland"},
				"unknown user":         {"mallory", "alice in wonderland"},
				"empty password":       {"alice", ""},
				"empty username":       {"", "alice in wonderland"},
				"injection":            {"*)(uid=*", "alice in wonderland"},
				"wildcard":             {"*", "alice in wonderland"},
				"wildcard prefix":      {"al*", "alice in wonderland"},
				"or injection":         {"alice)(|(uid=*", "alice in wonderland"},
				"escaped NUL":          {"alice\x00", "alice in wonderland"},
				"another's password":   {"bob", "alice in wonderland"},
				"password of the bind": {"alice", s.BindPassword},
			}
			for what, c := range refused {
				if id, err := d.Authenticate(ctx, c[0], c[1]); !errors.Is(err, directory.ErrWrongCredentials) || errors.Is(err, directory.ErrUnavailable) {
					t.Errorf("%s: %+v %v, want wrong credentials", what, id, err)
				}
			}
		})
	}
}

// TestEmptyPasswordNeverBinds: an empty password is refused before any
// connection, so that no unauthenticated bind can pass for a sign-in, even
// with a directory that would accept one.
func TestEmptyPasswordNeverBinds(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()
	d := newDirectory(t, directory.Config{URL: "ldap://" + l.Addr().String(), InsecureNoTLS: true, UserBase: "dc=tms,dc=test",
		UserFilter: "(uid={username})", UsernameAttribute: "uid"})
	if _, err := d.Authenticate(t.Context(), "alice", ""); !errors.Is(err, directory.ErrWrongCredentials) {
		t.Fatalf("empty password: %v", err)
	}
	l.Close()
	select {
	case <-accepted:
		t.Fatal("an empty password opened a connection to the directory")
	default:
	}
}

// TestAmbiguousFilter: a filter that matches two entries signs nobody in.
func TestAmbiguousFilter(t *testing.T) {
	s := slapdtest.Start(t, users...)
	cfg := config(s, s.LDAPSURL)
	cfg.UserFilter = "(mail={username})"
	d := newDirectory(t, cfg)
	if _, err := d.Authenticate(t.Context(), "team@tms.test", "bob's password"); !errors.Is(err, directory.ErrWrongCredentials) ||
		!strings.Contains(err.Error(), "more than one entry") {
		t.Fatalf("ambiguous filter: %v", err)
	}
	cfg.UserFilter = "(&(objectClass=inetOrgPerson)(uid={username}))"
	if _, err := newDirectory(t, cfg).Authenticate(t.Context(), "bob", "bob's password"); err != nil {
		t.Fatalf("compound filter: %v", err)
	}
}

// TestUnavailable: every way the directory can fail is told apart from
// wrong credentials.
func TestUnavailable(t *testing.T) {
	s := slapdtest.Start(t, users...)
	ctx := t.Context()
	wantUnavailable := func(t *testing.T, cfg directory.Config, what string) {
		t.Helper()
		_, err := newDirectory(t, cfg).Authenticate(ctx, "alice", "alice in wonderland")
		if !errors.Is(err, directory.ErrUnavailable) || errors.Is(err, directory.ErrWrongCredentials) || !strings.Contains(err.Error(), what) {
			t.Fatalf("got %v, want unavailable with %q", err, what)
		}
	}
	t.Run("unknown CA", func(t *testing.T) {
		cfg := config(s, s.LDAPSURL)
		cfg.RootCAs = x509.NewCertPool()
		wantUnavailable(t, cfg, "certificate")
		cfg.URL = s.LDAPURL
		wantUnavailable(t, cfg, "StartTLS")
	})
	t.Run("wrong search password", func(t *testing.T) {
		cfg := config(s, s.LDAPSURL)
		cfg.BindPassword = "not the password"
		wantUnavailable(t, cfg, "search account")
	})
	t.Run("no such base", func(t *testing.T) {
		cfg := config(s, s.LDAPSURL)
		cfg.UserBase = "ou=nobody," + slapdtest.BaseDN
		wantUnavailable(t, cfg, "search")
	})
	t.Run("TLS to a plain port", func(t *testing.T) {
		wantUnavailable(t, config(s, "ldaps://"+slapdtest.Addr(s.LDAPURL)), "TLS")
	})
	t.Run("stopped", func(t *testing.T) {
		s2 := slapdtest.Start(t, users...)
		d := newDirectory(t, config(s2, s2.LDAPSURL))
		if _, err := d.Authenticate(ctx, "alice", "alice in wonderland"); err != nil {
			t.Fatal(err)
		}
		s2.Stop(t)
		_, err := d.Authenticate(ctx, "alice", "alice in wonderland")
		if !errors.Is(err, directory.ErrUnavailable) || !strings.Contains(err.Error(), "connect") {
			t.Fatalf("stopped directory: %v", err)
		}
	})
	t.Run("silent server", func(t *testing.T) {
		// A server that accepts and never answers: the check ends with the
		// caller's context.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			if c, err := l.Accept(); err == nil {
				accepted <- c
			}
		}()
		cfg := config(s, "ldaps://"+l.Addr().String())
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := newDirectory(t, cfg).Authenticate(ctx, "alice", "alice in wonderland")
			done <- err
		}()
		c := <-accepted
		defer c.Close()
		cancel()
		if err := <-done; !errors.Is(err, directory.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("silent server: %v", err)
		}
	})
}

// TestConnectionLimit: beyond the connection limit a check waits for a
// free connection only until its context ends.
func TestConnectionLimit(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conns := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	d := newDirectory(t, directory.Config{URL: "ldap://" + l.Addr().String(), InsecureNoTLS: true, UserBase: "dc=tms,dc=test",
		UserFilter: "(uid={username})", UsernameAttribute: "uid", MaxConnections: 1, Timeout: time.Minute})
	firstCtx, cancelFirst := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() {
		_, err := d.Authenticate(firstCtx, "alice", "pw")
		first <- err
	}()
	c := <-conns // the first check holds the only connection
	defer c.Close()
	secondCtx, cancelSecond := context.WithCancel(t.Context())
	cancelSecond()
	if _, err := d.Authenticate(secondCtx, "bob", "pw"); !errors.Is(err, directory.ErrUnavailable) ||
		!strings.Contains(err.Error(), "busy") {
		t.Fatalf("second check beyond the limit: %v", err)
	}
	cancelFirst()
	if err := <-first; !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("first check: %v", err)
	}
	select {
	case c := <-conns:
		c.Close()
		t.Fatal("the refused check opened a connection")
	default:
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	base := directory.Config{URL: "ldaps://ldap.example.org", UserBase: "ou=people,dc=example,dc=org",
		UserFilter: "(uid={username})", UsernameAttribute: "uid"}
	tests := []struct {
		name string
		edit func(*directory.Config)
		want string
	}{
		{"scheme", func(c *directory.Config) { c.URL = "http://ldap.example.org" }, "url"},
		{"path", func(c *directory.Config) { c.URL = "ldaps://ldap.example.org/dc=x" }, "url"},
		{"no host", func(c *directory.Config) { c.URL = "ldaps://" }, "url"},
		{"ldaps insecure", func(c *directory.Config) { c.InsecureNoTLS = true }, "insecure_no_tls"},
		{"base", func(c *directory.Config) { c.UserBase = "not a dn" }, "user_base"},
		{"no placeholder", func(c *directory.Config) { c.UserFilter = "(uid=alice)" }, "user_filter"},
		{"bad filter", func(c *directory.Config) { c.UserFilter = "(uid={username}" }, "user_filter"},
		{"bind without password", func(c *directory.Config) { c.BindDN = "cn=x,dc=example,dc=org" }, "bind_dn"},
		{"attribute", func(c *directory.Config) { c.UsernameAttribute = "" }, "username_attribute"},
	}
	for _, tc := range tests {
		cfg := base
		tc.edit(&cfg)
		if _, err := directory.New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.want)
		}
	}
	if _, err := directory.New(base); err != nil {
		t.Fatal(err)
	}
}

var operation = regexp.MustCompile(`conn=\d+ op=\d+ (EXT|STARTTLS|BIND) dn="[^"]*" method=\d+|conn=\d+ op=\d+ (EXT|STARTTLS|SRCH base=|RESULT tag=\d+ err=\d+|SEARCH RESULT tag=\d+ err=\d+|UNBIND)`)

var (
	checkStart = regexp.MustCompile(`conn=(\d+) op=0 EXT`)
	closedConn = regexp.MustCompile(`conn=(\d+) fd=\d+ closed`)
)

// operations returns what slapd did for the one check that ran after its
// log had mark bytes: the operations and result codes of its connection,
// sorted (slapd's threads may log a result after the next request),
// without names, filters or entry counts. It waits until slapd has logged
// the connection's end.
func operations(t *testing.T, s *slapdtest.Server, mark int) []string {
	t.Helper()
	var conn string
	clocktest.Eventually(t, "slapd to log the end of the check's connection", func() bool {
		log := s.Log()[mark:]
		m := checkStart.FindStringSubmatch(log)
		if m == nil {
			return false
		}
		for _, c := range closedConn.FindAllStringSubmatch(log, -1) {
			if c[1] == m[1] {
				conn = m[1]
				return true
			}
		}
		return false
	})
	var out []string
	for _, m := range operation.FindAllStringSubmatch(s.Log()[mark:], -1) {
		if strings.HasPrefix(m[0], "conn="+conn+" ") {
			out = append(out, m[1]+m[2])
		}
	}
	slices.Sort(out)
	return out
}

// TestSameWork: an unknown user makes the directory do what a wrong
// password does, so neither the answer nor the work tells them apart; a
// refused empty password makes it do nothing.
func TestSameWork(t *testing.T) {
	s := slapdtest.Start(t, users...)
	d := newDirectory(t, config(s, s.LDAPURL))
	ctx := t.Context()
	run := func(username, password string) []string {
		mark := len(s.Log())
		d.Authenticate(ctx, username, password)
		return operations(t, s, mark)
	}
	wrong := run("alice", "not her password")
	unknown := run("mallory", "not her password")
	right := run("alice", "alice in wonderland")
	if !slices.Equal(wrong, unknown) {
		t.Fatalf("a wrong password made slapd do\n%q\nbut an unknown user\n%q", wrong, unknown)
	}
	binds := 0
	for _, op := range wrong {
		if op == "BIND" {
			binds++
		}
	}
	if binds != 2 || !slices.Contains(wrong, "RESULT tag=97 err=49") || !slices.Contains(wrong, "STARTTLS") ||
		!slices.Contains(right, "RESULT tag=97 err=0") || len(right) != len(wrong) {
		t.Fatalf("operations: wrong password %q, right password %q", wrong, right)
	}
	mark := len(s.Log())
	d.Authenticate(ctx, "alice", "")
	if ops := operation.FindAllString(s.Log()[mark:], -1); len(ops) != 0 {
		t.Fatalf("an empty password reached slapd: %q", ops)
	}
}

// BenchmarkAuthenticate measures one password check against a local slapd
// (a connection, TLS, the search bind, the search and the user's bind).
func BenchmarkAuthenticate(b *testing.B) {
	s := slapdtest.Start(b, users...)
	for name, url := range map[string]string{"ldaps": s.LDAPSURL, "starttls": s.LDAPURL} {
		b.Run(name, func(b *testing.B) {
			cfg := config(s, url)
			d, err := directory.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := d.Authenticate(b.Context(), "alice", "alice in wonderland"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
