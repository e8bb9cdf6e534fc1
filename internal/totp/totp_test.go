package totp

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"hash"
	"strings"
	"testing"
	"time"
)

// TestRFC6238Vectors checks the test vectors of RFC 6238 Appendix B (8
// digits, 30-second steps, the three hash functions with their seeds).
func TestRFC6238Vectors(t *testing.T) {
	seeds := map[string][]byte{
		"SHA1":   []byte("12345678901234567890"),
		"SHA256": []byte("12345678901234567890123456789012"),
		"SHA512": []byte("1234567890123456789012345678901234567890123456789012345678901234"),
	}
	hashes := map[string]func() hash.Hash{"SHA1": sha1.New, "SHA256": sha256.New, "SHA512": sha512.New}
	tests := []struct {
		unix int64
		alg  string
		want string
	}{
		{59, "SHA1", "94287082"}, {59, "SHA256", "46119246"}, {59, "SHA512", "90693936"},
		{1111111109, "SHA1", "07081804"}, {1111111109, "SHA256", "68084774"}, {1111111109, "SHA512", "25091201"},
		{1111111111, "SHA1", "14050471"}, {1111111111, "SHA256", "67062674"}, {1111111111, "SHA512", "99943326"},
		{1234567890, "SHA1", "89005924"}, {1234567890, "SHA256", "91819424"}, {1234567890, "SHA512", "93441116"},
		{2000000000, "SHA1", "69279037"}, {2000000000, "SHA256", "90698825"}, {2000000000, "SHA512", "38618901"},
		{20000000000, "SHA1", "65353130"}, {20000000000, "SHA256", "77737706"}, {20000000000, "SHA512", "47863826"},
	}
	for _, tc := range tests {
		step := Step(time.Unix(tc.unix, 0))
		if got := HOTP(seeds[tc.alg], uint64(step), 8, hashes[tc.alg]); got != tc.want {
			t.Errorf("TOTP %s at %d: got %s, want %s", tc.alg, tc.unix, got, tc.want)
		}
	}
}

// TestSixDigitCodes checks the codes apps show: the last six digits of the
// SHA-1 vectors, from the secret in base32 as an otpauth URI carries it.
func TestSixDigitCodes(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 20000000000: "353130"} {
		at := time.Unix(unix, 0)
		got, err := Code(secret, at)
		if err != nil || got != want {
			t.Errorf("Code at %d: got %q, %v; want %q", unix, got, err, want)
		}
		key, err := ParseSecret(strings.ToLower(secret) + "====")
		if err != nil || key.Code(Step(at)) != want {
			t.Errorf("lower-case padded secret at %d: %v", unix, err)
		}
	}
}

func TestSteps(t *testing.T) {
	for _, tc := range []struct {
		unix int64
		step int64
	}{{0, 0}, {29, 0}, {30, 1}, {59, 1}, {1111111109, 37037036}} {
		if got := Step(time.Unix(tc.unix, 0)); got != tc.step {
			t.Errorf("Step(%d) = %d, want %d", tc.unix, got, tc.step)
		}
		if tc.step == 0 {
			continue // the second before the epoch is not a step
		}
		if start := StepStart(tc.step); start.After(time.Unix(tc.unix, 0)) || Step(start) != tc.step || Step(start.Add(-time.Second)) != tc.step-1 {
			t.Errorf("StepStart(%d) = %v does not begin the step", tc.step, start)
		}
	}
}

func TestSecrets(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b || len(a) != 32 {
		t.Fatalf("secrets %q %q", a, b)
	}
	key, err := ParseSecret(a)
	if err != nil || len(key) != SecretBytes {
		t.Fatalf("decode %q: %d bytes, %v", a, len(key), err)
	}
	if _, err := ParseSecret(" abcd efgh "); err != nil {
		t.Errorf("spaces and lower case: %v", err)
	}
	for _, bad := range []string{"", "!!", "not base32!", "===="} {
		if _, err := ParseSecret(bad); err == nil {
			t.Errorf("ParseSecret(%q) accepted", bad)
		}
		if _, err := Code(bad, time.Unix(59, 0)); err == nil {
			t.Errorf("Code(%q) accepted", bad)
		}
	}
}
