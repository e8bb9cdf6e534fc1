package loadtest

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// ProgressMode says how a run shows its progress.
type ProgressMode uint8

// The progress modes.
const (
	// ProgressOff shows nothing while steps run.
	ProgressOff ProgressMode = iota
	// ProgressLines prints a plain line now and then, for logs and pipes.
	ProgressLines
	// ProgressBar redraws one line in place, for a terminal.
	ProgressBar
)

// barRefresh is how often the progress bar is redrawn.
const barRefresh = 250 * time.Millisecond

// console serialises what a run writes while it runs, so that notes do not
// tear the progress bar, and keeps the notes for the report.
type console struct {
	mu    sync.Mutex
	w     io.Writer
	bar   string
	notes []string
}

func newConsole(w io.Writer) *console { return &console{w: w} }

// add prints a note and keeps it for the report.
func (c *console) add(note string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notes = append(c.notes, note)
	c.printLocked("loadtest: " + note)
}

// line prints a line that is not kept.
func (c *console) line(text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.printLocked(text)
}

func (c *console) printLocked(text string) {
	if c.bar != "" {
		fmt.Fprint(c.w, "\r\x1b[2K")
	}
	fmt.Fprintln(c.w, text)
	if c.bar != "" {
		fmt.Fprint(c.w, c.bar)
	}
}

// drawBar replaces the progress bar line.
func (c *console) drawBar(bar string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bar = bar
	fmt.Fprint(c.w, "\r\x1b[2K"+bar)
}

// endBar leaves the last bar on its own line.
func (c *console) endBar() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bar != "" {
		fmt.Fprintln(c.w)
		c.bar = ""
	}
}

// kept returns the notes so far.
func (c *console) kept() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.notes...)
}

// progress shows how far a step has got.
type progress struct {
	mode  ProgressMode
	every time.Duration
	con   *console
}

// stepProgress describes the step being shown.
type stepProgress struct {
	name string
	rec  *recorder
	// planned is the number of requests the step will send.
	planned int64
}

// show reports progress until ctx ends, then prints a final line.
func (p *progress) show(ctx context.Context, s stepProgress) {
	if p.mode == ProgressOff {
		<-ctx.Done()
		return
	}
	every := p.every
	if p.mode == ProgressBar {
		every = barRefresh
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	lastCount, lastTime := int64(0), s.rec.start
	for {
		select {
		case <-ctx.Done():
			if p.mode == ProgressBar {
				p.con.drawBar(p.render(s, -1))
				p.con.endBar()
			} else {
				p.con.line(p.render(s, -1))
			}
			return
		case now := <-ticker.C:
			count := s.rec.finished.Load()
			rate := float64(count-lastCount) / now.Sub(lastTime).Seconds()
			lastCount, lastTime = count, now
			if p.mode == ProgressBar {
				p.con.drawBar(p.render(s, rate))
			} else {
				p.con.line(p.render(s, rate))
			}
		}
	}
}

// render formats one progress line; a negative rate means "final", which
// shows the average rate instead.
func (p *progress) render(s stepProgress, rate float64) string {
	done := s.rec.finished.Load()
	elapsed := time.Since(s.rec.start)
	if rate < 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	fraction := 0.0
	if s.planned > 0 {
		fraction = min(float64(done)/float64(s.planned), 1)
	}
	counts := fmt.Sprintf("%d/%d requests (%3.0f%%), %.0f req/s, %d failed, %s",
		done, s.planned, fraction*100, rate, s.rec.failed.Load(), elapsed.Round(100*time.Millisecond))
	if p.mode != ProgressBar {
		return s.name + ": " + counts
	}
	const width = 24
	filled := int(fraction * width)
	return fmt.Sprintf("%s [%s%s] %s", s.name, strings.Repeat("#", filled), strings.Repeat("-", width-filled), counts)
}
