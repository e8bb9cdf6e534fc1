package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/tmsproject/tms/internal/loadtest/report"
)

// maxIterations bounds the iterations per user a calibration may ask for,
// so a mismeasured calibration cannot plan a step of days.
const maxIterations = 10_000_000

// readReport reads a JSON report of tms loadtest.
func readReport(path string) (*report.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("read report %s: %w", path, err)
	}
	if rep.Schema != report.Schema {
		return nil, fmt.Errorf("read report %s: schema %q, want %q", path, rep.Schema, report.Schema)
	}
	return &rep, nil
}

// iterationsFor returns the iterations per user that make a closed-model
// step of the given total users last about seconds, at the throughput of
// the calibration run rep.
func iterationsFor(rep *report.Report, users int, seconds float64) (int, error) {
	if users < 1 {
		return 0, fmt.Errorf("-users: must be at least 1, got %d", users)
	}
	if !(seconds > 0) || math.IsInf(seconds, 0) {
		return 0, fmt.Errorf("-seconds: must be a positive number, got %v", seconds)
	}
	if len(rep.Steps) == 0 {
		return 0, errors.New("-report: the calibration run has no steps")
	}
	step := rep.Steps[0]
	if !(step.Throughput > 0) || step.Requests == step.Failures {
		return 0, fmt.Errorf("-report: the calibration step %q completed no request (%d sent, %d failed)",
			step.Name, step.Requests, step.Failures)
	}
	n := math.Ceil(step.Throughput * seconds / float64(users))
	return int(min(max(n, 1), maxIterations)), nil
}
