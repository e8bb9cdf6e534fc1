package config

import "time"

// Audit configures the audit log of security events.
type Audit struct {
	// Enabled turns the audit log on.
	Enabled bool `toml:"enabled" comment:"Record security events (keys issued, retrieved and refused; changes; sign-ins; failed\nauthentication) in the audit log, listed by \"tms audit\" and GET /v1/tms/audit/list."`
	// Retention is how long events are kept; 0 keeps them forever.
	Retention Duration `toml:"retention" comment:"How long audit events are kept; older ones are deleted every hour. \"0s\" keeps them forever."`
	// FailureWindow folds failed requests per source address.
	FailureWindow Duration `toml:"failure_window" comment:"Failed requests (key lookups only of keys no tenant has) and code entries from one address\n(an IPv6 /64) within this window after its first are written as one entry with a repeats count, whatever client ids they name. \"0s\" folds only repeats\nwithin 200ms."`
}

// defaultAudit returns the built-in [audit] settings: on, kept 90 days.
func defaultAudit() Audit {
	return Audit{Enabled: true, Retention: Duration{90 * 24 * time.Hour}, FailureWindow: Duration{time.Minute}}
}

// validate reports each problem of the [audit] settings through bad.
func (a Audit) validate(bad func(key, format string, args ...any)) {
	if w := a.FailureWindow.Duration; w < 0 || w > time.Hour {
		bad("audit.failure_window", "%s must be from 0s to 1h0m0s", w)
	}
	switch r := a.Retention.Duration; {
	case r < 0:
		bad("audit.retention", "%s must not be negative (0 keeps events forever)", r)
	case r > 0 && r < time.Hour:
		bad("audit.retention", "%s must be at least 1h (or 0 to keep events forever)", r)
	}
}
