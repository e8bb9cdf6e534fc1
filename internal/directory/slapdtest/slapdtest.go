// Package slapdtest runs a throw-away OpenLDAP slapd for tests: its own
// configuration, MDB database, CA and server certificate in a temporary
// directory, a few users with passwords, and listeners for ldap:// (with
// StartTLS) and ldaps:// on free loopback ports. It needs Debian's slapd
// package and skips the test with a message without it. Only tests import
// it.
package slapdtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/needtest"
)

// The programs of Debian's slapd package.
const (
	SlapdPath  = "/usr/sbin/slapd"
	slapaddBin = "/usr/sbin/slapadd"
)

// The names of the test directory.
const (
	// BaseDN is the suffix of the database.
	BaseDN = "dc=tms,dc=test"
	// PeopleDN holds the users.
	PeopleDN = "ou=people," + BaseDN
	// BindDN is the service account that may search the users.
	BindDN = "cn=tms-search,ou=services," + BaseDN
)

// startTimeout bounds the start of slapd, and stopTimeout its shutdown.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// User is an entry of ou=people.
type User struct {
	UID      string
	Password string
	// Mail is optional; two users may share it (to test ambiguous filters).
	Mail string
}

// Server is a running slapd.
type Server struct {
	// LDAPURL is the ldap:// listener (plain, with StartTLS offered) and
	// LDAPSURL the ldaps:// one, both on 127.0.0.1.
	LDAPURL, LDAPSURL string
	// CAFile is the PEM file of the CA that signed the server certificate
	// (for 127.0.0.1 and localhost); CAPEM is its content.
	CAFile string
	CAPEM  []byte
	// BindPassword is the password of BindDN.
	BindPassword string

	conf string
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	log  bytes.Buffer
	stop sync.Once
}

// Start runs slapd with users under PeopleDN until the test ends. When
// slapd is not installed it fails the test in CI and skips it elsewhere
// (needtest); it fails the test when slapd cannot start.
func Start(t testing.TB, users ...User) *Server {
	t.Helper()
	for _, p := range []string{SlapdPath, slapaddBin} {
		if _, err := os.Stat(p); err != nil {
			needtest.Missing(t, p+" is missing; install Debian's slapd package (scripts/test.sh does as root)")
		}
	}
	dir := t.TempDir()
	// slapd may run as another user on some systems; let it read its files.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	caPEM := writeCerts(t, dir)
	s := &Server{CAFile: filepath.Join(dir, "ca.pem"), CAPEM: caPEM, BindPassword: "search " + randomText(8)}
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	s.conf = filepath.Join(dir, "slapd.conf")
	writeFile(t, s.conf, slapdConf(dir))
	writeFile(t, filepath.Join(dir, "data.ldif"), dataLDIF(s.BindPassword, users))
	run(t, slapaddBin, "-f", s.conf, "-l", filepath.Join(dir, "data.ldif"))

	// A free port can be taken by someone else before slapd binds it; then
	// slapd exits at once and is started again on other ports.
	var lastErr error
	for range 5 {
		ldapPort, ldapsPort := freePort(t), freePort(t)
		s.LDAPURL = fmt.Sprintf("ldap://127.0.0.1:%d", ldapPort)
		s.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", ldapsPort)
		if lastErr = s.start(t, s.conf); lastErr == nil {
			t.Cleanup(func() { s.Stop(t) })
			return s
		}
	}
	t.Fatalf("slapd did not start: %v", lastErr)
	return nil
}

// start runs slapd in the foreground and waits until it says it is
// serving.
func (s *Server) start(t testing.TB, conf string) error {
	s.mu.Lock()
	s.log.Reset()
	s.mu.Unlock()
	// "-d stats" keeps slapd in the foreground and logs every
	// connection and operation to standard error (see Log).
	cmd := exec.Command(SlapdPath, "-h", s.LDAPURL+"/ "+s.LDAPSURL+"/", "-f", conf, "-d", "stats")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	cmd.Stdout = nil
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", SlapdPath, err)
	}
	ready := make(chan struct{})
	s.cmd, s.done = cmd, make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			if !signalled && strings.HasSuffix(line, "slapd starting") {
				signalled = true
				close(ready)
			}
		}
		cmd.Wait()
		close(s.done)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-ready:
	case <-s.done:
		return fmt.Errorf("slapd exited: %s", s.Log())
	case <-timer.C:
		cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("slapd did not report that it started within %s: %s", startTimeout, s.Log())
	}
	// slapd says it is starting a moment before its listeners accept
	// connections.
	for _, u := range []string{s.LDAPURL, s.LDAPSURL} {
		addr := Addr(u)
		clocktest.Eventually(t, "slapd to accept connections on "+addr, func() bool {
			select {
			case <-s.done:
				return true // checked below
			default:
			}
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		select {
		case <-s.done:
			return fmt.Errorf("slapd exited: %s", s.Log())
		default:
		}
	}
	return nil
}

// Log returns what slapd wrote to its standard error: its start, and a
// line for each connection, operation and result.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Stop shuts slapd down and waits until it has exited. It may be called
// more than once.
func (s *Server) Stop(t testing.TB) {
	s.stop.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(stopTimeout)
		defer timer.Stop()
		select {
		case <-s.done:
		case <-timer.C:
			s.cmd.Process.Kill()
			<-s.done
			t.Errorf("slapd did not stop within %s on SIGTERM:\n%s", stopTimeout, s.Log())
		}
	})
}

// Addr returns the host:port of an ldap:// or ldaps:// URL of the server.
func Addr(url string) string {
	_, hostport, _ := strings.Cut(url, "://")
	return hostport
}

func slapdConf(dir string) string {
	return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile ` + filepath.Join(dir, "slapd.pid") + `
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile ` + filepath.Join(dir, "ca.pem") + `
TLSCertificateFile ` + filepath.Join(dir, "server.pem") + `
TLSCertificateKeyFile ` + filepath.Join(dir, "server.key") + `

database mdb
suffix "` + BaseDN + `"
rootdn "cn=admin,` + BaseDN + `"
directory ` + filepath.Join(dir, "db") + `
maxsize 16777216
# Passwords are only compared by binds; the search account reads the
# users, anonymous clients nothing.
access to attrs=userPassword
	by anonymous auth
	by * none
access to dn.subtree="` + PeopleDN + `"
	by dn.exact="` + BindDN + `" read
	by self read
	by * none
access to *
	by dn.exact="` + BindDN + `" read
	by * none
`
}

func dataLDIF(bindPassword string, users []User) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: tms\no: TMS test\n\n", BaseDN)
	fmt.Fprintf(&b, "dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n", BaseDN)
	fmt.Fprintf(&b, "dn: ou=services,%s\nobjectClass: organizationalUnit\nou: services\n\n", BaseDN)
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: tms-search\nuserPassword: %s\n\n",
		BindDN, ssha(bindPassword))
	for _, u := range users {
		fmt.Fprintf(&b, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nuserPassword: %s\n",
			u.UID, PeopleDN, u.UID, u.UID, u.UID, ssha(u.Password))
		if u.Mail != "" {
			fmt.Fprintf(&b, "mail: %s\n", u.Mail)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// ssha returns the salted SHA-1 form of a password that slapd checks
// binds against ("{SSHA}" base64(SHA1(password+salt)+salt)), as slappasswd
// writes it.
func ssha(password string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	h := sha1.New()
	h.Write([]byte(password))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}

// writeCerts writes a new CA (ca.pem) and a server certificate for
// 127.0.0.1 and localhost signed by it (server.pem, server.key) to dir, and
// returns the CA's PEM.
func writeCerts(t testing.TB, dir string) []byte {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "TMS test directory CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	writeFile(t, filepath.Join(dir, "ca.pem"), string(caPEM))
	writeFile(t, filepath.Join(dir, "server.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, filepath.Join(dir, "server.key"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	return caPEM
}

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs a program to its end, failing the test when it fails.
func run(t testing.TB, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Restart starts the stopped slapd again, on the same ports and with the
// same data.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	select {
	case <-s.done:
	default:
		t.Fatal("Restart: slapd is still running; Stop it first")
	}
	s.stop = sync.Once{}
	if err := s.start(t, s.conf); err != nil {
		t.Fatalf("restart slapd: %v", err)
	}
}
