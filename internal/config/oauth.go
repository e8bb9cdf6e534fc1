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
	// UserCodeAttemptsPerMinute limits the attempts of one client address.
	UserCodeAttemptsPerMinute int `toml:"user_code_attempts_per_minute" comment:"Sign-ins and page views that look up a user code, per minute from one client address (an IPv4\naddress or an IPv6 /64); a successful step does not count. More are refused with 429 and Retry-After."`
	// AttemptBackoffMax bounds the backoff of a refused address or account.
	AttemptBackoffMax Duration `toml:"attempt_backoff_max" comment:"An address (or an account from one address) that keeps trying while refused waits twice as long\nafter each refusal, up to this."`
	// UserCodeAttemptsPerMinuteTotal raises an alarm; it refuses nothing.
	UserCodeAttemptsPerMinuteTotal int `toml:"user_code_attempts_per_minute_total" comment:"Failed code entries and sign-ins per minute from all addresses together that raise an alarm\n(a warning in the log and tms_alarms_total); nothing is refused for all addresses together."`
	// AccountFailures and AccountFailureWindow limit failed sign-ins of one
	// account from one address.
	AccountFailures int `toml:"account_failures" comment:"Failed sign-ins of one account from one client address per account_failure_window before that\naddress is refused for the account (429). Other addresses are not held back."`
	// AccountFailureWindow is the window of AccountFailures.
	AccountFailureWindow Duration `toml:"account_failure_window" comment:"The window of account_failures."`
	// DeviceCodesPerMinute limits device authorizations per client address.
	DeviceCodesPerMinute int `toml:"device_codes_per_minute" comment:"Logins (device authorizations) one client address may start per minute; more get 429 slow_down\nwith Retry-After."`
	// MaxLiveDeviceCodes bounds the unexpired logins of a tenant.
	MaxLiveDeviceCodes int `toml:"max_live_device_codes" comment:"Unexpired logins (device authorizations, in any state) one tenant may have; more are refused\nwith 503 temporarily_unavailable and Retry-After."`
	// SignInFailuresPerRequest is the failed sign-ins that deny a login.
	SignInFailuresPerRequest int `toml:"sign_in_failures_per_request" comment:"Failed sign-ins for one login after which it is denied (its device gets access_denied)."`
	// PasswordWorkers bounds concurrent password hashing.
	PasswordWorkers int `toml:"password_workers" comment:"Passwords hashed or checked at once (argon2id, 19 MiB each); 0 means half the CPUs. Beyond it: 503."`
	// Upstream lists the OpenID Connect providers users sign in through.
	Upstream []Upstream `toml:"upstream" tables:"true"`
	// Tenants holds per-tenant sign-in settings by tenant name.
	Tenants map[string]TenantSignIn `toml:"tenants" tables:"true"`
	// LDAP lists the directories whose passwords tenants' sign-in pages
	// check.
	LDAP []LDAP `toml:"ldap" tables:"true"`
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
		AttemptBackoffMax:              Duration{15 * time.Minute},
		AccountFailures:                5,
		AccountFailureWindow:           Duration{15 * time.Minute},
		DeviceCodesPerMinute:           30,
		MaxLiveDeviceCodes:             1000,
		SignInFailuresPerRequest:       5,
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
	within("oauth.attempt_backoff_max", o.AttemptBackoffMax, time.Second, 24*time.Hour)
	if o.AccountFailures < 1 {
		bad("oauth.account_failures", "%d must be at least 1", o.AccountFailures)
	}
	within("oauth.account_failure_window", o.AccountFailureWindow, time.Second, 24*time.Hour)
	if o.DeviceCodesPerMinute < 1 {
		bad("oauth.device_codes_per_minute", "%d must be at least 1", o.DeviceCodesPerMinute)
	}
	if o.MaxLiveDeviceCodes < 1 {
		bad("oauth.max_live_device_codes", "%d must be at least 1", o.MaxLiveDeviceCodes)
	}
	if o.SignInFailuresPerRequest < 1 || o.SignInFailuresPerRequest > 1000 {
		bad("oauth.sign_in_failures_per_request", "%d must be from 1 to 1000", o.SignInFailuresPerRequest)
	}
	if o.PasswordWorkers < 0 {
		bad("oauth.password_workers", "%d must not be negative", o.PasswordWorkers)
	}
	o.validateUpstreams(bad)
	validateLDAP(o.LDAP, bad)
}
