// Package netlimit caps the connections a listener keeps open per client
// address, so that one address cannot hold every connection a server can
// serve. Connections over the cap are closed as soon as they are accepted.
package netlimit

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Listener is a net.Listener that keeps at most Max connections open per
// client address; an IPv6 /64 counts as one address. It is safe for
// concurrent use.
type Listener struct {
	net.Listener
	max      int
	onRefuse func(addr netip.Prefix)

	mu      sync.Mutex
	open    map[netip.Prefix]int
	total   int
	refused atomic.Uint64
}

// NewListener wraps ln so that it keeps at most max connections open per
// client address. onRefuse, when not nil, is called with the address of
// each connection closed for being over the cap.
func NewListener(ln net.Listener, max int, onRefuse func(addr netip.Prefix)) *Listener {
	return &Listener{Listener: ln, max: max, onRefuse: onRefuse, open: map[netip.Prefix]int{}}
}

// Accept returns the next connection whose address is under the cap; it
// closes, without a word, those that are over it.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := addrKey(c.RemoteAddr())
		if l.take(key) {
			return &conn{Conn: c, release: func() { l.release(key) }}, nil
		}
		l.refused.Add(1)
		if tc, ok := c.(*net.TCPConn); ok {
			// Reset rather than linger: the refusal costs no TIME_WAIT.
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
		if l.onRefuse != nil {
			l.onRefuse(key)
		}
	}
}

// Open returns the number of connections open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Refused returns the number of connections closed for being over the cap.
func (l *Listener) Refused() uint64 { return l.refused.Load() }

func (l *Listener) take(key netip.Prefix) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key] >= l.max {
		return false
	}
	l.open[key]++
	l.total++
	return true
}

func (l *Listener) release(key netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// addrKey returns the address a connection counts against: its IPv4
// address, or the /64 of its IPv6 address. Addresses that are not IP
// (such as Unix sockets) all count as one.
func addrKey(a net.Addr) netip.Prefix {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32)
	}
	p, _ := ip.Prefix(64)
	return p
}

// conn gives its slot back once, when it is closed.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
