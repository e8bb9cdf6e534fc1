package secret

import (
	"encoding/hex"
	"regexp"
	"testing"
)

func TestNew(t *testing.T) {
	a, b := New(), New()
	if !regexp.MustCompile(`^[0-9a-f]{48}$`).MatchString(a) || a == b {
		t.Fatalf("New: %q, %q", a, b)
	}
}

func TestHash(t *testing.T) {
	// Hex SHA-512 of "secret1", the stored form of the well-known test
	// client secret in databases written by tms_server 0.3.0.
	const want = "1c3e9787e63aa086675efe17a9b2b1adbeaddd19283d8bfe364a8e044f0cc24b2cb804d1136685069f0d9bd929fd79f96b89762a2f10917e6a21495b5d080ee1"
	if got := Hash("secret1"); got != want {
		t.Fatalf("Hash(secret1) = %s, want %s", got, want)
	}
}

func TestMatches(t *testing.T) {
	stored := Hash("secret1")
	tests := []struct {
		secret, stored string
		want           bool
	}{
		{"secret1", stored, true},
		{"secret2", stored, false},
		{"Secret1", stored, false},
		{"", stored, false},
		{"secret1", "", false},
		{"", Hash(""), false},
	}
	for _, tc := range tests {
		if got := Matches(tc.secret, tc.stored); got != tc.want {
			t.Errorf("Matches(%q, %.8s…) = %v, want %v", tc.secret, tc.stored, got, tc.want)
		}
	}
}

func TestVerify(t *testing.T) {
	stored := Hash("secret1")
	tests := []struct {
		secret, stored string
		found          bool
		want           bool
	}{
		{"secret1", stored, true, true},
		{"secret2", stored, true, false},
		{"secret1", stored, false, false},
		{"secret1", "", false, false},
		{"", "", false, false},
		{"zzzz", "", false, false},
	}
	for _, tc := range tests {
		if got := Verify(tc.secret, tc.stored, tc.found); got != tc.want {
			t.Errorf("Verify(%q, %.8s…, %v) = %v, want %v", tc.secret, tc.stored, tc.found, got, tc.want)
		}
	}
	// The dummy hash is no hash of any secret.
	if _, err := hex.DecodeString(dummyHash); err == nil || len(dummyHash) != len(stored) {
		t.Fatalf("dummy hash %q: want the length of a hash and not hex", dummyHash)
	}
}
