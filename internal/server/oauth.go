package server

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/tmsproject/tms/internal/api"
	"github.com/tmsproject/tms/internal/config"
	"github.com/tmsproject/tms/internal/directory"
	"github.com/tmsproject/tms/internal/metrics"
	"github.com/tmsproject/tms/internal/oauth"
	"github.com/tmsproject/tms/internal/tms"
	"github.com/tmsproject/tms/internal/upstream"
)

// oauthOptions turns the [oauth] configuration into the rules' options.
func oauthOptions(c config.OAuth) tms.OAuthOptions {
	return tms.OAuthOptions{
		DeviceCodeLifetime:       c.DeviceCodeLifetime.Duration,
		PollInterval:             c.PollInterval.Duration,
		AccessTokenLifetime:      c.AccessTokenLifetime.Duration,
		RefreshTokenLifetime:     c.RefreshTokenLifetime.Duration,
		MFAValidity:              c.MFAValidity.Duration,
		MaxDelegationDays:        c.MaxDelegationDays,
		PasswordWorkers:          c.PasswordWorkers,
		MaxLiveDeviceCodes:       c.MaxLiveDeviceCodes,
		SignInFailuresPerRequest: c.SignInFailuresPerRequest,
		Upstreams:                upstreamRules(c),
		NoPasswordTenants:        noPasswordTenants(c),
	}
}

// upstreamRules are the sign-in rules of the [[oauth.upstream]] providers.
func upstreamRules(c config.OAuth) []tms.UpstreamRule {
	var out []tms.UpstreamRule
	for _, u := range c.Upstream {
		out = append(out, tms.UpstreamRule{ID: u.ID, Tenant: u.Tenant, CreateUsers: u.CreateUsers, LocalTOTP: tms.LocalTOTP(u.LocalTOTP),
			MFAAMR: u.MFAAMR, MFAACR: u.MFAACR})
	}
	return out
}

// noPasswordTenants lists the tenants with password_sign_in = false.
func noPasswordTenants(c config.OAuth) []string {
	var out []string
	for name := range c.Tenants {
		if !c.PasswordSignIn(name) {
			out = append(out, name)
		}
	}
	return out
}

// startUpstreams returns the [[oauth.upstream]] providers, whose redirect
// URIs are under baseURL, each discovering its provider in the background
// until it succeeds or ctx ends: the server starts while a provider is
// down, and its button says so.
func startUpstreams(ctx context.Context, c config.OAuth, baseURL string, logger *slog.Logger) []oauth.Upstream {
	var out []oauth.Upstream
	for _, u := range c.Upstream {
		p := upstream.New(upstream.Config{Issuer: u.Issuer, ClientID: u.ClientID, ClientSecret: u.Secret(),
			RedirectURL: baseURL + config.UpstreamCallbackPath(u.ID), Scopes: u.Scopes, ACRValues: u.MFAACR,
			UsernameClaim: u.UsernameClaim, Logger: logger.With("upstream", u.ID)})
		go p.Run(ctx)
		out = append(out, oauth.Upstream{ID: u.ID, Tenant: u.Tenant, Name: u.Name, Provider: p})
	}
	return out
}

// newOAuthHandler returns the device flow endpoints and pages, which name
// the server by baseURL in the verification URI.
func newOAuthHandler(cfg config.Config, svc *tms.Service, logger *slog.Logger, baseURL string, m *metrics.Metrics,
	upstreams []oauth.Upstream) *oauth.Handler {
	m.CounterFunc("tms_password_checks_total", "Passwords checked by browser sign-ins (argon2id).", nil,
		func() float64 { return float64(svc.PasswordChecks()) })
	return oauth.New(oauth.Options{
		Upstreams:              upstreams,
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

// directories opens the directories of the [[oauth.ldap]] tables, with
// the search accounts' passwords from their files or from env (as
// os.Environ). It does not connect: a directory that is down makes its
// tenant's sign-in page say so, and the server starts anyway.
func directories(sections []config.LDAP, env []string, logger *slog.Logger) ([]tms.TenantDirectory, error) {
	var out []tms.TenantDirectory
	for i, l := range sections {
		key := fmt.Sprintf("oauth.ldap[%d]", i)
		cfg := directory.Config{URL: l.URL, InsecureNoTLS: l.InsecureNoTLS, BindDN: l.BindDN, UserBase: l.UserBase,
			UserFilter: l.UserFilter, UsernameAttribute: l.UsernameAttribute, DialTimeout: l.DialTimeout.Duration,
			Timeout: l.Timeout.Duration, MaxConnections: l.MaxConnections}
		if l.CAFile != "" {
			pem, err := os.ReadFile(l.CAFile)
			if err != nil {
				return nil, fmt.Errorf("%s.ca_file: %w", key, err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s.ca_file: %s holds no PEM certificate", key, l.CAFile)
			}
		}
		switch {
		case l.BindDN == "":
		case l.BindPasswordFile != "":
			b, err := os.ReadFile(l.BindPasswordFile)
			if err != nil {
				return nil, fmt.Errorf("%s.bind_password_file: %w", key, err)
			}
			cfg.BindPassword = strings.TrimRight(string(b), "\r\n")
			if cfg.BindPassword == "" {
				return nil, fmt.Errorf("%s.bind_password_file: %s is empty", key, l.BindPasswordFile)
			}
		default:
			if cfg.BindPassword = lookupEnv(env, l.PasswordEnv()); cfg.BindPassword == "" {
				return nil, fmt.Errorf("%s.bind_dn: the search account needs its password in bind_password_file or in the environment variable %s",
					key, l.PasswordEnv())
			}
		}
		d, err := directory.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("%s.%w", key, err)
		}
		logger.Info("directory sign-in", "tenant", l.Tenant, "directory", l.ID, "url", l.URL, "tls", !l.InsecureNoTLS)
		out = append(out, tms.TenantDirectory{ID: l.ID, Tenant: l.Tenant, Directory: d})
	}
	return out, nil
}
