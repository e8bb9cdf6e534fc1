package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/tmsproject/tms/internal/loadtest/report"
)

// fullSeconds is the step length of a benchmark record; shorter runs are
// smoke runs and say so.
const fullSeconds = 60

// Files in a backend's directory that the record reads besides the step
// reports (*.json).
const (
	serverConfigFile = "server-config.txt"
	notesFile        = "notes.txt"
	// ceilingReport is the report of the bare net/http server measured
	// with the backend's set, under the backend's directory.
	ceilingReport = "ceiling/bare.json"
	// profileGlob matches the top of the CPU profiles taken with the set.
	profileGlob = "profiles/*.txt"
	// profileLines is how many lines of a profile's top the record shows.
	profileLines = 22
)

// recordOptions are the inputs of the record subcommand.
type recordOptions struct {
	out      string
	date     string
	commit   string
	seconds  float64
	backends []backend
}

// backend is one storage backend that was measured: its display name and
// the directory holding its step reports, server configuration and notes.
type backend struct {
	name string
	dir  string
}

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// parseBackend reads NAME=DIR.
func parseBackend(v string) (backend, error) {
	name, dir, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(name) == "" || dir == "" {
		return backend{}, fmt.Errorf("want NAME=DIR, got %q", v)
	}
	return backend{name: strings.TrimSpace(name), dir: dir}, nil
}

// validate checks that every input is present and well formed.
func (o recordOptions) validate() error {
	switch {
	case o.out == "":
		return errors.New("-out: required")
	case !datePattern.MatchString(o.date):
		return fmt.Errorf("-date: want YYYY-MM-DD, got %q", o.date)
	case o.commit == "":
		return errors.New("-commit: required")
	case !(o.seconds > 0) || math.IsInf(o.seconds, 0):
		return fmt.Errorf("-seconds: must be a positive number, got %v", o.seconds)
	case len(o.backends) == 0:
		return errors.New("-backend: give at least one NAME=DIR")
	}
	for _, b := range o.backends {
		info, err := os.Stat(b.dir)
		if err != nil {
			return fmt.Errorf("-backend %s: %w", b.name, err)
		}
		if !info.IsDir() {
			return fmt.Errorf("-backend %s: %s is not a directory", b.name, b.dir)
		}
	}
	return nil
}

// machine describes the computer the benchmark ran on.
type machine struct {
	cpuModel string
	cores    int
	memory   string
	kernel   string
	goVer    string
}

// readMachine reads the machine's description from /proc; what cannot be
// read is "unknown".
func readMachine() machine {
	m := machine{cpuModel: "unknown", cores: runtime.NumCPU(), memory: "unknown", kernel: "unknown",
		goVer: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if v, ok := procField("/proc/cpuinfo", "model name"); ok {
		m.cpuModel = v
	}
	if v, ok := procField("/proc/meminfo", "MemTotal"); ok {
		if kb, err := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64); err == nil {
			m.memory = strconv.FormatFloat(kb/(1<<20), 'f', 1, 64) + " GiB"
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(data))
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc
// file whose key is key.
func procField(path, key string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// backendRun is what one backend's directory holds.
type backendRun struct {
	backend
	reports      []namedReport
	serverConfig string
	notes        []string
	// ceiling is the throughput of the bare net/http server (zero when it
	// was not measured), and ceilingRep its report.
	ceiling    float64
	ceilingRep *report.Report
	profiles   []profile
}

// profile is the top of a CPU profile taken during a step.
type profile struct {
	step string
	top  string
}

// namedReport is a step report and the file it came from.
type namedReport struct {
	file string
	rep  *report.Report
}

// loadBackend reads the step reports (in file-name order), the server
// configuration and the notes of one backend.
func loadBackend(b backend) (backendRun, error) {
	run := backendRun{backend: b}
	files, err := filepath.Glob(filepath.Join(b.dir, "*.json"))
	if err != nil {
		return run, fmt.Errorf("list reports of %s: %w", b.name, err)
	}
	slices.Sort(files)
	for _, file := range files {
		rep, err := readReport(file)
		if err != nil {
			return run, fmt.Errorf("%s: %w", b.name, err)
		}
		run.reports = append(run.reports, namedReport{file: filepath.Base(file), rep: rep})
	}
	if rep, err := readReport(filepath.Join(b.dir, ceilingReport)); err == nil {
		run.ceilingRep = rep
		if len(rep.Steps) == 1 && len(rep.Steps[0].Scenarios) == 1 {
			run.ceiling = rep.Steps[0].Scenarios[0].Throughput
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return run, fmt.Errorf("%s: %w", b.name, err)
	}
	profiles, err := filepath.Glob(filepath.Join(b.dir, profileGlob))
	if err != nil {
		return run, fmt.Errorf("list profiles of %s: %w", b.name, err)
	}
	slices.Sort(profiles)
	for _, file := range profiles {
		data, err := os.ReadFile(file)
		if err != nil {
			return run, fmt.Errorf("read profile of %s: %w", b.name, err)
		}
		run.profiles = append(run.profiles, profile{step: strings.TrimSuffix(filepath.Base(file), ".txt"), top: topLines(string(data))})
	}
	if data, err := os.ReadFile(filepath.Join(b.dir, serverConfigFile)); err == nil {
		run.serverConfig = strings.TrimRight(string(data), "\n")
	} else if !errors.Is(err, os.ErrNotExist) {
		return run, fmt.Errorf("read server configuration of %s: %w", b.name, err)
	}
	if data, err := os.ReadFile(filepath.Join(b.dir, notesFile)); err == nil {
		for line := range strings.SplitSeq(strings.TrimRight(string(data), "\n"), "\n") {
			if line != "" {
				run.notes = append(run.notes, line)
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return run, fmt.Errorf("read notes of %s: %w", b.name, err)
	}
	return run, nil
}

// writeRecord reads every backend's reports and writes the record to
// opts.out, replacing it atomically.
func writeRecord(opts recordOptions, m machine) error {
	runs := make([]backendRun, 0, len(opts.backends))
	for _, b := range opts.backends {
		run, err := loadBackend(b)
		if err != nil {
			return fmt.Errorf("record: %w", err)
		}
		runs = append(runs, run)
	}
	if err := report.WriteFile(opts.out, func(w io.Writer) error { return renderRecord(w, opts, m, runs) }); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// renderRecord writes the Markdown of the record.
func renderRecord(w io.Writer, opts recordOptions, m machine, runs []backendRun) error {
	ew := &errWriter{w: w}
	ew.printf("# Benchmark record %s\n\n", opts.date)
	if opts.seconds < fullSeconds {
		ew.printf("**Smoke run** (`BENCH_SECONDS=%g`): steps were sized to about %g s instead of %d s. "+
			"These figures prove the script works; they are not a benchmark record.\n\n", opts.seconds, opts.seconds, fullSeconds)
	}
	ew.printf("## Machine\n\n")
	ew.printf("| | |\n|---|---|\n")
	ew.printf("| CPU | %s |\n| cores | %d |\n| memory | %s |\n| kernel | %s |\n| Go | %s |\n| tms | %s |\n\n",
		cell(m.cpuModel), m.cores, cell(m.memory), cell(m.kernel), cell(m.goVer), cell(opts.commit))
	ew.printf("The load generator (`tms loadtest`) and the server ran on this machine together.\n\n")

	ew.printf("## Method\n\n")
	ew.printf("`bench/run.sh` started `tms server --dev` on a fresh root directory for each backend, "+
		"waited for `/readyz`, and ran each scenario with `tms loadtest`. Before each step at a fixed number of users, "+
		"a short calibration run at the same users measured the throughput that set the iterations per user, "+
		"so that the step lasts about %g s. The ladder keeps the iterations per user constant across its steps, "+
		"sized so the whole ladder lasts about as long. ", opts.seconds)
	ew.printf("The login step runs a fixed number of whole device-flow logins (code, sign-in with password and TOTP, " +
		"approval, token), each counted as one request, with users that tms loadtest creates first; its latency " +
		"leaves out any wait for a user who has not yet signed in during the current 30-second TOTP step. ")
	ew.printf("The throttled createkey step is the scenario that froze tms_server 0.3.0; " +
		"its latency is measured from each request's scheduled start (corrected for coordinated omission). " +
		"Latencies are in milliseconds unless marked s; errors are failed requests; stalls are stretches " +
		"with requests outstanding and no response for the stall timeout.\n\n")

	for _, run := range runs {
		renderBackend(ew, run)
	}
	return ew.err
}

// renderBackend writes one backend's section.
func renderBackend(ew *errWriter, run backendRun) {
	ew.printf("## %s\n\n", run.name)
	if len(run.reports) == 0 {
		ew.printf("No step produced a report.\n\n")
	} else {
		renderCeiling(ew, run)
		ew.printf("| scenario | users | requests | req/s | × bare | p50 | p90 | p99 | p99.9 | max | errors | stalls |\n")
		ew.printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, nr := range run.reports {
			for _, step := range nr.rep.Steps {
				stalls := stallsOf(nr.rep, step.Name)
				for _, row := range stepRows(nr.rep, step) {
					l := row.result.Latency
					ew.printf("| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %d | %s |\n",
						cell(row.label), step.Users, row.result.Requests, formatRate(row.result.Throughput),
						run.ratio(row.result.Throughput),
						report.FormatMs(l.P50Ms, l.Count), report.FormatMs(l.P90Ms, l.Count),
						report.FormatMs(l.P99Ms, l.Count), report.FormatMs(l.P999Ms, l.Count),
						report.FormatMs(l.MaxMs, l.Count), row.result.Failures, row.stalls(stalls))
				}
			}
		}
		ew.printf("\n")
		renderTargets(ew, run)
		renderProfiles(ew, run)
	}
	if problems := problemLines(run); len(problems) > 0 {
		ew.printf("Problems:\n\n")
		for _, p := range problems {
			ew.printf("- %s\n", p)
		}
		ew.printf("\n")
	}
	if run.serverConfig != "" {
		ew.printf("<details><summary>Server configuration (<code>tms server --print-config</code>)</summary>\n\n")
		ew.printf("```\n%s\n```\n\n</details>\n\n", run.serverConfig)
	}
}

// ratio formats throughput as a multiple of the bare server's, or "–"
// when the ceiling was not measured.
func (r backendRun) ratio(throughput float64) string {
	if r.ceiling <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", throughput/r.ceiling)
}

// renderCeiling says what the bare server measured.
func renderCeiling(ew *errWriter, run backendRun) {
	if run.ceilingRep == nil || run.ceiling <= 0 {
		ew.printf("The bare net/http server (the ceiling) was not measured, so the table has no ratios.\n\n")
		return
	}
	step := run.ceilingRep.Steps[0]
	res := step.Scenarios[0]
	ew.printf("Ceiling: a bare `net/http` server answering a fixed JSON body (`benchtool bare`), measured in the same run "+
		"with the getversion scenario at %d users: **%s req/s**, p99 %s, %d errors. "+
		"The column × bare is each step's throughput divided by it.\n\n",
		step.Users, formatRate(res.Throughput), report.FormatMs(res.Latency.P99Ms, res.Latency.Count), res.Failures)
}

// renderProfiles writes the top of each CPU profile taken with the set.
func renderProfiles(ew *errWriter, run backendRun) {
	if len(run.profiles) == 0 {
		return
	}
	ew.printf("Where the time goes: the top of a CPU profile of the server (`tms server --pprof`, `go tool pprof -top`) " +
		"taken during a repeat of each step below, which is not in the table.\n\n")
	for _, p := range run.profiles {
		ew.printf("<details><summary>%s</summary>\n\n```\n%s\n```\n\n</details>\n\n", cell(p.step), p.top)
	}
}

// topLines keeps the length and the first entries of go tool pprof -top,
// leaving out the file, build id, type and time lines above them.
func topLines(text string) string {
	var keep []string
	for line := range strings.SplitSeq(strings.TrimRight(text, "\n"), "\n") {
		if len(keep) == 0 && !strings.HasPrefix(line, "Duration:") && !strings.HasPrefix(line, "Showing") {
			continue
		}
		keep = append(keep, line)
		if len(keep) == profileLines {
			break
		}
	}
	return strings.Join(keep, "\n")
}

// tableRow is one row of a backend's table.
type tableRow struct {
	label  string
	result report.Result
	// part marks a scenario's share of a mixed step; the step's stalls are
	// counted on its total row only.
	part bool
}

// stalls prints the stall count of the row's step, or nothing for a part.
func (r tableRow) stalls(n int) string {
	if r.part {
		return ""
	}
	return strconv.Itoa(n)
}

// stepRows lists a step's rows: one for a single scenario; the total, then
// each scenario's share, for a mixed step.
func stepRows(rep *report.Report, step report.Step) []tableRow {
	label := stepLabel(rep, step)
	if step.Total == nil {
		rows := make([]tableRow, 0, len(step.Scenarios))
		for _, res := range step.Scenarios {
			rows = append(rows, tableRow{label: label, result: res})
		}
		return rows
	}
	rows := []tableRow{{label: label, result: *step.Total}}
	for _, res := range step.Scenarios {
		rows = append(rows, tableRow{label: "↳ " + res.Scenario, result: res, part: true})
	}
	return rows
}

// stepLabel names a step's workload and shape, e.g. "createkey (ed25519),
// 250 req/s per user" or "getkey, ladder".
func stepLabel(rep *report.Report, step report.Step) string {
	label := step.Workload
	if step.Workload == "mixed" && len(rep.Config.Mix) > 0 {
		parts := make([]string, len(rep.Config.Mix))
		for i, e := range rep.Config.Mix {
			parts[i] = e.Scenario + "=" + strconv.Itoa(e.Weight)
		}
		label += " " + strings.Join(parts, ",")
	}
	if step.Workload == "createkey" {
		label += " (" + shortKeyType(rep.Config.KeyType) + ")"
	}
	if step.Phase != "run" {
		label += ", " + step.Phase
	}
	if step.ThrottlePerUser > 0 {
		label += ", " + formatRate(step.ThrottlePerUser) + " req/s per user"
	}
	if step.StoppedBy != "" {
		label += " (stopped by " + step.StoppedBy + ")"
	}
	return label
}

// shortKeyType names a key type as users say it: "ssh-ed25519" is ed25519.
func shortKeyType(keyType string) string {
	switch strings.ToLower(keyType) {
	case "", "ssh-ed25519", "ed25519":
		return "ed25519"
	case "ssh-rsa", "rsa":
		return "rsa"
	case "ecdsa", "ecdsa-sha2-nistp521":
		return "ecdsa"
	}
	return keyType
}

// stallsOf counts the stalls of the named step.
func stallsOf(rep *report.Report, step string) int {
	n := 0
	for _, s := range rep.Stalls {
		if s.Step == step {
			n++
		}
	}
	return n
}

// target is a figure a step at 100 users (or the throttled scenario) is
// expected to reach.
type target struct {
	label     string
	workload  string
	users     int
	throttled bool
	// minRatio (of the bare server's throughput) and maxP99Ms are zero
	// when the target sets no such bound.
	minRatio float64
	maxP99Ms float64
}

// targets are the goals the benchmark set is measured against: zero errors
// and no stall everywhere, and for getversion, getkey and createkey a
// throughput relative to the bare server at 100 users, with a p99 latency
// for getkey.
func targets() []target {
	return []target{
		{label: "getversion, 100 users", workload: "getversion", users: 100, minRatio: 0.80},
		{label: "getclient, 100 users", workload: "getclient", users: 100},
		{label: "getkey, 100 users", workload: "getkey", users: 100, minRatio: 0.45, maxP99Ms: 20},
		{label: "createkey (ed25519), 100 users", workload: "createkey", users: 100, minRatio: 0.15},
		{label: "createkey, 10 users × 250 req/s each", workload: "createkey", users: 10, throttled: true},
	}
}

// renderTargets compares the measured steps with the targets.
func renderTargets(ew *errWriter, run backendRun) {
	ew.printf("Against the targets:\n\n")
	for _, t := range targets() {
		rep, step, ok := findStep(run, t)
		if !ok {
			ew.printf("- %s: not measured\n", t.label)
			continue
		}
		res := step.Scenarios[0]
		stalls := stallsOf(rep, step.Name)
		met := res.Failures == 0 && stalls == 0 && step.StoppedBy == ""
		parts := []string{formatRate(res.Throughput) + " req/s"}
		if t.minRatio > 0 {
			if run.ceiling > 0 {
				parts[0] += fmt.Sprintf(" = %s the bare server (target ≥ %.2f×)", run.ratio(res.Throughput), t.minRatio)
				met = met && res.Throughput >= t.minRatio*run.ceiling
			} else {
				parts[0] += fmt.Sprintf(" (target ≥ %.2f× the bare server, which was not measured)", t.minRatio)
				met = false
			}
		}
		if t.maxP99Ms > 0 {
			parts = append(parts, fmt.Sprintf("p99 %s (target ≤ %s)", report.FormatMs(res.Latency.P99Ms, res.Latency.Count),
				report.FormatMs(t.maxP99Ms, 1)))
			met = met && res.Latency.Count > 0 && res.Latency.P99Ms <= t.maxP99Ms
		} else {
			parts = append(parts, "p99 "+report.FormatMs(res.Latency.P99Ms, res.Latency.Count))
		}
		parts = append(parts, fmt.Sprintf("%d errors, %d stalls (target 0)", res.Failures, stalls))
		verdict := "met"
		if !met {
			verdict = "**not met**"
		}
		ew.printf("- %s: %s — %s\n", t.label, strings.Join(parts, ", "), verdict)
	}
	ew.printf("\n")
}

// findStep finds the single-scenario run step that matches a target.
func findStep(run backendRun, t target) (*report.Report, report.Step, bool) {
	for _, nr := range run.reports {
		for _, step := range nr.rep.Steps {
			if step.Phase == "run" && step.Model == "closed" && step.Workload == t.workload &&
				step.Users == t.users && (step.ThrottlePerUser > 0) == t.throttled && len(step.Scenarios) == 1 {
				return nr.rep, step, true
			}
		}
	}
	return nil, report.Step{}, false
}

// problemLines lists what went wrong in a backend's run: notes of the
// script, stalls, failed checks and the errors of each step.
func problemLines(run backendRun) []string {
	lines := slices.Clone(run.notes)
	for _, nr := range run.reports {
		for _, s := range nr.rep.Stalls {
			lines = append(lines, "stall in "+s.Describe())
		}
		for _, c := range nr.rep.Checks {
			if !c.Passed {
				lines = append(lines, fmt.Sprintf("%s: check %q failed: %s", nr.file, c.Name, c.Detail))
			}
		}
		for _, step := range nr.rep.Steps {
			for _, res := range step.Scenarios {
				if res.Failures == 0 && len(res.Errors) == 0 {
					continue
				}
				line := fmt.Sprintf("%s, %s: status codes %s; errors %s", step.Name, res.Scenario,
					formatCounts(res.StatusCodes), formatCounts(res.Errors))
				if len(res.ErrorSamples) > 0 {
					line += "; e.g. " + res.ErrorSamples[0]
				}
				lines = append(lines, line)
			}
		}
	}
	for i, l := range lines {
		lines[i] = cell(l)
	}
	return lines
}

// formatRate prints requests per second: whole numbers from 100 up.
func formatRate(perSecond float64) string {
	if perSecond >= 100 {
		return strconv.FormatFloat(perSecond, 'f', 0, 64)
	}
	return strconv.FormatFloat(perSecond, 'f', 1, 64)
}

// formatCounts prints a count map as "k=v" pairs in key order.
func formatCounts(counts map[string]int64) string {
	if len(counts) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(counts))
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, k+"="+strconv.FormatInt(counts[k], 10))
	}
	return strings.Join(parts, " ")
}

// cell makes text safe inside a Markdown table cell or list item: one line,
// no column separator.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// errWriter remembers the first write error so a long run of prints can be
// checked once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, args...)
}
