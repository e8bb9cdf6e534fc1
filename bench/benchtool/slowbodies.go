package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// runSlowBodies keeps many connections open that send a key lookup's body
// one byte at a time, as an attacker would to hold the server's slots, and
// meanwhile sends a normal client's lookups; it prints how many of those
// were answered (any status below 500) and how fast.
func runSlowBodies(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("slowbodies", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	base := fs.String("url", "", "base URL of a plain-HTTP TMS server, such as http://127.0.0.1:3000")
	slow := fs.Int("slow", 2000, "slow-body connections to keep open")
	sources := fs.Int("sources", 10, "loopback source addresses the slow connections come from (127.0.0.2 on); the probes come from 127.0.0.1")
	duration := fs.Duration("duration", 20*time.Second, "how long to probe")
	workers := fs.Int("workers", 4, "concurrent probe requests")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("slowbodies: %w", err)
	}
	u, err := url.Parse(*base)
	if err != nil || u.Scheme != "http" || u.Host == "" || fs.NArg() != 0 || *slow < 0 || *sources < 1 || *sources > 250 || *workers < 1 {
		return fmt.Errorf("slowbodies: want -url http://HOST:PORT, -slow >= 0, -sources 1..250, -workers >= 1")
	}
	ctx, cancel := context.WithTimeout(ctx, *duration+time.Minute)
	defer cancel()

	// The attackers: each keeps its connection open, trickling a byte a
	// second, and opens a new one when the server closes it.
	var open, opened, dialFailed atomic.Int64
	attack, stopAttack := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range *slow {
		from := net.IPv4(127, 0, 0, byte(2+i%*sources))
		wg.Go(func() { trickle(attack, u.Host, from, &open, &opened, &dialFailed) })
	}
	deadline := time.Now().Add(time.Minute)
	for open.Load() < int64(*slow) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Fprintf(out, "slow-body connections open: %d of %d (from %d addresses)\n", open.Load(), *slow, *sources)

	// The normal client.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext:         (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}).DialContext,
		MaxIdleConnsPerHost: *workers,
	}}
	body := []byte(`{"user":"testhostaccount1","user_uid":"1001","host":"testhost1","public_key_fingerprint":"SHA256:probe"}`)
	var mu sync.Mutex
	var latencies []time.Duration
	statuses := map[string]int{}
	end := time.Now().Add(*duration)
	var probes sync.WaitGroup
	for range *workers {
		probes.Go(func() {
			for time.Now().Before(end) {
				start := time.Now()
				outcome := probe(ctx, client, *base+"/v1/tms/pubkeys/creds/retrieve", body)
				d := time.Since(start)
				mu.Lock()
				statuses[outcome]++
				if outcome == "ok" {
					latencies = append(latencies, d)
				}
				mu.Unlock()
			}
		})
	}
	probes.Wait()
	minOpen := open.Load()
	stopAttack()
	wg.Wait()

	total := 0
	for _, n := range statuses {
		total += n
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	fmt.Fprintf(out, "slow-body connections open at the end: %d; opened in all: %d; dials refused or failed: %d\n",
		minOpen, opened.Load(), dialFailed.Load())
	fmt.Fprintf(out, "probe requests: %d in %s, answered below 500: %d (%.2f %%); outcomes %v\n",
		total, *duration, statuses["ok"], 100*float64(statuses["ok"])/float64(max(total, 1)), statuses)
	fmt.Fprintf(out, "probe latency of the answered: p50 %s, p99 %s, max %s\n", pct(0.5), pct(0.99), pct(1))
	return nil
}

// probe sends one key lookup and names its outcome: "ok" for an answer
// below 500, else the status or the error.
func probe(ctx context.Context, client *http.Client, url string, body []byte) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "error"
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "timeout"
		}
		return "transport error"
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return resp.Status
	}
	return "ok"
}

// trickle keeps one slow-body connection to host open from the address
// from until ctx ends: it announces a 1,000-byte body and sends one byte
// a second, and starts again when the server closes the connection.
func trickle(ctx context.Context, host string, from net.IP, open, opened, dialFailed *atomic.Int64) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from}, Timeout: 5 * time.Second}
	head := fmt.Sprintf("POST /v1/tms/pubkeys/creds/retrieve HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", host)
	for ctx.Err() == nil {
		c, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			dialFailed.Add(1)
			sleepCtx(ctx, 100*time.Millisecond)
			continue
		}
		opened.Add(1)
		if _, err := io.WriteString(c, head); err != nil {
			c.Close()
			dialFailed.Add(1)
			continue
		}
		open.Add(1)
		tick := time.NewTicker(time.Second)
		for ctx.Err() == nil {
			if _, err := c.Write([]byte{' '}); err != nil {
				break
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		tick.Stop()
		open.Add(-1)
		c.Close()
	}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
