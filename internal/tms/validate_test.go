package tms

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

func TestExpiryArithmetic(t *testing.T) {
	now := time.Date(2026, 7, 13, 18, 2, 11, 123456000, time.UTC)
	// untilNever is the number of whole minutes from now to store.Never
	// (now has a fraction of a second, Never none). time.Duration cannot
	// hold the span.
	untilNever := (store.Never.Unix() - now.Unix() - 1) / 60
	minutesFrom := func(from time.Time, m int64) time.Time {
		return time.Unix(from.Unix()+m*60, int64(from.Nanosecond())).UTC()
	}
	tests := []struct {
		name    string
		minutes int64
		want    time.Time
	}{
		{"negative never expires", -1, store.Never},
		{"most negative never expires", math.MinInt64, store.Never},
		{"zero expires now", 0, now},
		{"one minute", 1, now.Add(time.Minute)},
		{"a day", 24 * 60, now.Add(24 * time.Hour)},
		{"2^31-1 minutes, beyond time.Duration", math.MaxInt32, minutesFrom(now, math.MaxInt32)},
		{"last minute before the cap", untilNever, minutesFrom(now, untilNever)},
		{"one minute past the cap", untilNever + 1, store.Never},
		{"3,000,000 days", 3_000_000 * 24 * 60, store.Never},
		{"largest count", math.MaxInt64, store.Never},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := expiryAfter(now, tc.minutes); !got.Equal(tc.want) {
				t.Errorf("expiryAfter(now, %d) = %v, want %v", tc.minutes, got, tc.want)
			}
		})
	}
	if year := expiryAfter(now, math.MaxInt32).Year(); year != 6109 {
		t.Errorf("2^31-1 minutes from 2026 ends in %d, want 6109 as in tms_server 0.3.0", year)
	}
}

func TestAddMinutesIsAbsolute(t *testing.T) {
	// A minute is 60 seconds whatever the time zone of the start, also
	// across a daylight saving change.
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	for _, start := range []time.Time{
		time.Date(2026, 3, 8, 1, 30, 0, 0, ny),  // the night clocks go forward
		time.Date(2026, 11, 1, 0, 30, 0, 0, ny), // the night clocks go back
		time.Date(2026, 7, 13, 18, 2, 11, 0, time.FixedZone("east", 5*3600)),
	} {
		for _, minutes := range []int64{1, 60, 24 * 60, 7 * 24 * 60, 400 * 24 * 60} {
			want := start.Add(time.Duration(minutes) * time.Minute)
			if got := addMinutes(start, minutes); !got.Equal(want) {
				t.Errorf("addMinutes(%v, %d) = %v, want %v", start, minutes, got, want)
			}
		}
	}
	nearEnd := store.Never.Add(-30 * time.Second)
	if got := addMinutes(nearEnd, 1); !got.Equal(store.Never) {
		t.Errorf("addMinutes(%v, 1) = %v, want the cap %v", nearEnd, got, store.Never)
	}
}

func TestCheckVersionReq(t *testing.T) {
	valid := []string{
		"1.0", "0.1", "1", "1.2.3", "0.0.0", "*", "x", "X", " * ", ">=1.0", "> 1", "<2", "<=2.0.1", "=1.2.3", "~1.2", "^0.3",
		"1.*", "1.2.*", "1.x", "1.2.X", "1.*.*", ">=1.*", ">=1.0, <2", ">=1.0 , <2", ">= 1.2.3, < 1.8.0", "1.2.3-alpha", "1.2.3-alpha.1",
		"1.2.3-0.3.7", "1.2.3-x-y-z", "1.2.3+build.5", "1.2.3-rc.1+build.01", "18446744073709551615.0",
		strings.Repeat("1,", 31) + "1",
	}
	invalid := []string{
		"", " ", "latest", "v1.0", "1.", ".1", "1..2", "1.2.3.4", "1.x.3", "1.*.3", "*.1", "x.1", ">=*", "*, <2", ">=1.0, *",
		"01.0", "1.02", "1.2.03", "18446744073709551616", "1.0-alpha", "1.*-alpha", "1.2.3-", "1.2.3-alpha.", "1.2.3-alpha..1",
		"1.2.3-01", "1.2.3+", "1.2.3+b..1", "1.2.3-a_b", "=>1.0", ">>1", ">= 1.0 <2", "1.0,", ",1.0", "1.0,,2", "1.0 2.0",
		"1.2.3 alpha", "\u00b9.0", strings.Repeat("1,", 32) + "1",
	}
	for _, v := range valid {
		if err := checkVersionReq("app_version", v); err != nil {
			t.Errorf("checkVersionReq(%q) = %v, want it accepted", v, err)
		}
	}
	for _, v := range invalid {
		err := checkVersionReq("app_version", v)
		if err == nil {
			t.Errorf("checkVersionReq(%q) accepted an invalid requirement", v)
			continue
		}
		if ErrorKind(err) != KindInvalid || !strings.HasPrefix(err.Error(), "app_version: ") {
			t.Errorf("checkVersionReq(%q) = %v (kind %d), want a 400 that names app_version", v, err, ErrorKind(err))
		}
	}
}

func TestCheckText(t *testing.T) {
	tests := []struct {
		value   string
		problem string // "" when valid
	}{
		{"testuser1", ""},
		{"Zoë Ødegård", ""},
		{"user@example.org", ""},
		{"a b", ""},
		{strings.Repeat("x", maxFieldLen), ""},
		{strings.Repeat("é", maxFieldLen/2), ""},
		{"", "must not be empty"},
		{strings.Repeat("x", maxFieldLen+1), "longer than 256 bytes"},
		{strings.Repeat("é", maxFieldLen/2+1), "longer than 256 bytes"},
		{"bad\xffutf8", "not valid UTF-8"},
		{"nul\x00", "contains control characters"},
		{"tab\there", "contains control characters"},
		{"line\nbreak", "contains control characters"},
		{"del\x7f", "contains control characters"},
		{"next\u0085line", "contains control characters"},
	}
	for _, tc := range tests {
		err := checkText("host", tc.value)
		switch {
		case tc.problem == "" && err != nil:
			t.Errorf("checkText(%q) = %v, want it accepted", tc.value, err)
		case tc.problem != "" && err == nil:
			t.Errorf("checkText(%q) accepted it, want %q", tc.value, tc.problem)
		case tc.problem != "" && (ErrorKind(err) != KindInvalid || !strings.HasPrefix(err.Error(), "host: "+tc.problem)):
			t.Errorf("checkText(%q) = %v, want a 400 \"host: %s\"", tc.value, err, tc.problem)
		}
	}
	// checkTexts reports the first bad field in order.
	err := checkTexts("client_user_id", "u", "host", "", "host_account", "")
	if err == nil || !strings.HasPrefix(err.Error(), "host: ") {
		t.Errorf("checkTexts = %v, want the error of host", err)
	}
	if err := checkTexts("a", "1", "b", "2"); err != nil {
		t.Errorf("checkTexts of good values = %v", err)
	}
}

func TestCheckTenantName(t *testing.T) {
	valid := []string{"a", "acme", "A1", "9lives", "a.b_c-d", "test", strings.Repeat("t", 64)}
	invalid := []string{"", ".hidden", "-a", "_a", "a b", "a/b", "a\n", "ä", "tenant!", strings.Repeat("t", 65)}
	for _, name := range valid {
		if err := checkTenantName(name); err != nil {
			t.Errorf("checkTenantName(%q) = %v, want it accepted", name, err)
		}
	}
	for _, name := range invalid {
		err := checkTenantName(name)
		if err == nil {
			t.Errorf("checkTenantName(%q) accepted it", name)
			continue
		}
		if ErrorKind(err) != KindInvalid || !strings.HasPrefix(err.Error(), "tenant: ") {
			t.Errorf("checkTenantName(%q) = %v, want a 400 that names the tenant", name, err)
		}
	}
}

func TestStoreErrorKinds(t *testing.T) {
	tests := []struct {
		err  error
		kind Kind
	}{
		{fmt.Errorf("get: %w", store.ErrNotFound), KindNotFound},
		{fmt.Errorf("insert: %w", store.ErrConflict), KindConflict},
		{fmt.Errorf("delete: %w", store.ErrInUse), KindConflict},
		{fmt.Errorf("insert: %w", store.ErrMissingParent), KindNotFound},
		{fmt.Errorf("acquire: %w", store.ErrUnavailable), KindUnavailable},
		{fmt.Errorf("query: %w", context.DeadlineExceeded), KindUnavailable},
		{fmt.Errorf("query: %w", context.Canceled), KindUnavailable},
		{errors.New("disk on fire"), KindInternal},
		{newError(KindForbidden, "kept"), KindForbidden},
	}
	for _, tc := range tests {
		got := storeError(tc.err, "do something")
		if ErrorKind(got) != tc.kind {
			t.Errorf("storeError(%v) has kind %d, want %d", tc.err, ErrorKind(got), tc.kind)
		}
		if !errors.Is(got, tc.err) && ErrorKind(got) != KindForbidden {
			t.Errorf("storeError(%v) does not wrap its cause", tc.err)
		}
		var e *Error
		if errors.As(got, &e) && (strings.Contains(e.Message, "disk on fire") || strings.Contains(e.Message, "acquire")) {
			t.Errorf("storeError(%v) shows the cause to the caller: %q", tc.err, e.Message)
		}
	}
	if storeError(nil, "x") != nil {
		t.Error("storeError(nil) is not nil")
	}
	if ErrorKind(errors.New("plain")) != KindInternal {
		t.Error("a plain error is not KindInternal")
	}
}
