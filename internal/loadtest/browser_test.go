package loadtest

import (
	"bytes"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tmsproject/tms/internal/chromiumtest"
	"github.com/tmsproject/tms/internal/loadtest/report"
	"github.com/tmsproject/tms/internal/loadtest/wiretest"
)

func TestLadderReportRendersInChromium(t *testing.T) {
	browser := chromiumtest.Context(t, 90*time.Second, chromedp.WindowSize(1280, 1600))
	srv := wiretest.Start(t, wiretest.Options{})
	cfg := testConfig(srv.URL, "getversion", "getkey")
	cfg.Phase = PhaseLadder
	cfg.Load = Load{LadderUsers: []int{1, 2, 4}, Iterations: 20}
	rep, log, err := runTest(t, cfg)
	if err != nil || !rep.Passed {
		t.Fatalf("ladder run: %v\nlog:\n%s", err, log)
	}
	page := filepath.Join(t.TempDir(), "ladder.html")
	if err := report.WriteFile(page, func(w io.Writer) error { return report.WriteHTML(w, rep) }); err != nil {
		t.Fatal(err)
	}

	err = chromedp.Do(browser, chromedp.Navigate("file://"+page), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	if err != nil {
		t.Fatalf("open the report in the browser: %v", err)
	}
	charts, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart").length`))
	if err != nil {
		t.Fatalf("count charts: %v", err)
	}
	lines, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart polyline").length`))
	if err != nil {
		t.Fatalf("count chart lines: %v", err)
	}
	shot, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("take a screenshot: %v", err)
	}
	// A latency chart for each of the two workloads, and one of throughput.
	if charts != 3 || lines != 4+4+2 {
		t.Errorf("the page shows %d charts with %d lines, want 3 charts with 10 lines", charts, lines)
	}

	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	shotFile := filepath.Join(t.TempDir(), "ladder.png")
	if err := os.WriteFile(shotFile, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	nonWhite, blue, red := pixelCounts(img)
	b := img.Bounds()
	t.Logf("screenshot %dx%d: %d non-white pixels, %d in the first series colour, %d in the second (%s)",
		b.Dx(), b.Dy(), nonWhite, blue, red, shotFile)
	if nonWhite < b.Dx()*b.Dy()/100 {
		t.Errorf("the screenshot is blank: %d of %d pixels are not white", nonWhite, b.Dx()*b.Dy())
	}
	// The series colours only appear where chart lines and legends are drawn.
	if blue < 500 || red < 500 {
		t.Errorf("chart lines are missing from the screenshot: %d pixels of the first series colour, %d of the second", blue, red)
	}
}

// pixelCounts counts the pixels that are not white, and those close to the
// first two series colours (#1f77b4 and #d62728).
func pixelCounts(img image.Image) (nonWhite, first, second int) {
	near := func(r, g, b uint32, wr, wg, wb uint32) bool {
		d := func(x, y uint32) uint32 {
			if x > y {
				return x - y
			}
			return y - x
		}
		return d(r, wr)+d(g, wg)+d(b, wb) < 60
	}
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			if r < 245 || g < 245 || b < 245 {
				nonWhite++
			}
			if near(r, g, b, 0x1f, 0x77, 0xb4) {
				first++
			}
			if near(r, g, b, 0xd6, 0x27, 0x28) {
				second++
			}
		}
	}
	return nonWhite, first, second
}
