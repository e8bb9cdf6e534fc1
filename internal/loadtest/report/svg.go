package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// seriesColor returns the colour of the i-th series; the colours stay
// distinct in print.
func seriesColor(i int) string {
	palette := [...]string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}
	return palette[i%len(palette)]
}

// Chart geometry in SVG user units.
const (
	chartWidth   = 760
	chartHeight  = 320
	marginLeft   = 70
	marginRight  = 170
	marginTop    = 36
	marginBottom = 52
	plotWidth    = chartWidth - marginLeft - marginRight
	plotHeight   = chartHeight - marginTop - marginBottom
)

// lineChart is a chart of one or more series over a shared x axis.
type lineChart struct {
	Title  string
	XLabel string
	YLabel string
	// Categories, when set, spaces the x axis evenly and labels position i
	// with Categories[i]; points then use the index as X.
	Categories []string
	Series     []series
}

type series struct {
	Name   string
	Points []point
}

type point struct{ X, Y float64 }

// empty reports whether the chart has no point to draw.
func (c lineChart) empty() bool {
	for _, s := range c.Series {
		if len(s.Points) > 0 {
			return false
		}
	}
	return true
}

// svg renders the chart as a standalone inline SVG element.
func (c lineChart) svg() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" class="chart">`,
		chartWidth, chartHeight, chartWidth, chartHeight)
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`, chartWidth, chartHeight)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold" fill="#222">%s</text>`, marginLeft, esc(c.Title))

	xMin, xMax := c.xRange()
	yTicks := niceTicks(0, c.yMax())
	yTop := yTicks[len(yTicks)-1]
	xOf := func(x float64) float64 { return marginLeft + (x-xMin)/(xMax-xMin)*plotWidth }
	yOf := func(y float64) float64 { return marginTop + plotHeight - y/yTop*plotHeight }

	// Grid and y axis labels.
	for _, t := range yTicks {
		y := yOf(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#e3e3e3" stroke-width="1"/>`,
			marginLeft, num(y), marginLeft+plotWidth, num(y))
		fmt.Fprintf(&b, `<text x="%d" y="%s" font-size="11" text-anchor="end" fill="#444">%s</text>`,
			marginLeft-6, num(y+4), esc(tickLabel(t)))
	}
	// X axis labels.
	if len(c.Categories) > 0 {
		for i, label := range c.Categories {
			x := xOf(float64(i))
			fmt.Fprintf(&b, `<text x="%s" y="%d" font-size="11" text-anchor="middle" fill="#444">%s</text>`,
				num(x), marginTop+plotHeight+16, esc(label))
		}
	} else {
		for _, t := range niceTicks(xMin, xMax) {
			if t > xMax {
				break
			}
			x := xOf(t)
			fmt.Fprintf(&b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#e3e3e3" stroke-width="1"/>`,
				num(x), marginTop, num(x), marginTop+plotHeight)
			fmt.Fprintf(&b, `<text x="%s" y="%d" font-size="11" text-anchor="middle" fill="#444">%s</text>`,
				num(x), marginTop+plotHeight+16, esc(tickLabel(t)))
		}
	}
	// Axes and their titles.
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444" stroke-width="1"/>`,
		marginLeft, marginTop+plotHeight, marginLeft+plotWidth, marginTop+plotHeight)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444" stroke-width="1"/>`,
		marginLeft, marginTop, marginLeft, marginTop+plotHeight)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="middle" fill="#222">%s</text>`,
		marginLeft+plotWidth/2, chartHeight-12, esc(c.XLabel))
	fmt.Fprintf(&b, `<text x="16" y="%d" font-size="12" text-anchor="middle" fill="#222" transform="rotate(-90 16 %d)">%s</text>`,
		marginTop+plotHeight/2, marginTop+plotHeight/2, esc(c.YLabel))

	// Series and legend.
	for i, s := range c.Series {
		color := seriesColor(i)
		if len(s.Points) > 0 {
			coords := make([]string, len(s.Points))
			for j, p := range s.Points {
				coords[j] = num(xOf(p.X)) + "," + num(yOf(p.Y))
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2.5" stroke-linejoin="round" points="%s"/>`,
				color, strings.Join(coords, " "))
			if len(s.Points) <= 40 {
				for _, p := range s.Points {
					fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3.5" fill="%s"/>`, num(xOf(p.X)), num(yOf(p.Y)), color)
				}
			}
		}
		ly := marginTop + 8 + i*20
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="14" height="4" fill="%s"/>`, marginLeft+plotWidth+16, ly, color)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" fill="#222">%s</text>`, marginLeft+plotWidth+36, ly+6, esc(s.Name))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// xRange returns the span of the x axis; it is never empty.
func (c lineChart) xRange() (lo, hi float64) {
	if len(c.Categories) > 0 {
		if len(c.Categories) == 1 {
			return -0.5, 0.5
		}
		return -0.25, float64(len(c.Categories)-1) + 0.25
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			lo, hi = min(lo, p.X), max(hi, p.X)
		}
	}
	if math.IsInf(lo, 1) {
		return 0, 1
	}
	lo = min(lo, 0)
	if hi <= lo {
		hi = lo + 1
	}
	return lo, hi
}

func (c lineChart) yMax() float64 {
	top := 0.0
	for _, s := range c.Series {
		for _, p := range s.Points {
			top = max(top, p.Y)
		}
	}
	return top
}

// niceTicks returns evenly spaced round tick values from lo that cover hi.
func niceTicks(lo, hi float64) []float64 {
	if hi <= lo {
		hi = lo + 1
	}
	step := niceStep((hi - lo) / 5)
	start := math.Floor(lo/step) * step
	ticks := []float64{start}
	for t := start; t < hi; {
		t += step
		ticks = append(ticks, t)
	}
	return ticks
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	exp := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / exp; {
	case f <= 1:
		return exp
	case f <= 2:
		return 2 * exp
	case f <= 5:
		return 5 * exp
	default:
		return 10 * exp
	}
}

func tickLabel(v float64) string {
	if math.Abs(v) >= 1e6 {
		return strconv.FormatFloat(v/1e6, 'g', 4, 64) + "M"
	}
	if math.Abs(v) >= 1e4 {
		return strconv.FormatFloat(v/1e3, 'g', 4, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func esc(s string) string { return html.EscapeString(s) }
