package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/tmsproject/tms/internal/loadtest"
	"github.com/tmsproject/tms/internal/loadtest/report"
)

// loadtestFlags holds the flags of tms loadtest that are not inputs.
type loadtestFlags struct {
	scenarios    string
	mix          string
	phase        string
	users        int
	iterations   int
	throttle     float64
	hatchRate    float64
	rate         float64
	duration     time.Duration
	outstanding  int
	ladderUsers  string
	spikeUsers   int
	loginUsers   int
	sample       time.Duration
	timeout      time.Duration
	stallTimeout time.Duration
	insecure     bool
	cacert       string
	metricsURL   string
	reportJSON   string
	reportHTML   string
	maxErrorRate string
	maxP99       time.Duration
	progress     string
}

func newLoadtestCommand(stdio IO) *cobra.Command {
	var f loadtestFlags
	inputs := map[string]*string{}
	scenarios := loadtest.NewRegistry(loadtest.BuiltinScenarios()...)

	cmd := &cobra.Command{
		Use:   "loadtest",
		Short: "Drive load against a TMS server and report latency, throughput and errors",
		Long:  loadtestHelp(scenarios),
		Example: `  source ~/.tms/dev.env
  tms loadtest --scenarios getkey --users 10 --iterations 1000
  tms loadtest --scenarios createkey --users 10 --throttle 250 --iterations 20000
  tms loadtest --scenarios mixed --mix getkey=90,createkey=10 --rate 2000 --duration 1m
  tms loadtest --scenarios getversion,getkey --phase ladder --report-html ladder.html
  tms loadtest --scenarios getkey --phase soak --rate 500 --duration 1h --report-json soak.json
  tms loadtest --scenarios login --users 10 --iterations 20`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadtestConfig(cmd.Flags(), f, inputs, stdio.environ())
			if err != nil {
				return &usageError{err}
			}
			for _, out := range []struct{ flag, path string }{{"--report-json", f.reportJSON}, {"--report-html", f.reportHTML}} {
				if err := checkReportPath(out.path); err != nil {
					return &usageError{fmt.Errorf("%s: %w", out.flag, err)}
				}
			}
			mode, err := progressMode(f.progress, stdio.Err)
			if err != nil {
				return &usageError{err}
			}
			rep, err := loadtest.Run(cmd.Context(), cfg, scenarios, loadtest.Output{Log: stdio.Err, Progress: mode})
			var inputErr *loadtest.InputError
			if errors.As(err, &inputErr) {
				return &usageError{err}
			}
			if err != nil {
				return err
			}
			return finishLoadtest(stdio, rep, f)
		},
	}

	fl := cmd.Flags()
	for _, field := range loadtest.InputFields() {
		usage := field.Usage
		if field.Env != "" {
			usage += " [" + field.Env + "]"
		}
		inputs[field.Flag] = fl.String(field.Flag, "", usage)
		if field.Bool {
			fl.Lookup(field.Flag).NoOptDefVal = "true"
		}
	}
	fl.StringVar(&f.scenarios, "scenarios", "", "scenarios to run, separated by commas: "+strings.Join(scenarios.Choices(), ", "))
	fl.StringVar(&f.mix, "mix", "", "weights of the mixed scenario, e.g. getkey=90,createkey=10")
	fl.StringVar(&f.phase, "phase", string(loadtest.PhaseRun), "run, smoke, ladder, spike, soak or all")
	fl.IntVar(&f.users, "users", 0, "concurrent users (closed model; default 1, spike baseline 5)")
	fl.IntVar(&f.iterations, "iterations", 0, "requests per user (default 100; smoke 10, ladder 200, spike 50)")
	fl.Float64Var(&f.throttle, "throttle", 0, "requests per second per user (closed model; default unthrottled)")
	fl.Float64Var(&f.hatchRate, "hatch-rate", 0, "users started per second (default all at once)")
	fl.Float64Var(&f.rate, "rate", 0, "requests per second for the open model (soak default 200)")
	fl.DurationVar(&f.duration, "duration", 0, "how long the open model runs (default 30s; soak 10m)")
	fl.IntVar(&f.outstanding, "max-outstanding", 0, "bound on outstanding requests in the open model (default 256)")
	fl.StringVar(&f.ladderUsers, "ladder-users", "", "user counts of the ladder steps (default 1,5,10,25,50,100)")
	fl.IntVar(&f.spikeUsers, "spike-users", 0, "users started at once in the spike (default 200)")
	fl.IntVar(&f.loginUsers, "login-users", 0, "users the login scenario creates and signs in with (default: sized from the load, at most 500)")
	fl.DurationVar(&f.sample, "sample-interval", 0, "length of the windows charted over time (default 1s; soak 10s)")
	fl.DurationVar(&f.timeout, "timeout", loadtest.DefaultTimeout, "bound on each request")
	fl.DurationVar(&f.stallTimeout, "stall-timeout", loadtest.DefaultStallTimeout,
		"stop the run as stalled when requests are outstanding and no response arrives for this long")
	fl.BoolVar(&f.insecure, "insecure", false, "do not verify the server's TLS certificate (testing only)")
	fl.StringVar(&f.cacert, "cacert", "", "PEM file of a CA to trust for the server's TLS certificate")
	fl.StringVar(&f.metricsURL, "metrics-url", "", `where the server's Prometheus metrics are (default <url>/metrics; "off" to skip)`)
	fl.StringVar(&f.reportJSON, "report-json", "", "write the machine-readable report to this file")
	fl.StringVar(&f.reportHTML, "report-html", "", "write a self-contained HTML report with charts to this file")
	fl.StringVar(&f.maxErrorRate, "max-error-rate", "", "fail when more than this fraction of a step's requests fail, e.g. 0.01 or 1% (default: fail on any)")
	fl.DurationVar(&f.maxP99, "max-p99", 0, "fail when a scenario's p99 latency in any step exceeds this")
	fl.StringVar(&f.progress, "progress", "auto", "progress display: auto, bar, lines or off")
	return cmd
}

// loadtestConfig builds the run configuration from the environment env and
// the flags given on the command line, which override it.
func loadtestConfig(fl *pflag.FlagSet, f loadtestFlags, inputs map[string]*string, env map[string]string) (loadtest.Config, error) {
	in, err := loadtest.InputsFromEnv(func(name string) (string, bool) {
		value, ok := env[name]
		return value, ok
	})
	if err != nil {
		return loadtest.Config{}, err
	}
	for _, field := range loadtest.InputFields() {
		if fl.Changed(field.Flag) {
			if err := field.Apply(&in, *inputs[field.Flag], "--"+field.Flag); err != nil {
				return loadtest.Config{}, err
			}
		}
	}
	cfg := loadtest.Config{
		Inputs:       in,
		Phase:        loadtest.Phase(f.phase),
		Timeout:      f.timeout,
		StallTimeout: f.stallTimeout,
		TLS:          loadtest.TLSOptions{Insecure: f.insecure, CACertFile: f.cacert},
		MetricsURL:   f.metricsURL,
		MaxP99:       f.maxP99,
		LoginUsers:   f.loginUsers,
		Load: loadtest.Load{
			Users:          f.users,
			Iterations:     f.iterations,
			Throttle:       f.throttle,
			HatchRate:      f.hatchRate,
			Rate:           f.rate,
			Duration:       f.duration,
			MaxOutstanding: f.outstanding,
			SpikeUsers:     f.spikeUsers,
			SampleInterval: f.sample,
		},
	}
	if f.scenarios != "" {
		for name := range strings.SplitSeq(f.scenarios, ",") {
			cfg.Scenarios = append(cfg.Scenarios, strings.TrimSpace(name))
		}
	}
	if fl.Changed("mix") {
		if cfg.Mix, err = loadtest.ParseMix(f.mix); err != nil {
			return loadtest.Config{}, fmt.Errorf("--mix: %w", err)
		}
	}
	if fl.Changed("ladder-users") {
		if cfg.Load.LadderUsers, err = loadtest.ParseUserList(f.ladderUsers); err != nil {
			return loadtest.Config{}, fmt.Errorf("--ladder-users: %w", err)
		}
	}
	if fl.Changed("max-error-rate") {
		rate, err := loadtest.ParseRate(f.maxErrorRate)
		if err != nil {
			return loadtest.Config{}, fmt.Errorf("--max-error-rate: %w", err)
		}
		cfg.MaxErrorRate = &rate
	}
	// Zero stands for "the phase's default" in the configuration, so an
	// explicit zero or less is caught here.
	for _, name := range []string{"users", "iterations", "max-outstanding", "spike-users", "login-users"} {
		if fl.Changed(name) {
			if v, _ := fl.GetInt(name); v < 1 {
				return loadtest.Config{}, fmt.Errorf("--%s: must be at least 1, got %d", name, v)
			}
		}
	}
	for _, name := range []string{"throttle", "hatch-rate", "rate"} {
		if fl.Changed(name) {
			if v, _ := fl.GetFloat64(name); !(v > 0) {
				return loadtest.Config{}, fmt.Errorf("--%s: must be a positive number, got %v", name, v)
			}
		}
	}
	for _, name := range []string{"duration", "sample-interval", "max-p99"} {
		if fl.Changed(name) {
			if v, _ := fl.GetDuration(name); v <= 0 {
				return loadtest.Config{}, fmt.Errorf("--%s: must be positive, got %s", name, v)
			}
		}
	}
	return cfg, nil
}

// checkReportPath checks, before a long run, that a report can be written
// to path: its directory must exist and path must not be a directory.
func checkReportPath(path string) error {
	if path == "" {
		return nil
	}
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	dir := filepath.Dir(path)
	info, err := os.Stat(dir)
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return fmt.Errorf("directory %s: %w", dir, pathErr.Err)
	}
	if err != nil {
		return fmt.Errorf("directory %s: %w", dir, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// progressMode chooses the progress display; "auto" draws a bar when w is
// a terminal.
func progressMode(choice string, w io.Writer) (loadtest.ProgressMode, error) {
	switch choice {
	case "bar":
		return loadtest.ProgressBar, nil
	case "lines":
		return loadtest.ProgressLines, nil
	case "off":
		return loadtest.ProgressOff, nil
	case "auto":
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return loadtest.ProgressBar, nil
		}
		return loadtest.ProgressLines, nil
	}
	return 0, fmt.Errorf("--progress: want auto, bar, lines or off, got %q", choice)
}

// finishLoadtest prints the summary, writes the report files and turns a
// failed run into exit status 1.
func finishLoadtest(stdio IO, rep *report.Report, f loadtestFlags) error {
	if err := report.WriteText(stdio.Out, rep); err != nil {
		return err
	}
	if f.reportJSON != "" {
		if err := report.WriteFile(f.reportJSON, func(w io.Writer) error { return report.WriteJSON(w, rep) }); err != nil {
			return err
		}
		fmt.Fprintf(stdio.Err, "loadtest: wrote %s\n", f.reportJSON)
	}
	if f.reportHTML != "" {
		if err := report.WriteFile(f.reportHTML, func(w io.Writer) error { return report.WriteHTML(w, rep) }); err != nil {
			return err
		}
		fmt.Fprintf(stdio.Err, "loadtest: wrote %s\n", f.reportHTML)
	}
	if rep.Passed {
		return nil
	}
	var failed []string
	for _, c := range rep.Checks {
		if !c.Passed {
			failed = append(failed, c.Name+" ("+c.Detail+")")
		}
	}
	return &ExitError{Code: 1, Err: fmt.Errorf("load test failed: %s", strings.Join(failed, "; "))}
}

// loadtestHelp is the long help of tms loadtest.
func loadtestHelp(scenarios *loadtest.Registry) string {
	var b strings.Builder
	b.WriteString(`Drive load against a TMS server and report latency percentiles (HDR
histograms), throughput, status codes and errors per scenario and step.

Scenarios (--scenarios, comma-separated; each runs on its own, in order):
`)
	scenarios.Describe(&b)
	b.WriteString(`
Load models:
  closed  --users N each send --iterations M requests one after another,
          optionally throttled to --throttle R requests/s per user and started
          at --hatch-rate users/s.
  open    --rate R requests/s for --duration D, sent on schedule whatever the
          server does, with at most --max-outstanding requests outstanding.
  Throttled and open runs report latency corrected for coordinated omission.

Phases (--phase):
  run     one step shaped by the load flags (default)
  smoke   1 user × 10 iterations per scenario
  ladder  --ladder-users (default 1,5,10,25,50,100) × --iterations (default 200)
  spike   --users (default 5), then --spike-users (default 200) all at once,
          then --users again; --iterations default 50
  soak    open model: --rate (default 200/s) for --duration (default 10m),
          sampled every --sample-interval (default 10s); reports drift of
          latency, errors and server memory
  all     smoke, ladder, spike and soak in turn

Inputs come from the environment of the original suite, and flags override
them: TMS_URL, X_TMS_TENANT, X_TMS_CLIENT_ID, X_TMS_CLIENT_SECRET,
X_TMS_ADMIN_ID, X_TMS_ADMIN_SECRET, TMS_PUBKEY_FINGERPRINT, TMS_PUBKEY_HOST,
TMS_PUBKEY_USER, TMS_PUBKEY_USERID, TMS_PUBKEY_KEYTYPE, TMS_PARSE_RESPONSE,
TMS_VERBOSE. Secrets are never printed. With no TMS_PUBKEY_FINGERPRINT, getkey
first creates a key with createkey and says so.

The login scenario signs in as users it creates with the tenant administrator
credentials (X_TMS_ADMIN_ID, X_TMS_ADMIN_SECRET) and deletes after the run. The
server accepts each user's TOTP code once per 30-second step, so the users form
a pool (--login-users) from which no user signs in twice within one step; an
iteration that finds no user free waits, and the wait is not counted as
latency. Each login counts as one request, which --timeout bounds as a whole;
its failures are counted by the stage that failed (device-code, code-page,
enter-code, sign-in, approve, token).

Before any load, a preflight sends each scenario once and stops with a message
saying what to do when it cannot succeed. While steps run, a stall detector
stops the run when requests are outstanding and no response arrives for
--stall-timeout.

Exit status: 0 when every check passed; 1 when a request failed (or more than
--max-error-rate of a step's requests), a stall occurred, --max-p99 was
exceeded, the run was interrupted, or the preflight failed; 2 for bad flags,
environment variables or files.`)
	return b.String()
}
