package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// memoryMetric is the Prometheus gauge of a process's resident memory.
const memoryMetric = "process_resident_memory_bytes"

// memoryProbe reads the server's resident memory from its Prometheus
// metrics. After the first failure it stops trying: metrics are optional.
type memoryProbe struct {
	url      string
	client   *http.Client
	disabled bool
	con      *console
}

// newMemoryProbe returns a probe of url, or a disabled probe when url is "".
func newMemoryProbe(url string, transport http.RoundTripper, con *console) *memoryProbe {
	return &memoryProbe{
		url:      url,
		client:   &http.Client{Transport: transport, Timeout: 2 * time.Second},
		disabled: url == "",
		con:      con,
	}
}

// read returns the server's resident memory in bytes, or false when it is
// not available.
func (p *memoryProbe) read(ctx context.Context) (float64, bool) {
	if p.disabled {
		return 0, false
	}
	v, err := p.fetch(ctx)
	if err != nil {
		if ctx.Err() == nil {
			p.disabled = true
			p.con.add(fmt.Sprintf("server memory will not be reported: %v", err))
		}
		return 0, false
	}
	return v, true
}

func (p *memoryProbe) fetch(ctx context.Context) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return 0, fmt.Errorf("build metrics request: %w", err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("read metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("read metrics: %s answered %d", p.url, resp.StatusCode)
	}
	v, err := parseGauge(io.LimitReader(resp.Body, 8<<20), memoryMetric)
	if err != nil {
		return 0, fmt.Errorf("read metrics at %s: %w", p.url, err)
	}
	return v, nil
}

// parseGauge finds an unlabelled sample of the named metric in Prometheus
// text exposition format.
func parseGauge(r io.Reader, name string) (float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, fmt.Errorf("%s has no value", name)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("%s value %q is not a number", name, fields[0])
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("scan metrics: %w", err)
	}
	return 0, fmt.Errorf("no %s metric", name)
}
