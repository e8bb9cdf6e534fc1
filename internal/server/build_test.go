package server_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/server"
	"github.com/tmsproject/tms/internal/server/servertest"
)

// TestLoadBuildServe runs the three steps of a server run one by one: the
// configuration loads without touching the disk, a build that fails
// releases all it took, and a built server holds the database until Serve
// returns.
func TestLoadBuildServe(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	taken := mustListen(t)
	var stdout, stderr servertest.Buffer
	opts := server.Options{RootDir: root, Env: baseEnv(t, "TMS_METRICS_ENABLED=true", "TMS_METRICS_LISTEN="+taken.Addr().String()),
		Stdout: &stdout, Stderr: &stderr, Listener: mustListen(t)}

	l, err := server.LoadConfig(opts)
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	if l.Layout.Root != root || !l.Config.Metrics.Enabled {
		t.Fatalf("loaded root %q, metrics %t; want %s with metrics", l.Layout.Root, l.Config.Metrics.Enabled, root)
	}
	if _, err := os.Stat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadConfig created the root directory (stat: %v)", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := server.Build(ctx, l); err == nil || !strings.Contains(err.Error(), "metrics.listen") {
		t.Fatalf("build with a taken metrics address: %v, want an error naming metrics.listen", err)
	}
	if strings.Contains(stdout.String(), "Password:") {
		t.Errorf("the failed build printed secrets:\n%s", stdout.String())
	}

	// The failed build released the database: the next one takes it.
	opts.Env = baseEnv(t)
	opts.Listener = mustListen(t)
	ready := make(chan string, 1)
	opts.Ready = func(url string) { ready <- url }
	if l, err = server.LoadConfig(opts); err != nil {
		t.Fatalf("load config: %v", err)
	}
	s, err := server.Build(ctx, l)
	if err != nil {
		t.Fatalf("build after a failed build: %v", err)
	}
	if secrets := servertest.AdminSecrets(stdout.String()); len(secrets) != 2 {
		t.Errorf("the build printed secrets %v, want two:\n%s", secrets, stdout.String())
	}

	// A built server holds the database, so an install waits for it to stop.
	install := opts
	install.Listener, install.Ready, install.Install = nil, nil, true
	install.Stdout, install.Stderr = io.Discard, io.Discard
	li, err := server.LoadConfig(install)
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	if err := server.Install(ctx, li); err == nil || !strings.Contains(err.Error(), "another tms server") {
		t.Errorf("install while a built server holds the database: %v, want a refusal", err)
	}

	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Serve(sctx) }()
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		t.Fatalf("serve returned before it was ready: %v", err)
	}
	if status := get(t, httpClient(), url+"/healthz", nil); status != 200 {
		t.Errorf("GET /healthz = %d, want 200", status)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}

	// Serve released everything: the install now runs.
	var out strings.Builder
	li.Options.Stdout = &out
	if err := server.Install(ctx, li); err != nil {
		t.Fatalf("install after the server stopped: %v", err)
	}
	if !strings.Contains(out.String(), "already initialized") {
		t.Errorf("install after the server stopped printed:\n%s", out.String())
	}
}
