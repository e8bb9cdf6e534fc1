// Package servertest runs a real TMS server ("tms server") inside a test
// process, on a loopback port of its own, and stops it when the test ends.
// Only tests import it.
package servertest

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/server"
)

// waitTimeout bounds the wait for the server to start and to stop.
const waitTimeout = 30 * time.Second

// Buffer is a bytes.Buffer that goroutines may write while a test reads
// it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Server is a TMS server running in the test process.
type Server struct {
	// URL is the server's base URL, such as http://127.0.0.1:41234.
	URL string
	// Root is the server's root directory.
	Root string
	// Stdout holds what the server printed for the operator: the one-time
	// administrator secrets and where it put things.
	Stdout *Buffer
	// Output holds everything the server wrote, its messages and its logs,
	// in order.
	Output *Buffer

	cancel   context.CancelFunc
	done     chan struct{}
	runErr   error // what server.Run returned, once done is closed
	stopOnce sync.Once
}

// Start runs server.Run with opts on a 127.0.0.1:0 listener, waits until
// it serves, and stops it when the test ends. An empty opts.RootDir is a
// new temporary directory, and a nil opts.Env an empty environment, so the
// machine's TMS_* variables and home directory play no part. Start sets
// the Stdout, Stderr and Ready options itself, and the Listener unless
// opts has one.
func Start(t testing.TB, opts server.Options) *Server {
	t.Helper()
	ln := opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatalf("listen on a loopback port: %v", err)
		}
	}
	if opts.RootDir == "" {
		opts.RootDir = t.TempDir()
	}
	if opts.Env == nil {
		opts.Env = []string{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Root: opts.RootDir, Stdout: &Buffer{}, Output: &Buffer{}, cancel: cancel, done: make(chan struct{})}
	ready := make(chan string, 1)
	opts.Listener = ln
	opts.Stdout = io.MultiWriter(s.Stdout, s.Output)
	opts.Stderr = s.Output
	opts.Ready = func(url string) { ready <- url }
	go func() {
		defer close(s.done)
		s.runErr = server.Run(ctx, opts)
	}()
	t.Cleanup(func() { s.Stop(t) })
	select {
	case s.URL = <-ready:
	case <-s.done:
		t.Fatalf("server did not start: %v\n%s", s.runErr, s.Output)
	case <-time.After(waitTimeout):
		t.Fatalf("server not ready within %v\n%s", waitTimeout, s.Output)
	}
	return s
}

// StartDev runs a development server ("tms server --dev") on a new root
// directory with env as its whole environment.
func StartDev(t testing.TB, env ...string) *Server {
	t.Helper()
	return Start(t, server.Options{Dev: true, Env: env})
}

// Cancel cancels the server's context, which starts its graceful shutdown,
// and returns at once.
func (s *Server) Cancel() { s.cancel() }

// Done is closed when server.Run has returned.
func (s *Server) Done() <-chan struct{} { return s.done }

// Stop shuts the server down and waits for server.Run to return. It fails
// the test when Run returned an error or did not return within 30 seconds.
// Only the first call does anything; Start makes one when the test ends.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.stopOnce.Do(func() {
		s.cancel()
		select {
		case <-s.done:
			// Start has reported a server that never served.
			if s.runErr != nil && s.URL != "" {
				t.Fatalf("server stopped with an error: %v\n%s", s.runErr, s.Output)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("server did not stop within %v\n%s", waitTimeout, s.Output)
		}
	})
}

// DevEnv returns the variables of the dev.env a development server wrote
// in its root directory. It fails the test when the file lacks TMS_URL or
// X_TMS_ADMIN_SECRET.
func (s *Server) DevEnv(t testing.TB) map[string]string {
	t.Helper()
	path := server.Layout{Root: s.Root}.DevEnv()
	vars, err := server.ReadDevEnv(path)
	if err != nil {
		t.Fatal(err)
	}
	if vars["TMS_URL"] == "" || vars["X_TMS_ADMIN_SECRET"] == "" {
		t.Fatalf("%s lacks TMS_URL or X_TMS_ADMIN_SECRET", path)
	}
	return vars
}

// passwordLine is the line of a printed administrator secret.
var passwordLine = regexp.MustCompile(`^Password: ([0-9a-f]{48})$`)

// AdminSecrets returns the administrator secrets in what a server printed
// on its standard output, by tenant. A first start or an install prints
// them; a later start prints none.
func AdminSecrets(stdout string) map[string]string {
	secrets := map[string]string{}
	tenant := ""
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "Tenant: "); ok {
			tenant = name
		}
		if m := passwordLine.FindStringSubmatch(line); m != nil {
			secrets[tenant] = m[1]
		}
	}
	return secrets
}
