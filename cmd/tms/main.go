// Command tms is the Trust Manager System: the server, its administration
// and user CLI, the sshd AuthorizedKeysCommand helper and the load-testing
// suite, in one binary.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tmsproject/tms/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
