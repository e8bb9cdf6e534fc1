// Package audit records the security events of a TMS server in the audit
// log. A Recorder takes events without blocking a request for long, buffers
// them in a bounded queue and appends them to the store in batches; when the
// queue stays full it drops events and counts them. Request handlers
// describe the event their request makes through the Facts in the request
// context. A nil *Recorder records nothing, so packages work without one.
package audit

import (
	"context"
	"fmt"
	"strings"
)

// Event types. The API records the type of a request from its route; the
// others are recorded by the code that sees the event.
const (
	TypeAuthFailure = "auth.failure" // a request with missing or wrong credentials (401)
	// TypeRequest is a change made through a route that has no type of its
	// own; the detail names the route.
	TypeRequest = "request"

	TypeKeyCreate   = "key.create"   // key pair issued to a client or a user
	TypeKeyRetrieve = "key.retrieve" // key looked up for sshd: accepted or refused
	TypeKeyUpdate   = "key.update"
	TypeKeyDelete   = "key.delete"

	TypeClientCreate       = "client.create"
	TypeClientUpdate       = "client.update"
	TypeClientSecretRotate = "client.secret_rotate"
	TypeClientDelete       = "client.delete"

	TypeTenantCreate = "tenant.create"
	TypeTenantUpdate = "tenant.update"
	TypeTenantDelete = "tenant.delete"
	TypeTenantWipe   = "tenant.wipe"
	// TypeAdminSecretRotate is a tenant administrator's secret replaced
	// with "tms admin rotate-secret".
	TypeAdminSecretRotate = "admin.secret_rotate"

	TypeUserMFACreate = "usermfa.create"
	TypeUserMFAUpdate = "usermfa.update"
	TypeUserMFADelete = "usermfa.delete"

	TypeUserHostCreate = "userhost.create"
	TypeUserHostUpdate = "userhost.update"
	TypeUserHostDelete = "userhost.delete"

	TypeDelegationCreate = "delegation.create"
	TypeDelegationUpdate = "delegation.update"
	TypeDelegationDelete = "delegation.delete"

	TypeHostCreate = "host.create"
	TypeHostDelete = "host.delete"

	TypeHostCredentialCreate = "host_credential.create"
	TypeHostCredentialDelete = "host_credential.delete"

	TypeReservationCreate        = "reservation.create"
	TypeReservationExtend        = "reservation.extend"
	TypeReservationDelete        = "reservation.delete"
	TypeReservationDeleteRelated = "reservation.delete_related"

	TypeUserCreate        = "user.create"
	TypeUserUpdate        = "user.update"
	TypeUserDelete        = "user.delete"
	TypeUserTOTPProvision = "user.totp_provision"
	TypeOAuthClientCreate = "oauth_client.create"

	// TypeDeviceStart is a device authorization started by "tms login".
	TypeDeviceStart = "device.start"
	// TypeDeviceCodeEntry is a user code typed on the verification page.
	TypeDeviceCodeEntry = "device.code_entry"
	// TypeLogin is a user's browser sign-in with password and TOTP code.
	TypeLogin = "user.login"
	// TypeUpstreamLogin is a user coming back from signing in at an
	// upstream OpenID Connect provider; the detail names the provider and
	// the result.
	TypeUpstreamLogin = "user.login_upstream"
	// TypeTOTPEnroll is a user confirming a new TOTP secret.
	TypeTOTPEnroll = "user.totp_enroll"
	// TypeDeviceApprove and TypeDeviceDeny are a user's decision on a
	// device authorization.
	TypeDeviceApprove = "device.approve"
	TypeDeviceDeny    = "device.deny"
	// TypeDeviceDecide is a decision whose direction the handler did not
	// report.
	TypeDeviceDecide = "device.decide"
	TypeTokenIssue   = "token.issue"
	TypeTokenRevoke  = "token.revoke"

	TypeUserDelegationRevoke = "user.delegation_revoke"
)

// Outcomes.
const (
	OutcomeSuccess = "success" // the request did what it asked
	OutcomeDenied  = "denied"  // credentials or permissions were missing (401, 403)
	OutcomeRefused = "refused" // a rule refused it or what it named does not exist (404)
	OutcomeInvalid = "invalid" // the request was malformed or conflicted with a record (other 4xx)
	OutcomeError   = "error"   // the server failed or was unavailable (5xx)
)

// OutcomeOf returns the outcome an HTTP status stands for.
func OutcomeOf(status int) string {
	switch {
	case status < 400:
		return OutcomeSuccess
	case status == 401 || status == 403:
		return OutcomeDenied
	case status == 404:
		return OutcomeRefused
	case status < 500:
		return OutcomeInvalid
	}
	return OutcomeError
}

// Facts are what the code serving a request knows about the event the
// request makes; the API's middleware puts them in the request context and
// turns them into the event when the request ends. Empty fields leave what
// the middleware derives from the route and headers.
type Facts struct {
	// Type overrides the type the route stands for.
	Type string
	// Outcome overrides the outcome the status stands for.
	Outcome string
	// Skip drops the event of this request.
	Skip bool

	Tenant      string
	Actor       string
	User        string
	Host        string
	HostAccount string
	ClientID    string
	Fingerprint string

	details []string
}

// AddDetail adds a short remark, such as "num_uses=1" or the reason for a
// refusal, to the event's detail. It must never be given a secret.
func (f *Facts) AddDetail(format string, args ...any) {
	f.details = append(f.details, fmt.Sprintf(format, args...))
}

// Detail returns the remarks joined.
func (f *Facts) Detail() string { return strings.Join(f.details, "; ") }

type factsKey struct{}

// NewContext returns ctx carrying f.
func NewContext(ctx context.Context, f *Facts) context.Context {
	return context.WithValue(ctx, factsKey{}, f)
}

// Note lets set describe the event of the request ctx belongs to. Outside
// a request that records events it does nothing.
func Note(ctx context.Context, set func(*Facts)) {
	if f, ok := ctx.Value(factsKey{}).(*Facts); ok && f != nil {
		set(f)
	}
}
