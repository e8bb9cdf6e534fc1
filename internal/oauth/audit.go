package oauth

import (
	"errors"
	"net/http"

	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/tms"
)

// noteClient records the public client of an OAuth request, and its tenant
// when known, in the request's audit event.
func noteClient(r *http.Request, clientID, tenant string) {
	audit.Note(r.Context(), func(f *audit.Facts) {
		f.ClientID = clientID
		if tenant != "" {
			f.Tenant = tenant
		}
	})
}

// noteTokenRequest records a token request. A poll that is told to keep
// waiting (authorization_pending, slow_down) makes no event: every login
// polls every few seconds until the user decides.
func noteTokenRequest(r *http.Request, grantType string, err error) {
	audit.Note(r.Context(), func(f *audit.Facts) {
		var oe *tms.OAuthError
		if errors.As(err, &oe) && (oe.Code == tms.OAuthAuthorizationPending || oe.Code == tms.OAuthSlowDown) {
			f.Skip = true
			return
		}
		if grantType != "" {
			f.AddDetail("grant_type=%s", grantType)
		}
		if oe != nil {
			f.AddDetail("error=%s", oe.Code)
		}
	})
}

// noteUser records who a browser step of the device flow concerns. The
// user code, password and one-time codes are never recorded.
func noteUser(r *http.Request, username string, view tms.DeviceView) {
	audit.Note(r.Context(), func(f *audit.Facts) {
		f.User = username
		if f.User == "" {
			f.User = view.Username
		}
		f.Tenant, f.ClientID = view.Tenant, view.ClientID
		if f.User != "" {
			f.Actor = "user:" + f.User
		}
	})
}

// noteOwner records whose login a token request concerned, when known.
// Tokens and device codes are never recorded.
func noteOwner(r *http.Request, owner tms.TokenOwner) {
	audit.Note(r.Context(), func(f *audit.Facts) {
		if owner.Tenant != "" {
			f.Tenant = owner.Tenant
		}
		if owner.Username != "" {
			f.User, f.Actor = owner.Username, "user:"+owner.Username
		}
	})
}

// noteDecision records a user's approval or denial of a device.
func noteDecision(r *http.Request, approve bool, view tms.DeviceView) {
	noteUser(r, "", view)
	audit.Note(r.Context(), func(f *audit.Facts) {
		f.Type = audit.TypeDeviceDeny
		if approve {
			f.Type = audit.TypeDeviceApprove
			if view.Days > 0 {
				f.AddDetail("days=%d", view.Days)
			}
		}
	})
}

// noteDirectorySignIn records that a tenant's directory checked the
// password of a sign-in, under the name the directory gave, and whether
// the sign-in created the user.
func noteDirectorySignIn(r *http.Request, res tms.SignInResult) {
	audit.Note(r.Context(), func(f *audit.Facts) {
		if res.View.Username != "" {
			f.User, f.Actor = res.View.Username, "user:"+res.View.Username
		}
		f.AddDetail("via=%s", res.Origin)
		if res.Created {
			f.AddDetail("user created")
		}
	})
}

// directoryResult is the metrics label of a directory sign-in's result.
func directoryResult(res tms.SignInResult, err error) string {
	var fe *tms.FlowError
	switch {
	case err == nil && res.Enroll != nil:
		return "enroll"
	case err == nil:
		return "success"
	case !errors.As(err, &fe):
		return "error"
	}
	switch fe.Reason {
	case tms.FlowBadCredentials:
		return "refused"
	case tms.FlowBadInput:
		return "bad_input"
	case tms.FlowDirectoryUnavailable:
		return "unavailable"
	case tms.FlowUnavailable:
		return "busy"
	case tms.FlowBadCode, tms.FlowExpired, tms.FlowDecided, tms.FlowSignInNeeded:
		return "stale_request"
	}
	return "error"
}

// noteRefusal records a request refused by a limit as denied, so that the
// audit log folds such refusals per source address like other
// authentication failures.
func noteRefusal(r *http.Request, reason string) {
	audit.Note(r.Context(), func(f *audit.Facts) {
		f.Outcome = audit.OutcomeDenied
		f.AddDetail("refused=%s", reason)
	})
}
