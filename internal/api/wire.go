package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/tmsproject/tms/internal/tms"
)

// Time is a timestamp in the wire format of tms_server 0.3.0: RFC 3339 in
// UTC with the offset written "+00:00", and fractional seconds left out when
// zero or written with 3, 6 or 9 digits, whichever is the shortest exact form.
type Time time.Time

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + FormatTime(time.Time(t)) + `"`), nil
}

// FormatTime formats t as Time does.
func FormatTime(t time.Time) string {
	t = t.UTC()
	b := make([]byte, 0, 40)
	b = t.AppendFormat(b, "2006-01-02T15:04:05")
	switch ns := t.Nanosecond(); {
	case ns == 0:
	case ns%1_000_000 == 0:
		b = fmt.Appendf(b, ".%03d", ns/1_000_000)
	case ns%1_000 == 0:
		b = fmt.Appendf(b, ".%06d", ns/1_000)
	default:
		b = fmt.Appendf(b, ".%09d", ns)
	}
	return string(append(b, "+00:00"...))
}

// envelope is the part every JSON answer has.
type envelope struct {
	ResultCode string `json:"result_code"`
	ResultMsg  string `json:"result_msg"`
}

// succeeded is the envelope of a plain success.
func succeeded() envelope { return envelope{ResultCode: "0", ResultMsg: success} }

const success = "success"

// elements converts the records of a list into the elements of its answer.
func elements[R, E any](records []R, element func(R) E) []E {
	out := make([]E, len(records))
	for i, r := range records {
		out[i] = element(r)
	}
	return out
}

// userList answers the list routes whose elements the wire calls users:
// user MFA records, user host mappings, delegations and users.
type userList[E any] struct {
	NumUsers   int    `json:"num_users"`
	ResultCode string `json:"result_code"`
	ResultMsg  string `json:"result_msg"`
	Users      []E    `json:"users"`
}

// listedUsers is the successful answer listing users.
func listedUsers[E any](users []E) userList[E] {
	return userList[E]{len(users), "0", success, users}
}

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"result_code":"500","result_msg":"Internal error: cannot encode the response."}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// writeError writes the error envelope.
func writeError(w http.ResponseWriter, status int, msg string) {
	if sw, ok := w.(*statusWriter); ok {
		sw.errMsg = msg
	}
	writeJSON(w, status, envelope{ResultCode: strconv.Itoa(status), ResultMsg: msg})
}

var kindStatus = map[tms.Kind]int{
	tms.KindInvalid:      http.StatusBadRequest,
	tms.KindUnauthorized: http.StatusUnauthorized,
	tms.KindForbidden:    http.StatusForbidden,
	tms.KindNotFound:     http.StatusNotFound,
	tms.KindConflict:     http.StatusConflict,
	tms.KindUnavailable:  http.StatusServiceUnavailable,
	tms.KindInternal:     http.StatusInternalServerError,
}

// fail answers with the error err describes. Internal and unavailable
// errors are logged with their cause; the caller sees only the safe message.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *tms.Error
	if !errors.As(err, &e) {
		e = &tms.Error{Kind: tms.KindInternal, Message: "Internal error.", Err: err}
	}
	status := kindStatus[e.Kind]
	msg := e.Message
	info := requestInfoFrom(r.Context())
	if info != nil {
		info.err = err
	}
	switch e.Kind {
	case tms.KindInternal:
		msg = fmt.Sprintf("%s (request id %s)", msg, requestID(r.Context()))
	case tms.KindUnavailable:
		w.Header().Set("Retry-After", a.retryAfter())
	}
	writeError(w, status, msg)
}

func (a *API) retryAfter() string {
	return strconv.Itoa(max(1, int(a.opts.RetryAfter.Round(time.Second)/time.Second)))
}

// badRequest answers 400 with msg.
func badRequest(w http.ResponseWriter, msg string) { writeError(w, http.StatusBadRequest, msg) }

// decodeError is a request body problem with its status.
type decodeError struct {
	status int
	msg    string
}

func (e *decodeError) Error() string { return e.msg }

// decode reads a JSON body into dst (a pointer to a struct of pointer
// fields) and checks it: the content type, the syntax, the JSON type of
// every field, the range of integer fields (tag `int:"i32"` or `int:"u32"`)
// and the presence of every field not tagged `opt:"true"`. Unknown fields
// are ignored. It writes the error answer itself and reports success.
func decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	if err := decodeBody(r, dst); err != nil {
		var de *decodeError
		if errors.As(err, &de) {
			writeError(w, de.status, de.msg)
		} else {
			badRequest(w, err.Error())
		}
		return false
	}
	noteBody(r, dst)
	return true
}

func decodeBody(r *http.Request, dst any) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return &decodeError{http.StatusUnsupportedMediaType, "Content-Type: missing; send the body as application/json"}
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !(mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))) {
		return &decodeError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type: %q is not supported; send the body as application/json", ct)}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &decodeError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body: larger than %d bytes", tooBig.Limit)}
		}
		return &decodeError{http.StatusBadRequest, "request body: " + err.Error()}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return &decodeError{http.StatusBadRequest, "request body: empty; expected a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		return &decodeError{http.StatusBadRequest, describeJSONError(err)}
	}
	if dec.More() {
		return &decodeError{http.StatusBadRequest, "request body: unexpected data after the JSON object"}
	}
	return checkFields(dst)
}

func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("request body: invalid JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("request body: expected a JSON object, got %s", typ.Value)
		}
		return fmt.Sprintf("%s: expected %s, got %s", typ.Field, jsonKind(typ.Type), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "request body: truncated JSON"
	}
	return "request body: " + err.Error()
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "an integer"
	}
	return t.String()
}

// checkFields enforces presence and integer ranges on a decoded struct.
func checkFields(dst any) error {
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		fv := v.Field(i)
		if fv.IsNil() {
			if sf.Tag.Get("opt") != "true" {
				return fmt.Errorf("%s: required field is missing or null", name)
			}
			continue
		}
		num, isNum := fv.Interface().(*int64)
		if !isNum {
			continue
		}
		n := *num
		switch sf.Tag.Get("int") {
		case "u32":
			if n < 0 || n > 4294967295 {
				return fmt.Errorf("%s: %d is out of range (0 to 4294967295)", name, n)
			}
		default:
			if n < -2147483648 || n > 2147483647 {
				return fmt.Errorf("%s: %d is out of range (-2147483648 to 2147483647)", name, n)
			}
		}
	}
	return nil
}

// credentialHeaders are the identity headers, checked for visible ASCII.
var credentialHeaders = []string{"X-TMS-TENANT", "X-TMS-CLIENT-ID", "X-TMS-CLIENT-SECRET", "X-TMS-ADMIN-ID", "X-TMS-ADMIN-SECRET"}

// credentials reads the identity headers. Header values that are not
// visible ASCII are rejected.
func credentials(r *http.Request) (tms.Credentials, error) {
	for _, name := range credentialHeaders {
		v := r.Header.Get(name)
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] > 0x7e {
				//lint:ignore ST1005 the message of tms_server 0.3.0, which clients may match
				return tms.Credentials{}, fmt.Errorf("Invalid string assigned to header %s: only visible ASCII characters are allowed", name)
			}
		}
	}
	_, tenantSet := r.Header[textproto.CanonicalMIMEHeaderKey("X-TMS-TENANT")]
	_, clientSet := r.Header[textproto.CanonicalMIMEHeaderKey("X-TMS-CLIENT-ID")]
	c := tms.Credentials{
		Tenant:       strings.TrimSpace(r.Header.Get("X-TMS-TENANT")),
		TenantSet:    tenantSet,
		ClientSet:    clientSet,
		ClientID:     strings.TrimSpace(r.Header.Get("X-TMS-CLIENT-ID")),
		ClientSecret: strings.TrimSpace(r.Header.Get("X-TMS-CLIENT-SECRET")),
		AdminID:      strings.TrimSpace(r.Header.Get("X-TMS-ADMIN-ID")),
		AdminSecret:  strings.TrimSpace(r.Header.Get("X-TMS-ADMIN-SECRET")),
	}
	if info := requestInfoFrom(r.Context()); info != nil {
		info.tenant = c.Tenant
		switch {
		case c.ClientID != "":
			info.actor = "client:" + c.ClientID
		case c.AdminID != "":
			info.actor = "admin:" + c.AdminID
		}
	}
	return c, nil
}

// creds reads the identity headers or answers 400 and reports failure.
func creds(w http.ResponseWriter, r *http.Request) (tms.Credentials, bool) {
	c, err := credentials(r)
	if err != nil {
		badRequest(w, err.Error())
		return c, false
	}
	return c, true
}

// pathInt parses an integer path value or answers 400.
func pathInt(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	v := r.PathValue(name)
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		badRequest(w, fmt.Sprintf("failed to parse path `%s`: %q is not an integer", name, v))
		return 0, false
	}
	return n, true
}

// enabledInt is the 0/1 form of enabled used in list elements.
func enabledInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
