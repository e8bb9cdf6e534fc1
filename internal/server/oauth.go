package server

import (
	"log/slog"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/config"
	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/oauth"
	"github.com/tmsproject/tms/internal/tms"
)

// oauthOptions turns the [oauth] configuration into the rules' options.
func oauthOptions(c config.OAuth) tms.OAuthOptions {
	return tms.OAuthOptions{
		DeviceCodeLifetime:   c.DeviceCodeLifetime.Duration,
		PollInterval:         c.PollInterval.Duration,
		AccessTokenLifetime:  c.AccessTokenLifetime.Duration,
		RefreshTokenLifetime: c.RefreshTokenLifetime.Duration,
		MFAValidity:          c.MFAValidity.Duration,
		MaxDelegationDays:    c.MaxDelegationDays,
		PasswordWorkers:      c.PasswordWorkers,
	}
}

// newOAuthHandler returns the device flow endpoints and pages, which name
// the server by baseURL in the verification URI.
func newOAuthHandler(cfg config.Config, svc *tms.Service, logger *slog.Logger, baseURL string, m *metrics.Metrics) *oauth.Handler {
	m.CounterFunc("tms_password_checks_total", "Passwords checked by browser sign-ins (argon2id).", nil,
		func() float64 { return float64(svc.PasswordChecks()) })
	return oauth.New(oauth.Options{
		Service:                svc,
		Logger:                 logger,
		BaseURL:                baseURL,
		AttemptsPerMinute:      cfg.OAuth.UserCodeAttemptsPerMinute,
		AttemptsPerMinuteTotal: cfg.OAuth.UserCodeAttemptsPerMinuteTotal,
		AttemptBackoffMax:      cfg.OAuth.AttemptBackoffMax.Duration,
		AccountFailures:        cfg.OAuth.AccountFailures,
		AccountWindow:          cfg.OAuth.AccountFailureWindow.Duration,
		DeviceCodesPerMinute:   cfg.OAuth.DeviceCodesPerMinute,
		RetryAfter:             cfg.Limits.RetryAfter.Duration,
		Metrics:                m,
		NotFound:               api.NotFound,
	})
}
