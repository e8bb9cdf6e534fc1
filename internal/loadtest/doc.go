// Package loadtest drives load against a TMS server and measures how it
// answers.
//
// A run is a list of steps. Each step applies one workload (a scenario, or a
// weighted mix of scenarios) in one of two models: closed (a number of users,
// each sending a number of requests one after another, optionally throttled)
// or open (requests issued at a fixed rate for a duration, whatever the
// server does, with a bound on outstanding requests). Phases (smoke, ladder,
// spike, soak) are preset lists of steps.
//
// Latencies go into HDR histograms per scenario and step. In the throttled
// closed model and in the open model they are corrected for coordinated
// omission. A stall detector stops the run when requests are outstanding and
// no response arrives for the stall timeout. Before any load, a preflight
// sends each scenario once and turns a failure into a message that says what
// to do.
package loadtest
