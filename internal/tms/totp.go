package tms

import (
	"crypto/subtle"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tmsproject/tms/internal/totp"
)

// TOTPCode returns the current code of a base32 secret at t, as an
// authenticator app shows it.
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.Code(secret, t)
}

// normalizeOTP removes spaces and dashes from a typed code and checks that
// six digits remain.
func normalizeOTP(code string) (string, error) {
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, code)
	if len(code) != totp.Digits {
		return "", fmt.Errorf("otp: enter the %d digits your authenticator app shows", totp.Digits)
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return "", fmt.Errorf("otp: enter the %d digits your authenticator app shows", totp.Digits)
		}
	}
	return code, nil
}

// matchTOTP returns the time step whose code equals code, trying the step
// of now and one step either side (clock drift), or false.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	key, err := totp.ParseSecret(secret)
	if err != nil {
		return 0, false
	}
	step := totp.Step(now)
	found, matched := int64(0), 0
	for _, s := range []int64{step - 1, step, step + 1} {
		if subtle.ConstantTimeCompare([]byte(key.Code(s)), []byte(code)) == 1 {
			found, matched = s, 1
		}
	}
	return found, matched == 1
}

// totpURI returns the otpauth URI that authenticator apps read from a QR
// code, labelled with the tenant and the username.
func totpURI(tenant, username, secret string) string {
	issuer := "TMS " + tenant
	q := url.Values{}
	q.Set("secret", secret)
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", fmt.Sprint(totp.Digits))
	q.Set("period", fmt.Sprint(int(totp.Period/time.Second)))
	label := url.PathEscape(issuer) + ":" + url.PathEscape(username)
	return "otpauth://totp/" + label + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}
