package loadtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// preflightTimeout bounds each preflight and preparation request.
const preflightTimeout = 10 * time.Second

// PreflightError says why a scenario cannot succeed against the server, and
// what to do about it.
type PreflightError struct {
	Scenario string
	Message  string
}

func (e *PreflightError) Error() string {
	return fmt.Sprintf("preflight %s: %s", e.Scenario, e.Message)
}

// preflight sends each action once and stops at the first that fails.
func preflight(ctx context.Context, in Inputs, timeout time.Duration, actions []namedAction, con *console, red *redactor) error {
	timeout = min(timeout, preflightTimeout)
	var passed []string
	for _, a := range actions {
		reqCtx, cancel := context.WithTimeout(ctx, timeout)
		start := time.Now()
		o := a.action.Do(reqCtx, true)
		elapsed := time.Since(start)
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("preflight %s: %w", a.name, ctx.Err())
		}
		if o.Class != ClassNone {
			return &PreflightError{Scenario: a.name, Message: red.redact(explain(in, a.name, o, a.action.Explain(o)))}
		}
		passed = append(passed, fmt.Sprintf("%s %d in %s", a.name, o.Status, elapsed.Round(10*time.Microsecond)))
	}
	con.add("preflight passed: " + strings.Join(passed, ", "))
	return nil
}

// explain turns a failed outcome into an actionable message. specific is
// the scenario's own explanation, which wins when it is not empty.
func explain(in Inputs, scenario string, o Outcome, specific string) string {
	if specific != "" {
		return specific
	}
	if o.Status == 0 {
		return explainTransport(in, o)
	}
	env := decodeEnvelope(o.Body)
	detail := fmt.Sprintf("%d", o.Status)
	if env.ResultMsg != "" {
		detail += ": " + env.ResultMsg
	}
	switch {
	case o.Class == ClassBadResponse:
		return fmt.Sprintf("%s answered %d, but the body is not what a TMS server sends (%v): check that TMS_URL points at a TMS server",
			in.URL, o.Status, o.Err)
	case o.Status == http.StatusUnauthorized:
		return fmt.Sprintf("the server refused the credentials of client %q in tenant %q (%s): check X_TMS_CLIENT_ID and X_TMS_CLIENT_SECRET "+
			"(a dev server writes them to <root>/dev.env)", in.ClientID, in.Tenant, detail)
	case o.Status == http.StatusBadRequest && strings.Contains(env.ResultMsg, "Tenant not enabled"):
		return fmt.Sprintf("tenant %q is disabled or does not exist on this server (%s): set X_TMS_TENANT to an enabled tenant "+
			"(tms server --dev enables \"test\")", in.Tenant, detail)
	case o.Status == http.StatusBadRequest && strings.Contains(string(o.Body), "HTTP request to an HTTPS server"):
		return fmt.Sprintf("%s is an HTTPS server: change TMS_URL to https://", in.URL)
	case o.Status == http.StatusBadRequest:
		return fmt.Sprintf("the server rejected the %s request as malformed (%s)", scenario, detail)
	case o.Status == http.StatusForbidden:
		return fmt.Sprintf("the server forbids this for client %q in tenant %q (%s)", in.ClientID, in.Tenant, detail)
	case o.Status == http.StatusNotFound, o.Status == http.StatusMethodNotAllowed, o.Status == http.StatusUnsupportedMediaType:
		return fmt.Sprintf("%s answered %s to the %s request: check that TMS_URL is the base address of a TMS server", in.URL, detail, scenario)
	case o.Status == http.StatusServiceUnavailable || o.Status == http.StatusTooManyRequests:
		retry := ""
		if o.RetryAfter != "" {
			retry = ", Retry-After " + o.RetryAfter + "s"
		}
		return fmt.Sprintf("the server is overloaded or its database is unavailable (%s%s): wait until it recovers, then retry", detail, retry)
	case o.Status >= 500:
		return fmt.Sprintf("the server failed (%s): see the server's log", detail)
	case o.Status >= 300 && o.Status < 400:
		return fmt.Sprintf("%s redirects (%d): set TMS_URL to the address it redirects to", in.URL, o.Status)
	}
	return fmt.Sprintf("unexpected status %s for the %s request", detail, scenario)
}

// explainTransport explains a request that got no response.
func explainTransport(in Inputs, o Outcome) string {
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		recordErr tls.RecordHeaderError
	)
	switch {
	case o.Class == ClassConnRefused:
		return fmt.Sprintf("cannot reach the TMS server at %s: connection refused. Is it running? Start one with \"tms server --dev\" "+
			"and \"source <root>/dev.env\", or set TMS_URL", in.URL)
	case o.Class == ClassDNS:
		return fmt.Sprintf("cannot resolve the host of %s (%v): check TMS_URL", in.URL, o.Err)
	case o.Class == ClassTimeout:
		return fmt.Sprintf("no answer from %s before the timeout: the server is not responding, or something drops the traffic", in.URL)
	case errors.As(o.Err, &recordErr):
		return fmt.Sprintf("%s speaks plain HTTP, not TLS: change TMS_URL to http://", in.URL)
	case errors.As(o.Err, &hostErr):
		return fmt.Sprintf("the server's TLS certificate is not valid for this host (%v): use a TMS_URL host the certificate names", o.Err)
	case errors.As(o.Err, &unknownCA) || o.Class == ClassTLS:
		return fmt.Sprintf("the server's TLS certificate is not trusted (%v): pass --cacert FILE with the certificate of the CA that "+
			"signed it, or --insecure to skip verification (for testing only)", o.Err)
	case o.Class == ClassConnReset:
		return fmt.Sprintf("%s closed the connection without answering (%v): check that TMS_URL points at a TMS server and uses the right scheme",
			in.URL, o.Err)
	}
	return fmt.Sprintf("request to %s failed: %v", in.URL, o.Err)
}
