package tms

import (
	"encoding/base32"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/totp"
)

func TestTOTPCodeAndMatch(t *testing.T) {
	// The SHA-1 seed of RFC 6238 in base32; its 6-digit code is the last
	// six digits of the 8-digit vector.
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
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
		if ok != tc.ok || (ok && step != totp.Step(tc.at)+tc.offset) {
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

func TestTOTPURI(t *testing.T) {
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
