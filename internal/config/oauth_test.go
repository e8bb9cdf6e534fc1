package config

import (
	"strings"
	"testing"
	"time"
)

func TestOAuthDefaults(t *testing.T) {
	c := Default()
	if c.OAuth.DeviceCodeLifetime.Duration != 10*time.Minute || c.OAuth.PollInterval.Duration != 5*time.Second ||
		c.OAuth.AccessTokenLifetime.Duration != time.Hour || c.OAuth.MFAValidity.Duration != 24*time.Hour ||
		c.OAuth.MaxDelegationDays != 30 {
		t.Fatalf("oauth defaults: %+v", c.OAuth)
	}
	if !strings.Contains(Template(), "[oauth]\n") || !strings.Contains(Template(), "mfa_validity = \"24h0m0s\"") {
		t.Fatalf("the template lacks the [oauth] section:\n%s", Template())
	}
}

func TestOAuthValidation(t *testing.T) {
	tests := []struct {
		env  string
		want string
	}{
		{"TMS_OAUTH_POLL_INTERVAL=1500ms", "oauth.poll_interval: 1.5s must be a whole number of seconds"},
		{"TMS_OAUTH_POLL_INTERVAL=0s", "oauth.poll_interval: 0s must be from 1s to 1m0s"},
		{"TMS_OAUTH_DEVICE_CODE_LIFETIME=30s", "oauth.device_code_lifetime: 30s must be from 1m0s to 24h0m0s"},
		{"TMS_OAUTH_ACCESS_TOKEN_LIFETIME=-1h", "oauth.access_token_lifetime: -1h0m0s must be from"},
		{"TMS_OAUTH_REFRESH_TOKEN_LIFETIME=1m", "oauth.refresh_token_lifetime: 1m0s must be from 1h0m0s"},
		{"TMS_OAUTH_MFA_VALIDITY=1s", "oauth.mfa_validity: 1s must be from 1m0s"},
		{"TMS_OAUTH_MAX_DELEGATION_DAYS=0", "oauth.max_delegation_days: 0 must be from 1 to 3650"},
		{"TMS_OAUTH_USER_CODE_ATTEMPTS_PER_MINUTE=0", "oauth.user_code_attempts_per_minute: 0 must be at least 1"},
		{"TMS_OAUTH_USER_CODE_ATTEMPTS_PER_MINUTE_TOTAL=5", "oauth.user_code_attempts_per_minute_total: 5 must be at least oauth.user_code_attempts_per_minute (10)"},
		{"TMS_OAUTH_PASSWORD_WORKERS=-2", "oauth.password_workers: -2 must not be negative"},
		{"TMS_OAUTH_ATTEMPT_BACKOFF_MAX=0s", "oauth.attempt_backoff_max: 0s must be from 1s to 24h0m0s"},
		{"TMS_OAUTH_ACCOUNT_FAILURES=0", "oauth.account_failures: 0 must be at least 1"},
		{"TMS_OAUTH_ACCOUNT_FAILURE_WINDOW=-1m", "oauth.account_failure_window: -1m0s must be from 1s"},
		{"TMS_OAUTH_DEVICE_CODES_PER_MINUTE=0", "oauth.device_codes_per_minute: 0 must be at least 1"},
		{"TMS_OAUTH_MAX_LIVE_DEVICE_CODES=0", "oauth.max_live_device_codes: 0 must be at least 1"},
		{"TMS_OAUTH_SIGN_IN_FAILURES_PER_REQUEST=0", "oauth.sign_in_failures_per_request: 0 must be from 1 to 1000"},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			cfg, _, err := Load("", false, []string{tc.env})
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			err = cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.Count(err.Error(), "\n") != 0 {
				t.Fatalf("one bad value gave several problems: %v", err)
			}
		})
	}
	if _, _, err := Load("", false, []string{"TMS_OAUTH_MFA_VALIDITY=soon"}); err == nil ||
		!strings.Contains(err.Error(), "TMS_OAUTH_MFA_VALIDITY") {
		t.Fatalf("unparsable duration: got %v", err)
	}
}
