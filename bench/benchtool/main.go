// Command benchtool is the helper of bench/run.sh: it finds a free port,
// probes a server's readiness, sizes benchmark steps from a calibration
// run, and writes the benchmark record from the JSON reports of
// tms loadtest.
//
// Usage:
//
//	benchtool freeport
//	benchtool ready URL
//	benchtool bare -port N
//	benchtool profile -addr HOST:PORT -seconds S -out FILE [-binary FILE]
//	benchtool iterations -report FILE -users N -seconds S
//	benchtool record -out FILE -date YYYY-MM-DD -commit TEXT -seconds S -backend NAME=DIR [-backend NAME=DIR ...]
//	benchtool slowbodies -url URL [-slow N] [-sources K] [-duration D] [-workers W]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errUsage marks a command line that names no known subcommand.
var errUsage = errors.New("usage: benchtool freeport | ready URL | bare -port N | profile -addr HOST:PORT -seconds S -out FILE | iterations -report FILE -users N -seconds S | " +
	"record -out FILE -date YYYY-MM-DD -commit TEXT -seconds S -backend NAME=DIR [-backend NAME=DIR] | slowbodies -url URL [-slow N]")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchtool: %v\n", err)
		os.Exit(1)
	}
}

// run executes one subcommand and writes its answer to out.
//
// bare serves the fixed JSON answer of a bare net/http server, the
// ceiling the benchmark measures tms against; profile writes the top of a
// CPU profile of a running server.
func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "freeport":
		if len(rest) != 0 {
			return errUsage
		}
		port, err := freePort(ctx)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, port)
		return err
	case "ready":
		if len(rest) != 1 {
			return errUsage
		}
		return probeReady(ctx, rest[0])
	case "iterations":
		return runIterations(rest, out)
	case "bare":
		return runBare(ctx, rest)
	case "profile":
		return runProfile(ctx, rest)
	case "record":
		return runRecord(rest)
	case "slowbodies":
		return runSlowBodies(ctx, rest, out)
	}
	return fmt.Errorf("unknown subcommand %q; %w", name, errUsage)
}

// runIterations prints how many iterations per user make a step last the
// given number of seconds, at the throughput a calibration run measured.
func runIterations(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("iterations", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	reportFile := fs.String("report", "", "JSON report of the calibration run")
	users := fs.Int("users", 0, "total users of the step (the sum of a ladder's steps)")
	seconds := fs.Float64("seconds", 0, "how long the step should last")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("iterations: %w", err)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("iterations: unexpected argument %q", fs.Arg(0))
	}
	if *reportFile == "" {
		return errors.New("iterations: -report: required")
	}
	rep, err := readReport(*reportFile)
	if err != nil {
		return err
	}
	n, err := iterationsFor(rep, *users, *seconds)
	if err != nil {
		return fmt.Errorf("iterations: %w", err)
	}
	_, err = fmt.Fprintln(out, n)
	return err
}

// runRecord writes the benchmark record.
func runRecord(args []string) error {
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var opts recordOptions
	fs.StringVar(&opts.out, "out", "", "Markdown file to write")
	fs.StringVar(&opts.date, "date", "", "date of the run, YYYY-MM-DD")
	fs.StringVar(&opts.commit, "commit", "", "the tms commit that was measured")
	fs.Float64Var(&opts.seconds, "seconds", 0, "the intended length of each step (BENCH_SECONDS)")
	fs.Func("backend", "NAME=DIR: a backend's name and the directory of its reports (repeatable)", func(v string) error {
		b, err := parseBackend(v)
		if err != nil {
			return err
		}
		opts.backends = append(opts.backends, b)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("record: unexpected argument %q", fs.Arg(0))
	}
	if err := opts.validate(); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return writeRecord(opts, readMachine())
}
