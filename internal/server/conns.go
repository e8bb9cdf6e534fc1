package server

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/tmsproject/tms/internal/logsummary"
	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/netlimit"
)

// limitConns caps the connections ln keeps open per client address
// (limits.max_conns_per_address; 0 means no cap), exports the counts, and
// summarizes the refused connections in the log.
func limitConns(ln net.Listener, max int, m *metrics.Metrics, logger *slog.Logger) net.Listener {
	if max <= 0 {
		return ln
	}
	summary := logsummary.New(logsummary.Options{Logger: logger, Level: slog.LevelWarn,
		Message: fmt.Sprintf("connections closed at once: over limits.max_conns_per_address (%d) from one address; counts since the previous line", max)})
	l := netlimit.NewListener(ln, max, func(netip.Prefix) { summary.Add("refused") })
	m.GaugeFunc("tms_http_connections_open", "Connections open on the API port.", nil,
		func() float64 { return float64(l.Open()) })
	m.CounterFunc("tms_http_connections_refused_total", "Connections closed at once for being over limits.max_conns_per_address.", nil,
		func() float64 { return float64(l.Refused()) })
	return l
}
