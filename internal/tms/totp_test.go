package tms

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strings"
	"testing"
	"time"
)

// TestTOTPVectors checks the test vectors of RFC 6238 Appendix B (8 digits,
// 30-second steps, the three hash functions with their seeds).
func TestTOTPVectors(t *testing.T) {
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
		step := totpStep(time.Unix(tc.unix, 0))
		if got := hotp(seeds[tc.alg], uint64(step), 8, hashes[tc.alg]); got != tc.want {
			t.Errorf("TOTP %s at %d: got %s, want %s", tc.alg, tc.unix, got, tc.want)
		}
	}
}

func TestTOTPCodeAndMatch(t *testing.T) {
	// The SHA-1 seed of RFC 6238 in base32; its 6-digit code is the last
	// six digits of the 8-digit vector.
	secret := totpEncoding.EncodeToString([]byte("12345678901234567890"))
	at := time.Unix(1111111109, 0)
	code, err := TOTPCode(secret, at)
	if err != nil || code != "081804" {
		t.Fatalf("TOTPCode: %q %v, want 081804", code, err)
	}
	if got, err := TOTPCode(strings.ToLower(secret)+"====", at); err != nil || got != code {
		t.Fatalf("lower-case padded secret: %q %v", got, err)
	}
	for _, tc := range []struct {
		at     time.Time
		ok     bool
		offset int64
	}{
		{at, true, 0},
		{at.Add(-30 * time.Second), true, 1}, // the code of the next step, one step early
		{at.Add(30 * time.Second), true, -1}, // one step late
		{at.Add(60 * time.Second), false, 0},
		{at.Add(-60 * time.Second), false, 0},
	} {
		step, ok := matchTOTP(secret, code, tc.at)
		if ok != tc.ok || (ok && step != totpStep(tc.at)+tc.offset) {
			t.Errorf("matchTOTP at %v: step %d ok %v, want ok %v offset %d", tc.at, step, ok, tc.ok, tc.offset)
		}
	}
	if _, ok := matchTOTP("not base32!", code, at); ok {
		t.Error("a malformed secret matched")
	}
	if _, err := TOTPCode("!!", at); err == nil {
		t.Error("TOTPCode accepted a malformed secret")
	}
}

func TestNormalizeOTP(t *testing.T) {
	for in, want := range map[string]string{"123456": "123456", "123 456": "123456", " 123-456\t": "123456"} {
		if got, err := normalizeOTP(in); err != nil || got != want {
			t.Errorf("normalizeOTP(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "12345", "1234567", "12a456", "１２３４５６"} {
		if _, err := normalizeOTP(in); err == nil || !strings.HasPrefix(err.Error(), "otp: ") {
			t.Errorf("normalizeOTP(%q): got %v, want an otp error", in, err)
		}
	}
}

func TestTOTPSecretAndURI(t *testing.T) {
	a, b := newTOTPSecret(), newTOTPSecret()
	if a == b || len(a) != 32 {
		t.Fatalf("secrets %q %q", a, b)
	}
	key, err := decodeTOTPSecret(a)
	if err != nil || len(key) != totpSecretBytes {
		t.Fatalf("decode: %v", err)
	}
	uri := totpURI("my tenant", "alice@example.org", "ABC")
	want := "otpauth://totp/TMS%20my%20tenant:alice@example.org?algorithm=SHA1&digits=6&issuer=TMS%20my%20tenant&period=30&secret=ABC"
	if uri != want {
		t.Fatalf("totpURI:\ngot  %s\nwant %s", uri, want)
	}
}

func TestUserCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		c := newUserCode()
		if norm, ok := NormalizeUserCode(c); !ok || norm != c {
			t.Fatalf("generated code %q does not normalize to itself", c)
		}
		seen[c] = true
	}
	if len(seen) < 1990 {
		t.Fatalf("only %d distinct codes in 2000", len(seen))
	}
	for in, want := range map[string]string{"wdjb-mjht": "WDJBMJHT", "WDJBMJHT": "WDJBMJHT", " wdjb mjht ": "WDJBMJHT"} {
		if got, ok := NormalizeUserCode(in); !ok || got != want {
			t.Errorf("NormalizeUserCode(%q) = %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "WDJB-MJH", "WDJB-MJHTX", "AEIO-UAEI", "1234-5678", "WDJB_MJHT"} {
		if _, ok := NormalizeUserCode(in); ok {
			t.Errorf("NormalizeUserCode(%q) accepted", in)
		}
	}
	if got := FormatUserCode("WDJBMJHT"); got != "WDJB-MJHT" {
		t.Errorf("FormatUserCode: %q", got)
	}
}
