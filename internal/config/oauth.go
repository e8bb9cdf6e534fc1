package config

import "time"

// OAuth configures end users' sign-in and the OAuth 2.0 Device
// Authorization Grant (RFC 8628) that "tms login" uses.
type OAuth struct {
	// DeviceCodeLifetime is how long a device code and its user code live.
	DeviceCodeLifetime Duration `toml:"device_code_lifetime" comment:"How long a login started by \"tms login\" waits for the user: the lifetime of its device code and user code."`
	// PollInterval is the least time between two token requests of a device.
	PollInterval Duration `toml:"poll_interval" comment:"Least time a device waits between two token requests (whole seconds); faster polls are answered slow_down."`
	// AccessTokenLifetime is the lifetime of an access token.
	AccessTokenLifetime Duration `toml:"access_token_lifetime" comment:"Lifetime of an access token."`
	// RefreshTokenLifetime is the lifetime of a refresh token.
	RefreshTokenLifetime Duration `toml:"refresh_token_lifetime" comment:"Lifetime of a refresh token. Refresh tokens rotate at every use and stop working when the\ndelegation the user approved ends, whichever comes first."`
	// MFAValidity is how long a sign-in with a TOTP code keeps the user's
	// MFA record valid.
	MFAValidity Duration `toml:"mfa_validity" comment:"How long a browser sign-in with password and TOTP code keeps the user's MFA record valid."`
	// MaxDelegationDays caps the lifetime a user can approve for a client.
	MaxDelegationDays int `toml:"max_delegation_days" comment:"Longest lifetime, in days, a user can approve for an application; longer requests are cut to it."`
	// UserCodeAttemptsPerMinute limits failed code entries per client address.
	UserCodeAttemptsPerMinute int `toml:"user_code_attempts_per_minute" comment:"Failed entries of a user code or sign-in allowed per minute from one client address;\nmore are refused with 429 until the minute has passed."`
	// UserCodeAttemptsPerMinuteTotal limits failed code entries from all
	// addresses together.
	UserCodeAttemptsPerMinuteTotal int `toml:"user_code_attempts_per_minute_total" comment:"Failed entries of a user code or sign-in allowed per minute from all addresses together."`
	// PasswordWorkers bounds concurrent password hashing.
	PasswordWorkers int `toml:"password_workers" comment:"Passwords hashed or checked at once (argon2id, 19 MiB each); 0 means half the CPUs. Beyond it: 503."`
	// Upstream lists the OpenID Connect providers users sign in through.
	Upstream []Upstream `toml:"upstream" tables:"true"`
	// Tenants holds per-tenant sign-in settings by tenant name.
	Tenants map[string]TenantSignIn `toml:"tenants" tables:"true"`
}

// defaultOAuth returns the built-in [oauth] settings.
func defaultOAuth() OAuth {
	return OAuth{
		DeviceCodeLifetime:             Duration{10 * time.Minute},
		PollInterval:                   Duration{5 * time.Second},
		AccessTokenLifetime:            Duration{time.Hour},
		RefreshTokenLifetime:           Duration{30 * 24 * time.Hour},
		MFAValidity:                    Duration{24 * time.Hour},
		MaxDelegationDays:              30,
		UserCodeAttemptsPerMinute:      10,
		UserCodeAttemptsPerMinuteTotal: 100,
	}
}

// validate reports each problem of the [oauth] settings through bad.
func (o OAuth) validate(bad func(key, format string, args ...any)) {
	within := func(key string, d Duration, least, most time.Duration) {
		if d.Duration < least || d.Duration > most {
			bad(key, "%s must be from %s to %s", d.Duration, least, most)
		}
	}
	within("oauth.device_code_lifetime", o.DeviceCodeLifetime, time.Minute, 24*time.Hour)
	within("oauth.poll_interval", o.PollInterval, time.Second, time.Minute)
	if o.PollInterval.Duration%time.Second != 0 {
		bad("oauth.poll_interval", "%s must be a whole number of seconds", o.PollInterval.Duration)
	}
	if o.PollInterval.Duration >= o.DeviceCodeLifetime.Duration {
		bad("oauth.poll_interval", "%s must be shorter than oauth.device_code_lifetime (%s)", o.PollInterval.Duration, o.DeviceCodeLifetime.Duration)
	}
	within("oauth.access_token_lifetime", o.AccessTokenLifetime, time.Minute, 7*24*time.Hour)
	within("oauth.refresh_token_lifetime", o.RefreshTokenLifetime, time.Hour, 5*365*24*time.Hour)
	within("oauth.mfa_validity", o.MFAValidity, time.Minute, 365*24*time.Hour)
	if o.MaxDelegationDays < 1 || o.MaxDelegationDays > 3650 {
		bad("oauth.max_delegation_days", "%d must be from 1 to 3650", o.MaxDelegationDays)
	}
	if o.UserCodeAttemptsPerMinute < 1 {
		bad("oauth.user_code_attempts_per_minute", "%d must be at least 1", o.UserCodeAttemptsPerMinute)
	}
	if o.UserCodeAttemptsPerMinuteTotal < o.UserCodeAttemptsPerMinute {
		bad("oauth.user_code_attempts_per_minute_total", "%d must be at least oauth.user_code_attempts_per_minute (%d)",
			o.UserCodeAttemptsPerMinuteTotal, o.UserCodeAttemptsPerMinute)
	}
	if o.PasswordWorkers < 0 {
		bad("oauth.password_workers", "%d must not be negative", o.PasswordWorkers)
	}
	o.validateUpstreams(bad)
}
