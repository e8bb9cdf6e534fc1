// Package totp computes time-based one-time passwords (RFC 6238) as
// authenticator apps do: HMAC-SHA-1 over 30-second steps counted from the
// Unix epoch, 6 digits. The server checks codes with it, and clients that
// sign in for a user (the load-testing suite, tms totp code) compute them.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"
)

// The parameters authenticator apps assume when an otpauth URI names none.
const (
	// Period is the length of one time step.
	Period = 30 * time.Second
	// Digits is the length of a code.
	Digits = 6
	// SecretBytes is the length of a new secret, the 160 bits RFC 4226
	// recommends.
	SecretBytes = 20
)

// encoding is base32 without padding, the form otpauth URIs use.
var encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns a random secret of SecretBytes bytes in base32.
func NewSecret() string {
	b := make([]byte, SecretBytes)
	rand.Read(b)
	return encoding.EncodeToString(b)
}

// Key is a decoded secret.
type Key []byte

// ParseSecret decodes a base32 secret, ignoring case, spaces and padding.
func ParseSecret(secret string) (Key, error) {
	s := strings.ToUpper(strings.Join(strings.Fields(secret), ""))
	key, err := encoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(key) == 0 {
		return nil, errors.New("TOTP secret is not base32")
	}
	return key, nil
}

// Step returns the time step that t falls in.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// StepStart returns the time at which step begins.
func StepStart(step int64) time.Time { return time.Unix(step*int64(Period/time.Second), 0) }

// Code returns the code of the key for a time step.
func (k Key) Code(step int64) string { return HOTP(k, uint64(step), Digits, sha1.New) }

// Code returns the code of a base32 secret at t, as an authenticator app
// shows it.
func Code(secret string, t time.Time) (string, error) {
	key, err := ParseSecret(secret)
	if err != nil {
		return "", err
	}
	return key.Code(Step(t)), nil
}

// HOTP computes the RFC 4226 one-time password of key at counter with the
// given number of digits (1 to 9) and hash function.
func HOTP(key []byte, counter uint64, digits int, h func() hash.Hash) string {
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
