package api

import (
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/tmsproject/tms/internal/audit"
	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/tms"
)

// auditTypes maps the route patterns whose requests are recorded in the
// audit log to the event type they make. Every other request that changes
// something (any method but GET and HEAD) is recorded too, as
// audit.TypeRequest with its route in the detail, and every 401 is
// recorded as audit.TypeAuthFailure.
var auditTypes = map[string]string{
	"POST /v1/tms/pubkeys/creds":          audit.TypeKeyCreate,
	"POST /v1/tms/pubkeys/creds/retrieve": audit.TypeKeyRetrieve,
	"PATCH /v1/tms/pubkeys":               audit.TypeKeyUpdate,
	"DELETE /v1/tms/pubkeys/del":          audit.TypeKeyDelete,

	"POST /v1/tms/client":                      audit.TypeClientCreate,
	"PATCH /v1/tms/client/upd/{client_id}":     audit.TypeClientUpdate,
	"PATCH /v1/tms/client/secret/{client_id}":  audit.TypeClientSecretRotate,
	"DELETE /v1/tms/client/del/{client_id}":    audit.TypeClientDelete,
	"POST /v1/tms/tenants/{tenant}":            audit.TypeTenantCreate,
	"PATCH /v1/tms/tenants/upd":                audit.TypeTenantUpdate,
	"DELETE /v1/tms/tenants/del/{tenant}":      audit.TypeTenantDelete,
	"DELETE /v1/tms/tenants/wipe/{tenant}":     audit.TypeTenantWipe,
	"POST /v1/tms/usermfa":                     audit.TypeUserMFACreate,
	"PATCH /v1/tms/usermfa/upd":                audit.TypeUserMFAUpdate,
	"DELETE /v1/tms/usermfa/del/{tms_user_id}": audit.TypeUserMFADelete,
	"POST /v1/tms/userhosts":                   audit.TypeUserHostCreate,
	"PATCH /v1/tms/userhosts/upd":              audit.TypeUserHostUpdate,
	"DELETE /v1/tms/userhosts/del":             audit.TypeUserHostDelete,
	"POST /v1/tms/delegations":                 audit.TypeDelegationCreate,
	"PATCH /v1/tms/delegations/upd":            audit.TypeDelegationUpdate,
	"DELETE /v1/tms/delegations/del":           audit.TypeDelegationDelete,
	"POST /v1/tms/hosts":                       audit.TypeHostCreate,
	"DELETE /v1/tms/hosts/del":                 audit.TypeHostDelete,
	"POST /v1/tms/hosts/credentials":           audit.TypeHostCredentialCreate,
	"DELETE /v1/tms/hosts/credentials/del":     audit.TypeHostCredentialDelete,

	"POST /v1/tms/reservations":                                   audit.TypeReservationCreate,
	"POST /v1/tms/reservations/extend":                            audit.TypeReservationExtend,
	"DELETE /v1/tms/reservations/del/{client_id}/{resid}":         audit.TypeReservationDelete,
	"DELETE /v1/tms/reservations/del/related/{client_id}/{resid}": audit.TypeReservationDeleteRelated,

	"POST /v1/tms/users":                          audit.TypeUserCreate,
	"PATCH /v1/tms/users/upd":                     audit.TypeUserUpdate,
	"DELETE /v1/tms/users/del/{username}":         audit.TypeUserDelete,
	"POST /v1/tms/users/{username}/totp":          audit.TypeUserTOTPProvision,
	"POST /v1/tms/oauthclients":                   audit.TypeOAuthClientCreate,
	"POST /v1/tms/user/keys":                      audit.TypeKeyCreate,
	"DELETE /v1/tms/user/keys/{fingerprint}":      audit.TypeKeyDelete,
	"DELETE /v1/tms/user/delegations/{client_id}": audit.TypeUserDelegationRevoke,

	"POST /v1/oauth2/device/code":    audit.TypeDeviceStart,
	"POST /v1/oauth2/device":         audit.TypeDeviceCodeEntry,
	"POST /v1/oauth2/token":          audit.TypeTokenIssue,
	"POST /v1/oauth2/revoke":         audit.TypeTokenRevoke,
	"POST /v1/oauth2/device/signin":  audit.TypeLogin,
	"POST /v1/oauth2/device/enroll":  audit.TypeTOTPEnroll,
	"POST /v1/oauth2/device/otp":     audit.TypeLogin,
	"POST /v1/oauth2/device/consent": audit.TypeDeviceDecide,

	"POST /v1/oauth2/tenants/{tenant}/device/code": audit.TypeDeviceStart,
	"POST /v1/oauth2/tenants/{tenant}/token":       audit.TypeTokenIssue,
	"POST /v1/oauth2/tenants/{tenant}/revoke":      audit.TypeTokenRevoke,
}

// auditSubject says where a body field, path value or query parameter of
// a request goes in its audit event. Only the names listed here are read,
// so that no secret can reach the audit log.
var auditSubject = map[string]func(f *audit.Facts, v string){
	"tenant":                 func(f *audit.Facts, v string) { setIfEmpty(&f.Tenant, v) },
	"client_id":              func(f *audit.Facts, v string) { setIfEmpty(&f.ClientID, v) },
	"client_user_id":         func(f *audit.Facts, v string) { setIfEmpty(&f.User, v) },
	"tms_user_id":            func(f *audit.Facts, v string) { setIfEmpty(&f.User, v) },
	"username":               func(f *audit.Facts, v string) { setIfEmpty(&f.User, v) },
	"user":                   func(f *audit.Facts, v string) { setIfEmpty(&f.HostAccount, v) }, // the login account of a key lookup
	"host":                   func(f *audit.Facts, v string) { setIfEmpty(&f.Host, v) },
	"host_account":           func(f *audit.Facts, v string) { setIfEmpty(&f.HostAccount, v) },
	"public_key_fingerprint": func(f *audit.Facts, v string) { setIfEmpty(&f.Fingerprint, v) },
	"fingerprint":            func(f *audit.Facts, v string) { setIfEmpty(&f.Fingerprint, v) },
}

// auditDetail lists the other values worth recording, in this order.
var auditDetail = []string{"num_uses", "ttl_minutes", "max_uses", "key_type", "enabled", "app_name", "app_version",
	"addr", "id", "seqno", "resid", "parent_resid", "days"}

func setIfEmpty(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// noteBody records the audit subject of a decoded request body: dst is a
// pointer to a struct of pointer fields, as decode takes.
func noteBody(r *http.Request, dst any) {
	audit.Note(r.Context(), func(f *audit.Facts) {
		v := reflect.ValueOf(dst).Elem()
		t := v.Type()
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			fv := v.Field(i)
			if fv.Kind() != reflect.Pointer || fv.IsNil() {
				continue
			}
			switch e := fv.Elem(); e.Kind() {
			case reflect.String:
				noteValue(f, name, e.String())
			case reflect.Int64:
				noteValue(f, name, strconv.FormatInt(e.Int(), 10))
			case reflect.Bool:
				noteValue(f, name, strconv.FormatBool(e.Bool()))
			}
		}
	})
}

// noteValue records one named value if it is one the audit log keeps.
func noteValue(f *audit.Facts, name, value string) {
	if value == "" {
		return
	}
	if set, ok := auditSubject[name]; ok {
		set(f, value)
		return
	}
	for _, d := range auditDetail {
		if d == name {
			f.AddDetail("%s=%s", name, value)
			return
		}
	}
}

// auditPathValues are the path wildcards of the audited routes.
var auditPathValues = []string{"client_id", "tenant", "tms_user_id", "username", "fingerprint", "id", "seqno", "resid"}

// recordAudit turns a finished request into its audit event, if it makes
// one, and hands it to the recorder.
func (a *API) recordAudit(r *http.Request, info *requestInfo, w *statusWriter, status int) {
	if a.opts.Audit == nil || info.route == "" || info.audit.Skip {
		return
	}
	f := &info.audit
	typ, listed := auditTypes[info.route]
	switch {
	case status == http.StatusUnauthorized:
		typ = audit.TypeAuthFailure
		f.AddDetail("route=%s", info.route)
	case f.Type != "":
		typ = f.Type
	case listed:
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		typ = audit.TypeRequest
		f.AddDetail("route=%s", info.route)
	default:
		return
	}
	for _, name := range auditPathValues {
		if v := r.PathValue(name); v != "" {
			if name == "tenant" && info.tenant != "" && v != info.tenant {
				f.AddDetail("target_tenant=%s", v)
				continue
			}
			noteValue(f, name, v)
		}
	}
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		for _, name := range auditDetail {
			if q.Has(name) {
				noteValue(f, name, q.Get(name))
			}
		}
	}
	outcome := f.Outcome
	if outcome == "" {
		outcome = audit.OutcomeOf(status)
	}
	if status >= 400 && w.errMsg != "" {
		f.AddDetail("%d: %s", status, w.errMsg)
	}
	tenant := info.tenant
	if tenant == "" {
		tenant = f.Tenant
	}
	actor := f.Actor
	if actor == "" {
		actor = info.actor
	}
	a.opts.Audit.Record(store.AuditEvent{
		Time: time.Now(), Tenant: tenant, Type: typ, Outcome: outcome, Actor: actor,
		RequestID: info.id, RemoteAddr: r.RemoteAddr,
		User: f.User, Host: f.Host, HostAccount: f.HostAccount, ClientID: f.ClientID, Fingerprint: f.Fingerprint,
		Detail: f.Detail(),
	})
}

// auditListDefault and auditListMax are the default and the largest
// number of events one listing returns.
const (
	auditListDefault = 100
	auditListMax     = 1000
)

type auditElement struct {
	Actor       string `json:"actor"`
	ClientID    string `json:"client_id"`
	Detail      string `json:"detail"`
	Host        string `json:"host"`
	HostAccount string `json:"host_account"`
	ID          int64  `json:"id"`
	Outcome     string `json:"outcome"`
	Fingerprint string `json:"public_key_fingerprint"`
	RemoteAddr  string `json:"remote_addr"`
	Repeats     int    `json:"repeats"`
	RequestID   string `json:"request_id"`
	Tenant      string `json:"tenant"`
	Time        Time   `json:"time"`
	Type        string `json:"type"`
	User        string `json:"user"`
}

// listAudit answers GET /v1/tms/audit/list.
func (a *API) listAudit(w http.ResponseWriter, r *http.Request) {
	c, ok := creds(w, r)
	if !ok {
		return
	}
	q, noTenant, err := parseAuditQuery(r)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	events, err := a.svc.ListAudit(r.Context(), c, q, noTenant)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]auditElement, len(events))
	for i, e := range events {
		out[i] = auditElement{e.Actor, e.ClientID, e.Detail, e.Host, e.HostAccount, e.ID, e.Outcome, e.Fingerprint,
			e.RemoteAddr, max(e.Repeats, 1), e.RequestID, e.Tenant, Time(e.Time), e.Type, e.User}
	}
	var next int64
	if len(out) == q.Limit {
		next = out[len(out)-1].ID
	}
	writeJSON(w, http.StatusOK, struct {
		Events     []auditElement `json:"events"`
		NextAfter  int64          `json:"next_after"`
		NumEvents  int            `json:"num_events"`
		ResultCode string         `json:"result_code"`
		ResultMsg  string         `json:"result_msg"`
	}{out, next, len(out), "0", success})
}

// parseAuditQuery reads the filters of an audit listing.
func parseAuditQuery(r *http.Request) (store.AuditQuery, bool, error) {
	values := r.URL.Query()
	q := store.AuditQuery{Limit: auditListDefault, Actor: values.Get("actor"), Type: values.Get("type")}
	for _, bound := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if !values.Has(bound.name) {
			continue
		}
		v := values.Get(bound.name)
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return q, false, fmt.Errorf("%s: %q is not an RFC 3339 time (example: 2026-07-13T18:02:11Z)", bound.name, v)
		}
		*bound.dst = t
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return q, false, fmt.Errorf("to: %s is not after from (%s)", values.Get("to"), values.Get("from"))
	}
	if values.Has("limit") {
		n, err := strconv.Atoi(values.Get("limit"))
		if err != nil || n < 1 || n > auditListMax {
			return q, false, fmt.Errorf("limit: %q is not a whole number from 1 to %d", values.Get("limit"), auditListMax)
		}
		q.Limit = n
	}
	if values.Has("after") {
		n, err := strconv.ParseInt(values.Get("after"), 10, 64)
		if err != nil || n < 1 {
			return q, false, fmt.Errorf("after: %q is not a positive event id", values.Get("after"))
		}
		q.After = n
	}
	noTenant := false
	if values.Has("no_tenant") {
		switch v := values.Get("no_tenant"); v {
		case "true":
			noTenant = true
		case "false":
		default:
			return q, false, fmt.Errorf("no_tenant: %q is not true or false", v)
		}
	}
	return q, noTenant, nil
}

// noteIssuedKey records the key a request was issued in its audit event.
func noteIssuedKey(r *http.Request, k tms.IssuedKey) {
	audit.Note(r.Context(), func(f *audit.Facts) {
		f.Fingerprint, f.ClientID, f.User = k.Pair.Fingerprint, k.Key.ClientID, k.Key.ClientUserID
		f.Host, f.HostAccount = k.Key.Host, k.Key.HostAccount
		f.AddDetail("expires_at=%s", FormatTime(k.Key.ExpiresAt))
	})
}

// noteRetrieval records whose key a lookup found and why it was refused.
func noteRetrieval(r *http.Request, res tms.Retrieval) {
	audit.Note(r.Context(), func(f *audit.Facts) {
		if res.Key.ID != 0 {
			f.Tenant, f.ClientID, f.User = res.Key.Tenant, res.Key.ClientID, res.Key.ClientUserID
		}
		if res.Refusal != "" {
			f.Outcome = audit.OutcomeRefused
		}
	})
	noteKeyRefusal(r, res.Refusal)
}

// noteKeyRefusal names the key-validity clause that refused a key, if
// any, in the request's audit event and log line.
func noteKeyRefusal(r *http.Request, refusal tms.Refusal) {
	if refusal == "" {
		return
	}
	audit.Note(r.Context(), func(f *audit.Facts) { f.AddDetail("refused: %s", string(refusal)) })
	noteRequest(r.Context(), "key refused: "+string(refusal))
}
