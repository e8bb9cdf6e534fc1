package tms

import (
	"regexp"
	"strconv"
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
// store.Never. A minute is 60 seconds and a day 24 hours, in any time zone.
func addMinutes(t time.Time, minutes int64) time.Time {
	const perDay = 24 * 60
	days, rest := minutes/perDay, minutes%perDay
	if days > 3_000_000 { // far beyond year 9999
		return store.Never
	}
	out := t.UTC().AddDate(0, 0, int(days)).Add(time.Duration(rest) * time.Minute)
	if out.After(store.Never) {
		return store.Never
	}
	return out
}

// checkVersionReq validates app_version as a version requirement the way
// Cargo reads one, such as "1.0", "1.2.3", "*", ">=1.0", "~1.2", "1.*" or
// ">=1.0, <2".
func checkVersionReq(field, v string) error {
	if err := checkText(field, v); err != nil {
		return err
	}
	if !validVersionReq(v) {
		return newError(KindInvalid, "%s: %q is not a version requirement (examples: \"1.0\", \"1.2.3\", \"*\", \">=1.0\", \">=1.0, <2\")", field, v)
	}
	return nil
}

// maxComparators is the most comparators Cargo accepts in one requirement.
const maxComparators = 32

// validVersionReq reports whether s is a lone wildcard ("*", "x" or "X")
// or up to maxComparators comparators separated by commas. Spaces may
// surround the comparators and follow an operator.
func validVersionReq(s string) bool {
	s = strings.Trim(s, " ")
	if s == "*" || s == "x" || s == "X" {
		return true
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxComparators {
		return false
	}
	for _, p := range parts {
		if !validComparator(strings.Trim(p, " ")) {
			return false
		}
	}
	return true
}

// validComparator reports whether c is an optional operator (=, >, >=, <,
// <=, ~ or ^) and a version: a major number, then optionally a minor and a
// patch that may be wildcards (a wildcard minor needs a wildcard or no
// patch), and with a numeric patch an optional pre-release and build.
// Numbers have no leading zeros and fit in 64 bits.
func validComparator(c string) bool {
	for _, op := range []string{">=", "<=", "=", ">", "<", "~", "^"} {
		if rest, ok := strings.CutPrefix(c, op); ok {
			c = strings.TrimLeft(rest, " ")
			break
		}
	}
	c, ok := cutNumber(c)
	if !ok {
		return false
	}
	wildMinor := false
	if rest, found := strings.CutPrefix(c, "."); found {
		if c, wildMinor = cutWildcard(rest); !wildMinor {
			if c, ok = cutNumber(rest); !ok {
				return false
			}
		}
	}
	numericPatch := false
	if rest, found := strings.CutPrefix(c, "."); found {
		wildPatch := false
		if c, wildPatch = cutWildcard(rest); !wildPatch {
			if wildMinor {
				return false
			}
			if c, ok = cutNumber(rest); !ok {
				return false
			}
			numericPatch = true
		}
	}
	if !numericPatch {
		return c == ""
	}
	if rest, found := strings.CutPrefix(c, "-"); found {
		if c, ok = cutIdentifier(rest, true); !ok {
			return false
		}
	}
	if rest, found := strings.CutPrefix(c, "+"); found {
		if c, ok = cutIdentifier(rest, false); !ok {
			return false
		}
	}
	return c == ""
}

// cutNumber removes a version number (digits without a leading zero that
// fit in 64 bits) from the start of s.
func cutNumber(s string) (rest string, ok bool) {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 || (n > 1 && s[0] == '0') {
		return s, false
	}
	if _, err := strconv.ParseUint(s[:n], 10, 64); err != nil {
		return s, false
	}
	return s[n:], true
}

// cutWildcard removes a wildcard ("*", "x" or "X") from the start of s.
func cutWildcard(s string) (rest string, ok bool) {
	if s != "" && (s[0] == '*' || s[0] == 'x' || s[0] == 'X') {
		return s[1:], true
	}
	return s, false
}

// cutIdentifier removes a pre-release or build identifier from the start of
// s: dot-separated, non-empty segments of ASCII letters, digits and
// hyphens. In a pre-release, numeric segments have no leading zeros.
func cutIdentifier(s string, preRelease bool) (rest string, ok bool) {
	n := 0
	for n < len(s) && (s[n] == '.' || s[n] == '-' || s[n] >= '0' && s[n] <= '9' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z') {
		n++
	}
	if n == 0 {
		return s, false
	}
	for seg := range strings.SplitSeq(s[:n], ".") {
		if seg == "" {
			return s, false
		}
		numeric := strings.Trim(seg, "0123456789") == ""
		if preRelease && numeric && len(seg) > 1 && seg[0] == '0' {
			return s, false
		}
	}
	return s[n:], true
}

// fmtTime formats a time for messages.
func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
