// Package secret generates client and administrator secrets and checks them
// against stored hashes. The scheme is that of tms_server 0.3.0, so that a
// database shared with it keeps working: a secret is 24 random bytes written
// as 48 lowercase hex characters, and only the lowercase hex SHA-512 of the
// secret string is stored. Comparison is in constant time.
package secret

import (
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// New returns a fresh 48-character hex secret.
func New() string {
	var b [24]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Hash returns the stored form of a secret.
func Hash(s string) string {
	sum := sha512.Sum512([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Matches reports whether secret hashes to stored. It takes the same time
// whatever the secret is. An empty secret or stored hash never matches.
func Matches(secret, stored string) bool {
	if secret == "" || stored == "" {
		return false
	}
	got := Hash(secret)
	return subtle.ConstantTimeCompare([]byte(got), []byte(stored)) == 1
}

// dummyHash stands in for the stored hash of an identity that does not
// exist. No secret hashes to it: it is not a hex SHA-512 digest.
var dummyHash = strings.Repeat("z", sha512.Size*2)

// Verify reports whether secret is the secret of an identity whose stored
// hash is stored, found telling whether the identity exists. For an
// identity that does not exist it compares secret with a dummy hash the
// same way and reports false, so that an unknown identity costs as much
// as a known one with a wrong secret.
func Verify(secret, stored string, found bool) bool {
	if !found {
		stored = dummyHash
	}
	return Matches(secret, stored) && found
}
