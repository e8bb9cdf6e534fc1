package netlimit

import (
	"net"
	"net/netip"
)

// AddrKey returns the key a connection from the address s counts against.
func AddrKey(s string) netip.Prefix {
	ap := netip.MustParseAddrPort(s)
	return addrKey(net.TCPAddrFromAddrPort(ap))
}
