package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlPage is what the HTML template renders.
type htmlPage struct {
	*Report
	Charts []htmlChart
}

// htmlChart is one rendered chart with the section it belongs to.
type htmlChart struct {
	Section string
	SVG     template.HTML
}

// WriteHTML writes r as one self-contained HTML page: inline styles and
// inline SVG charts, no scripts, fonts or other external resources.
func WriteHTML(w io.Writer, r *Report) error {
	tmpl, err := template.New("report").Funcs(template.FuncMap{
		"ms":      FormatMs,
		"rate":    formatRate,
		"percent": formatPercent,
		"seconds": formatSeconds,
		"counts":  formatCounts,
		"rows":    stepRows,
		"yesno":   yesNo,
		"mib":     func(b float64) float64 { return b / (1 << 20) },
	}).Parse(htmlSource)
	if err != nil {
		return fmt.Errorf("parse report template: %w", err)
	}
	page := htmlPage{Report: r}
	for _, c := range charts(r) {
		// The SVG is built from numbers and escaped text only.
		page.Charts = append(page.Charts, htmlChart{Section: c.Title, SVG: template.HTML(c.svg())})
	}
	if err := tmpl.Execute(w, page); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return nil
}

// charts builds the report's charts: latency and throughput against users
// for ladder steps, and over time for the steps of every other phase except
// smoke, one set per workload.
func charts(r *Report) []lineChart {
	var out []lineChart
	out = append(out, ladderCharts(r.Steps)...)
	for _, phase := range phasesInOrder(r.Steps) {
		if phase == "ladder" || phase == "smoke" {
			continue
		}
		var workloads []string
		for _, s := range r.Steps {
			if s.Phase == phase && !slices.Contains(workloads, s.Workload) {
				workloads = append(workloads, s.Workload)
			}
		}
		for _, w := range workloads {
			out = append(out, timeCharts(phase, w, r.Steps)...)
		}
	}
	return out
}

func phasesInOrder(steps []Step) []string {
	var phases []string
	for _, s := range steps {
		if !slices.Contains(phases, s.Phase) {
			phases = append(phases, s.Phase)
		}
	}
	return phases
}

// ladderCharts draws, for each workload of the ladder, latency percentiles
// against users per scenario, and one throughput chart for all workloads.
func ladderCharts(steps []Step) []lineChart {
	var ladder []Step
	for _, s := range steps {
		if s.Phase == "ladder" && s.Model == "closed" {
			ladder = append(ladder, s)
		}
	}
	if len(ladder) == 0 {
		return nil
	}
	var categories []string
	catIndex := map[int]int{}
	var users []int
	for _, s := range ladder {
		if _, ok := catIndex[s.Users]; !ok {
			users = append(users, s.Users)
			catIndex[s.Users] = 0
		}
	}
	slices.Sort(users)
	for i, u := range users {
		catIndex[u] = i
		categories = append(categories, fmt.Sprint(u))
	}

	var out []lineChart
	throughput := lineChart{Title: "Throughput against users (ladder)", XLabel: "concurrent users",
		YLabel: "requests per second", Categories: categories}
	// Latency series per (workload, scenario), in order of appearance.
	type key struct{ workload, scenario string }
	var keys []key
	latency := map[key]*[4]series{}
	tput := map[string]*series{}
	var workloads []string
	for _, s := range ladder {
		x := float64(catIndex[s.Users])
		if _, ok := tput[s.Workload]; !ok {
			workloads = append(workloads, s.Workload)
			tput[s.Workload] = &series{Name: s.Workload}
		}
		tput[s.Workload].Points = append(tput[s.Workload].Points, point{x, s.Throughput})
		for _, res := range s.Scenarios {
			k := key{s.Workload, res.Scenario}
			ser, ok := latency[k]
			if !ok {
				ser = &[4]series{{Name: "p50"}, {Name: "p90"}, {Name: "p99"}, {Name: "p99.9"}}
				latency[k] = ser
				keys = append(keys, k)
			}
			if res.Latency.Count == 0 {
				continue
			}
			l := res.Latency
			for i, v := range []float64{l.P50Ms, l.P90Ms, l.P99Ms, l.P999Ms} {
				ser[i].Points = append(ser[i].Points, point{x, v})
			}
		}
	}
	for _, k := range keys {
		title := fmt.Sprintf("%s latency against users (ladder)", k.scenario)
		if k.workload != k.scenario {
			title = fmt.Sprintf("%s latency in %s against users (ladder)", k.scenario, k.workload)
		}
		out = append(out, lineChart{Title: title, XLabel: "concurrent users", YLabel: "latency (ms)",
			Categories: categories, Series: latency[k][:]})
	}
	for _, w := range workloads {
		throughput.Series = append(throughput.Series, *tput[w])
	}
	return append(out, throughput)
}

// timeCharts draws the windows of a workload's steps in a phase on one
// time axis: latency, throughput, and server memory when it was measured.
func timeCharts(phase, workload string, steps []Step) []lineChart {
	var phaseSteps []Step
	for _, s := range steps {
		if s.Phase == phase && s.Workload == workload {
			phaseSteps = append(phaseSteps, s)
		}
	}
	if len(phaseSteps) == 0 {
		return nil
	}
	origin := phaseSteps[0].StartedAt
	p50 := series{Name: "p50"}
	p99 := series{Name: "p99"}
	maxS := series{Name: "max"}
	tput := series{Name: "requests/s"}
	fails := series{Name: "failures/s"}
	mem := series{Name: "resident memory"}
	anyFailure := false
	for _, s := range phaseSteps {
		base := s.StartedAt.Sub(origin).Seconds()
		for _, w := range s.Windows {
			x := base + w.OffsetSeconds + w.Seconds
			tput.Points = append(tput.Points, point{x, w.Throughput})
			failRate := 0.0
			if w.Seconds > 0 {
				failRate = float64(w.Failures) / w.Seconds
			}
			anyFailure = anyFailure || w.Failures > 0
			fails.Points = append(fails.Points, point{x, failRate})
			if w.Requests > 0 {
				p50.Points = append(p50.Points, point{x, w.P50Ms})
				p99.Points = append(p99.Points, point{x, w.P99Ms})
				maxS.Points = append(maxS.Points, point{x, w.MaxMs})
			}
			if w.MemoryBytes != nil {
				mem.Points = append(mem.Points, point{x, *w.MemoryBytes / (1 << 20)})
			}
		}
	}
	out := []lineChart{
		{Title: fmt.Sprintf("%s latency over time (%s)", workload, phase), XLabel: "seconds", YLabel: "latency (ms)",
			Series: []series{p50, p99, maxS}},
	}
	tputChart := lineChart{Title: fmt.Sprintf("%s throughput over time (%s)", workload, phase), XLabel: "seconds",
		YLabel: "per second", Series: []series{tput}}
	if anyFailure {
		tputChart.Series = append(tputChart.Series, fails)
	}
	out = append(out, tputChart)
	if len(mem.Points) > 0 {
		out = append(out, lineChart{Title: fmt.Sprintf("Server resident memory over time (%s %s)", phase, workload),
			XLabel: "seconds", YLabel: "MiB", Series: []series{mem}})
	}
	var drawn []lineChart
	for _, c := range out {
		if !c.empty() {
			drawn = append(drawn, c)
		}
	}
	return drawn
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
