package loadtest

import (
	"context"
	"time"

	"github.com/tmsproject/tms/internal/loadtest/report"
)

// watchStalls watches a step until ctx ends. When requests have been
// outstanding and no response has arrived for timeout, it calls stop and
// returns the stall; otherwise it returns nil.
func watchStalls(ctx context.Context, rec *recorder, timeout time.Duration, step string, stop func()) *report.Stall {
	ticker := time.NewTicker(min(max(timeout/20, 5*time.Millisecond), 250*time.Millisecond))
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if rec.inFlight.Load() == 0 {
			continue
		}
		last := time.Duration(rec.lastProgress.Load())
		quiet := time.Since(rec.start) - last
		if quiet < timeout {
			continue
		}
		stall := &report.Stall{
			Step:            step,
			StartedAt:       rec.start.Add(last),
			OffsetSeconds:   last.Seconds(),
			Responses:       rec.responses.Load(),
			InFlight:        rec.inFlight.Load(),
			DetectedSeconds: quiet.Seconds(),
		}
		stop()
		return stall
	}
}
