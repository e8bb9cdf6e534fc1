package netlimit_test

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/netlimit"
)

// dialFrom connects to addr from the loopback address from.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: time.Minute}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// wantRefused connects to addr from the loopback address from and checks
// that the server closes the connection without sending anything: the
// reset may already end the dial.
func wantRefused(t *testing.T, from, addr string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: time.Minute}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("dial from %s: %v, want a connection the server closes", from, err)
		}
		return
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(time.Minute))
	n, err := c.Read(make([]byte, 1))
	var ne net.Error
	if n != 0 || err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("read %d bytes, err %v: want the connection closed", n, err)
	}
}

// TestCapPerAddress: a third connection from an address whose cap is two
// is closed at once, while other addresses connect; a closed connection
// frees its place.
func TestCapPerAddress(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var refusedFrom []netip.Prefix
	ln := netlimit.NewListener(raw, 2, func(p netip.Prefix) { refusedFrom = append(refusedFrom, p) })
	defer ln.Close()
	accepted := make(chan net.Conn)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	addr := raw.Addr().String()

	dialFrom(t, "127.0.0.2", addr)
	first := <-accepted
	dialFrom(t, "127.0.0.2", addr)
	<-accepted
	wantRefused(t, "127.0.0.2", addr)
	// Another address is not affected.
	dialFrom(t, "127.0.0.3", addr)
	other := <-accepted
	if got := other.RemoteAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.3" {
		t.Fatalf("accepted a connection from %s, want 127.0.0.3", got)
	}
	if ln.Refused() != 1 || ln.Open() != 3 || len(refusedFrom) != 1 || refusedFrom[0].String() != "127.0.0.2/32" {
		t.Fatalf("refused %d (%v), open %d; want 1 from 127.0.0.2/32 and 3 open", ln.Refused(), refusedFrom, ln.Open())
	}

	first.Close()
	first.Close()
	dialFrom(t, "127.0.0.2", addr)
	if c := <-accepted; c.RemoteAddr().(*net.TCPAddr).IP.String() != "127.0.0.2" {
		t.Fatalf("accepted %s, want 127.0.0.2 again after one of its connections closed", c.RemoteAddr())
	}
	if ln.Open() != 3 {
		t.Fatalf("open %d, want 3 (closing twice counts once)", ln.Open())
	}
}

// TestIPv6CountsPerSlash64 checks that addresses of one IPv6 /64 share a
// cap.
func TestIPv6CountsPerSlash64(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"[2001:db8::1]:1", "[2001:db8::ffff:1]:2"},
		{"[::ffff:192.0.2.1]:1", "192.0.2.1:2"},
	} {
		ka, kb := netlimit.AddrKey(tc.a), netlimit.AddrKey(tc.b)
		if ka != kb {
			t.Errorf("%s counts as %v and %s as %v, want the same", tc.a, ka, tc.b, kb)
		}
	}
	if netlimit.AddrKey("[2001:db8:0:1::1]:1") == netlimit.AddrKey("[2001:db8::1]:1") {
		t.Error("two IPv6 /64s count as one")
	}
}
