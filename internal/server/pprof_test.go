package server_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/tmsproject/tms/internal/clocktest"
	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/server/servertest"
)

// TestPprofOnlyWhenAsked checks that Go's profiles are served on the
// --pprof address and nowhere without it.
func TestPprofOnlyWhenAsked(t *testing.T) {
	plain := servertest.StartDev(t)
	resp, err := http.Get(plain.URL + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatal("the API serves /debug/pprof")
	}
	plain.Stop(t)
	if strings.Contains(plain.Output.String(), "pprof") {
		t.Fatalf("a server without --pprof mentions pprof:\n%s", plain.Output)
	}

	s := servertest.Start(t, server.Options{Dev: true, Env: []string{}, Pprof: "127.0.0.1:0"})
	addr := regexp.MustCompile(`serving Go profiles.* addr=(127\.0\.0\.1:\d+)`)
	var m []string
	clocktest.Eventually(t, "the pprof address in the log", func() bool {
		m = addr.FindStringSubmatch(s.Output.String())
		return m != nil
	})
	resp, err = http.Get("http://" + m[1] + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Fatalf("pprof cmdline: %s %q", resp.Status, body)
	}
}

// TestRequestLogComplete checks that the buffered log holds a line for
// every request once the server has stopped.
func TestRequestLogComplete(t *testing.T) {
	s := servertest.Start(t, server.Options{Dev: true, Env: []string{"TMS_LOG_LEVEL=info"}})
	const n = 300
	for range n {
		resp, err := http.Get(s.URL + "/v1/tms/version")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	s.Stop(t)
	got := 0
	for _, line := range strings.Split(s.Output.String(), "\n") {
		if strings.Contains(line, "msg=request") && strings.Contains(line, "/v1/tms/version") {
			got++
		}
	}
	if got != n {
		t.Fatalf("%d request log lines after shutdown, want %d", got, n)
	}
}
