package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteText writes a human-readable summary of r.
func WriteText(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	ew.printf("\ntms loadtest against %s", r.Config.URL)
	if r.Config.Tenant != "" || r.Config.ClientID != "" {
		ew.printf(" (tenant %q, client %q)", r.Config.Tenant, r.Config.ClientID)
	}
	ew.printf("\n")
	ew.printf("phase %s, scenarios %s, %s elapsed\n\n", r.Config.Phase, strings.Join(r.Config.Scenarios, ","),
		formatSeconds(r.FinishedAt.Sub(r.StartedAt).Seconds()))

	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSCENARIO\tREQUESTS\tFAILED\tREQ/S\tP50\tP90\tP99\tP99.9\tMAX")
	corrected := false
	for _, step := range r.Steps {
		for _, res := range stepRows(step) {
			mark := ""
			if res.Correction != "none" {
				mark = "*"
				corrected = true
			}
			l := res.Latency
			fmt.Fprintf(tw, "%s\t%s%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", step.Name, res.Scenario, mark, res.Requests,
				res.Failures, formatRate(res.Throughput), FormatMs(l.P50Ms, l.Count), FormatMs(l.P90Ms, l.Count),
				FormatMs(l.P99Ms, l.Count), FormatMs(l.P999Ms, l.Count), FormatMs(l.MaxMs, l.Count))
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	if corrected {
		ew.printf("* latency corrected for coordinated omission: it counts the delay a slow response caused to the requests scheduled after it\n")
	}

	ew.printf("\nstatus codes and errors:\n")
	for _, step := range r.Steps {
		for _, res := range step.Scenarios {
			ew.printf("  %s, %s: %s", step.Name, res.Scenario, formatCounts(res.StatusCodes))
			if len(res.Errors) > 0 {
				ew.printf("; errors %s", formatCounts(res.Errors))
			}
			ew.printf("\n")
			for _, sample := range res.ErrorSamples {
				ew.printf("      e.g. %s\n", sample)
			}
		}
		if step.MaxStartLagMs > 0 {
			ew.printf("  %s: the generator started a request up to %s behind schedule\n", step.Name, FormatMs(step.MaxStartLagMs, 1))
		}
	}

	if len(r.Stalls) == 0 {
		ew.printf("\nstalls: none\n")
	} else {
		ew.printf("\nstalls:\n")
		for _, s := range r.Stalls {
			ew.printf("  %s\n", s.Describe())
		}
	}
	for _, d := range r.Drift {
		ew.printf("\ndrift over %s: %s\n", d.Step, d.Describe())
	}
	if len(r.Checks) > 0 {
		ew.printf("\nchecks:\n")
		for _, c := range r.Checks {
			verdict := "PASS"
			if !c.Passed {
				verdict = "FAIL"
			}
			ew.printf("  %s  %s: %s\n", verdict, c.Name, c.Detail)
		}
	}
	switch {
	case r.Passed:
		ew.printf("\nresult: PASSED\n")
	default:
		ew.printf("\nresult: FAILED\n")
	}
	return ew.err
}

// Describe says in one line what happened in the stall.
func (s Stall) Describe() string {
	return fmt.Sprintf("%s: no response for %s from %s (%s into the step, after %d responses; %d requests outstanding)",
		s.Step, formatSeconds(s.DetectedSeconds), s.StartedAt.Format("15:04:05.000"), formatSeconds(s.OffsetSeconds),
		s.Responses, s.InFlight)
}

// Describe says in one line how the end of a long step compares with its
// beginning.
func (d Drift) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "p99 %s → %s, throughput %s → %s req/s, error rate %s → %s",
		FormatMs(d.P99StartMs, 1), FormatMs(d.P99EndMs, 1), formatRate(d.ThroughputStart), formatRate(d.ThroughputEnd),
		formatPercent(d.ErrorRateStart), formatPercent(d.ErrorRateEnd))
	if d.MemoryGrowthBytesPerHour != nil && d.MemoryStartBytes != nil && d.MemoryEndBytes != nil {
		fmt.Fprintf(&b, ", server memory %s → %s (%+.1f MiB/hour)", formatBytes(*d.MemoryStartBytes),
			formatBytes(*d.MemoryEndBytes), *d.MemoryGrowthBytesPerHour/(1<<20))
	} else {
		b.WriteString(", server memory not available")
	}
	return b.String()
}

// stepRows lists the step's scenario results, then the merged total when
// there are several.
func stepRows(step Step) []Result {
	rows := slices.Clone(step.Scenarios)
	if step.Total != nil {
		rows = append(rows, *step.Total)
	}
	return rows
}

// FormatMs formats a latency in milliseconds with three significant digits,
// or "-" when nothing was measured.
func FormatMs(ms float64, count int64) string {
	switch {
	case count == 0:
		return "-"
	case ms >= 10000:
		return strconv.FormatFloat(ms/1000, 'f', 1, 64) + "s"
	case ms >= 1000:
		return strconv.FormatFloat(ms/1000, 'f', 2, 64) + "s"
	case ms >= 100:
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	case ms >= 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	default:
		return strconv.FormatFloat(ms, 'f', 2, 64) + "ms"
	}
}

func formatRate(perSecond float64) string {
	if perSecond >= 100 {
		return strconv.FormatFloat(perSecond, 'f', 0, 64)
	}
	return strconv.FormatFloat(perSecond, 'f', 1, 64)
}

func formatPercent(fraction float64) string {
	return strconv.FormatFloat(fraction*100, 'g', 3, 64) + "%"
}

func formatSeconds(seconds float64) string {
	if seconds < 1 {
		return strconv.FormatFloat(seconds, 'f', 2, 64) + "s"
	}
	if seconds < 60 {
		return strconv.FormatFloat(seconds, 'f', 1, 64) + "s"
	}
	return fmt.Sprintf("%dm%02ds", int(seconds)/60, int(seconds)%60)
}

func formatBytes(b float64) string {
	return strconv.FormatFloat(b/(1<<20), 'f', 1, 64) + " MiB"
}

// formatCounts prints a count map as "k=v" pairs in key order.
func formatCounts(counts map[string]int64) string {
	if len(counts) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(counts))
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	return strings.Join(parts, " ")
}

// errWriter remembers the first write error so a long run of prints can be
// checked once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = fmt.Errorf("write summary: %w", err)
	}
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}
