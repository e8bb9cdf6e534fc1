package tms

import (
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tmsproject/tms/internal/store"
)

// maxFieldLen bounds every text field.
const maxFieldLen = 256

// checkText returns a 400 error naming field when value is empty, too
// long, not UTF-8 or contains control characters.
func checkText(field, value string) error {
	switch {
	case value == "":
		return newError(KindInvalid, "%s: must not be empty", field)
	case len(value) > maxFieldLen:
		return newError(KindInvalid, "%s: longer than %d bytes", field, maxFieldLen)
	case !utf8.ValidString(value):
		return newError(KindInvalid, "%s: not valid UTF-8", field)
	case strings.IndexFunc(value, unicode.IsControl) >= 0:
		return newError(KindInvalid, "%s: contains control characters", field)
	}
	return nil
}

// checkTexts checks name/value pairs in order and returns the first error.
func checkTexts(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := checkText(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

var tenantName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// checkTenantName validates the name of a new tenant.
func checkTenantName(name string) error {
	if !tenantName.MatchString(name) {
		return newError(KindInvalid, "tenant: %q is not a valid tenant name (1-64 letters, digits, '.', '_' or '-', starting with a letter or digit)", name)
	}
	return nil
}

// expiryAfter returns now plus minutes, or store.Never for a negative
// count. Zero expires now.
func expiryAfter(now time.Time, minutes int64) time.Time {
	if minutes < 0 {
		return store.Never
	}
	return addMinutes(now, minutes)
}

// addMinutes adds minutes to t without overflowing time.Duration, capped at
// store.Never.
func addMinutes(t time.Time, minutes int64) time.Time {
	const perDay = 24 * 60
	days, rest := minutes/perDay, minutes%perDay
	if days > 3_000_000 { // far beyond year 9999
		return store.Never
	}
	out := t.AddDate(0, 0, int(days)).Add(time.Duration(rest) * time.Minute)
	if out.After(store.Never) {
		return store.Never
	}
	return out
}

// versionReq matches one comparator of a Cargo-style version requirement.
var versionReq = regexp.MustCompile(`^(=|>=|<=|>|<|~|\^)?\s*(\*|[xX]|\d+(\.(\*|[xX]|\d+)(\.(\*|[xX]|\d+))?)?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?)$`)

// checkVersionReq validates app_version as a version requirement such as
// "1.0", "1.2.3", "*", ">=1.0" or ">=1.0, <2".
func checkVersionReq(field, v string) error {
	if err := checkText(field, v); err != nil {
		return err
	}
	for part := range strings.SplitSeq(v, ",") {
		p := strings.TrimSpace(part)
		if !versionReq.MatchString(p) {
			return newError(KindInvalid, "%s: %q is not a version requirement (examples: \"1.0\", \"1.2.3\", \"*\", \">=1.0\", \">=1.0, <2\")", field, v)
		}
	}
	return nil
}

// fmtTime formats a time for messages.
func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
