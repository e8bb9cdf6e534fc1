package tms

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"strings"
	"time"
)

// TOTP (RFC 6238) as authenticator apps implement it: HMAC-SHA-1, 30-second
// steps from the Unix epoch, 6 digits.
const (
	totpPeriod = 30 * time.Second
	totpDigits = 6
	// totpSecretBytes is the secret length RFC 4226 recommends (160 bits).
	totpSecretBytes = 20
)

// totpEncoding is base32 without padding, the form otpauth URIs use.
var totpEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newTOTPSecret returns a random base32 TOTP secret.
func newTOTPSecret() string {
	b := make([]byte, totpSecretBytes)
	rand.Read(b)
	return totpEncoding.EncodeToString(b)
}

// decodeTOTPSecret decodes a base32 secret, ignoring case, spaces and
// padding.
func decodeTOTPSecret(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.Join(strings.Fields(secret), ""))
	key, err := totpEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(key) == 0 {
		return nil, errors.New("TOTP secret is not base32")
	}
	return key, nil
}

// totpStep returns the time step that t falls in.
func totpStep(t time.Time) int64 { return t.Unix() / int64(totpPeriod/time.Second) }

// hotp computes the RFC 4226 one-time password of key at counter with the
// given number of digits and hash function.
func hotp(key []byte, counter uint64, digits int, h func() hash.Hash) string {
	mac := hmac.New(h, key)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0x0f
	value := binary.BigEndian.Uint32(sum[offset:offset+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, value%mod)
}

// TOTPCode returns the current code of a base32 secret at t, as an
// authenticator app shows it.
func TOTPCode(secret string, t time.Time) (string, error) {
	key, err := decodeTOTPSecret(secret)
	if err != nil {
		return "", err
	}
	return hotp(key, uint64(totpStep(t)), totpDigits, sha1.New), nil
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
	if len(code) != totpDigits {
		return "", fmt.Errorf("otp: enter the %d digits your authenticator app shows", totpDigits)
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return "", fmt.Errorf("otp: enter the %d digits your authenticator app shows", totpDigits)
		}
	}
	return code, nil
}

// matchTOTP returns the time step whose code equals code, trying the step
// of now and one step either side (clock drift), or false.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	key, err := decodeTOTPSecret(secret)
	if err != nil {
		return 0, false
	}
	step := totpStep(now)
	found, matched := int64(0), 0
	for _, s := range []int64{step - 1, step, step + 1} {
		if subtle.ConstantTimeCompare([]byte(hotp(key, uint64(s), totpDigits, sha1.New)), []byte(code)) == 1 {
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
	q.Set("digits", fmt.Sprint(totpDigits))
	q.Set("period", fmt.Sprint(int(totpPeriod/time.Second)))
	label := url.PathEscape(issuer) + ":" + url.PathEscape(username)
	return "otpauth://totp/" + label + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}
