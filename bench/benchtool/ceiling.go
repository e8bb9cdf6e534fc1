package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"time"
)

// bareBody is what the bare server answers: a JSON object the size of the
// version answer of tms, so that tms loadtest's getversion scenario accepts
// it.
const bareBody = `{"result_code":"0","result_msg":"Version information.","go_version":"go1.25","tms_version":"0.0.0-bare",` +
	`"build":"ceiling"}`

// bareHandler answers every request with bareBody, as cheaply as net/http
// allows: the ceiling of a server on this machine under this load
// generator.
func bareHandler(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(bareBody)))
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, bareBody)
}

// runBare serves bareHandler on 127.0.0.1:PORT until ctx ends.
func runBare(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	port := fs.Int("port", 0, "port to listen on, on 127.0.0.1")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("bare: %w", err)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("bare: unexpected argument %q", fs.Arg(0))
	}
	if *port < 1 || *port > 65535 {
		return fmt.Errorf("bare: -port: %d is not a port number (1-65535)", *port)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("bare: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(bareHandler), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("bare: %w", err)
	}
	return nil
}

// runProfile fetches a CPU profile of -seconds from a pprof listener and
// writes the top entries of it, as go tool pprof -top prints them, to -out.
func runProfile(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("profile", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "", "host:port of the server's --pprof listener")
	seconds := fs.Int("seconds", 0, "length of the CPU profile")
	binary := fs.String("binary", "", "the profiled executable, for symbols")
	out := fs.String("out", "", "file to write the raw profile to; the top entries go to standard output")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	switch {
	case fs.NArg() != 0:
		return fmt.Errorf("profile: unexpected argument %q", fs.Arg(0))
	case *addr == "":
		return errors.New("profile: -addr: required")
	case *seconds < 1 || *seconds > 600:
		return fmt.Errorf("profile: -seconds: want 1 to 600, got %d", *seconds)
	case *out == "":
		return errors.New("profile: -out: required")
	}
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", *addr, *seconds)
	fetch := exec.CommandContext(ctx, "go", "tool", "pprof", "-proto", "-output", *out, url)
	if msg, err := fetch.CombinedOutput(); err != nil {
		return fmt.Errorf("profile: fetch %s: %w: %s", url, err, msg)
	}
	args = []string{"tool", "pprof", "-top", "-nodecount=25"}
	if *binary != "" {
		args = append(args, *binary)
	}
	top := exec.CommandContext(ctx, "go", append(args, *out)...)
	text, err := top.Output()
	if err != nil {
		return fmt.Errorf("profile: go tool pprof -top: %w", err)
	}
	_, err = fmt.Print(string(text))
	return err
}
