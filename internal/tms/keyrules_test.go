package tms

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

// TestKeyRefusal checks every clause of the key-validity rule: a usable
// key, then each clause failing alone, then the order in which clauses
// that fail together are named.
func TestKeyRefusal(t *testing.T) {
	now := time.Date(2026, 7, 13, 18, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Minute), now.Add(-time.Minute)
	usable := func() store.KeyState {
		return store.KeyState{
			Key: store.Pubkey{ID: 1, Tenant: "t", MaxUses: 3, RemainingUses: 1, ExpiresAt: later},
			Deps: store.Dependencies{
				TenantEnabled: true, ClientEnabled: true,
				UserMFA:    store.UserMFA{ID: 1, Enabled: true, ExpiresAt: later},
				UserHost:   store.UserHost{ID: 1, ExpiresAt: later},
				Delegation: store.Delegation{ID: 1, ExpiresAt: later},
			},
		}
	}
	const window = 10 * time.Second
	tests := []struct {
		name   string
		spoil  func(ks *store.KeyState)
		window time.Duration
		want   Refusal
	}{
		{"host may not get the tenant's keys", func(ks *store.KeyState) { ks.Key.Tenant = "other" }, window, RefusedOtherTenant},
		{"other tenant before everything", func(ks *store.KeyState) { *ks = store.KeyState{Key: store.Pubkey{Tenant: "other"}} }, window, RefusedOtherTenant},
		{"usable", func(ks *store.KeyState) {}, window, ""},
		{"expiring right now is still usable", func(ks *store.KeyState) {
			ks.Key.ExpiresAt, ks.Deps.UserMFA.ExpiresAt, ks.Deps.UserHost.ExpiresAt, ks.Deps.Delegation.ExpiresAt = now, now, now, now
		}, window, ""},
		{"unlimited key with no count", func(ks *store.KeyState) { ks.Key.MaxUses, ks.Key.RemainingUses = store.MaxCount, 0 }, window, ""},
		{"last use repeated within the window", func(ks *store.KeyState) {
			ks.Key.RemainingUses, ks.LastUsedAt = 0, now.Add(-time.Second)
		}, window, ""},
		{"tenant disabled", func(ks *store.KeyState) { ks.Deps.TenantEnabled = false }, window, RefusedTenantDisabled},
		{"client disabled", func(ks *store.KeyState) { ks.Deps.ClientEnabled = false }, window, RefusedClientDisabled},
		{"no user MFA", func(ks *store.KeyState) { ks.Deps.UserMFA = store.UserMFA{} }, window, RefusedNoMFA},
		{"user MFA disabled", func(ks *store.KeyState) { ks.Deps.UserMFA.Enabled = false }, window, RefusedMFADisabled},
		{"user MFA expired", func(ks *store.KeyState) { ks.Deps.UserMFA.ExpiresAt = earlier }, window, RefusedMFAExpired},
		{"no host mapping", func(ks *store.KeyState) { ks.Deps.UserHost = store.UserHost{} }, window, RefusedNoHostMapping},
		{"host mapping expired", func(ks *store.KeyState) { ks.Deps.UserHost.ExpiresAt = earlier }, window, RefusedHostMappingExpired},
		{"no delegation", func(ks *store.KeyState) { ks.Deps.Delegation = store.Delegation{} }, window, RefusedNoDelegation},
		{"delegation expired", func(ks *store.KeyState) { ks.Deps.Delegation.ExpiresAt = earlier }, window, RefusedDelegationExpired},
		{"key expired", func(ks *store.KeyState) { ks.Key.ExpiresAt = earlier }, window, RefusedKeyExpired},
		{"no uses left", func(ks *store.KeyState) { ks.Key.RemainingUses = 0 }, window, RefusedNoUses},
		{"last use before the window", func(ks *store.KeyState) {
			ks.Key.RemainingUses, ks.LastUsedAt = 0, now.Add(-window)
		}, window, RefusedNoUses},
		{"no repeat window", func(ks *store.KeyState) { ks.Key.RemainingUses, ks.LastUsedAt = 0, now }, 0, RefusedNoUses},
		{"all fail: the tenant first", func(ks *store.KeyState) { *ks = store.KeyState{Key: store.Pubkey{Tenant: "t", MaxUses: 1}} }, window, RefusedTenantDisabled},
		{"MFA before the mapping", func(ks *store.KeyState) {
			ks.Deps.UserMFA.ExpiresAt, ks.Deps.UserHost, ks.Deps.Delegation = earlier, store.UserHost{}, store.Delegation{}
		}, window, RefusedMFAExpired},
		{"mapping before the delegation", func(ks *store.KeyState) {
			ks.Deps.UserHost.ExpiresAt, ks.Deps.Delegation = earlier, store.Delegation{}
		}, window, RefusedHostMappingExpired},
		{"dependencies before the key", func(ks *store.KeyState) {
			ks.Deps.Delegation.ExpiresAt, ks.Key.ExpiresAt, ks.Key.RemainingUses = earlier, earlier, 0
		}, window, RefusedDelegationExpired},
		{"expiry before uses", func(ks *store.KeyState) { ks.Key.ExpiresAt, ks.Key.RemainingUses = earlier, 0 }, window, RefusedKeyExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ks := usable()
			tc.spoil(&ks)
			rule := keyRule{scope: hostScope{tenants: []string{"t", "u"}}, repeatWindow: tc.window}
			if got := rule.refusal(ks, now); got != tc.want {
				t.Fatalf("refusal = %q, want %q", got, tc.want)
			}
			// Permissive retrieval applies the tenant clause alone.
			rule.permissive = true
			want := Refusal("")
			if tc.want == RefusedOtherTenant {
				want = RefusedOtherTenant
			}
			if got := rule.refusal(ks, now); got != want {
				t.Fatalf("permissive refusal = %q, want %q", got, want)
			}
			// At creation every tenant is in scope.
			if tc.want != RefusedOtherTenant {
				rule := creationRule
				rule.repeatWindow = tc.window
				if got := rule.refusal(ks, now); got != tc.want {
					t.Fatalf("creation refusal = %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestUseRefusal(t *testing.T) {
	for _, tc := range []struct {
		use  store.UseResult
		want Refusal
	}{
		{store.UseResult{Counted: true}, ""},
		{store.UseResult{Repeated: true}, ""},
		{store.UseResult{}, RefusedNoUses},
	} {
		if got := useRefusal(tc.use); got != tc.want {
			t.Errorf("useRefusal(%+v) = %q, want %q", tc.use, got, tc.want)
		}
	}
}

func TestRefusalOf(t *testing.T) {
	err := fmt.Errorf("store key: %w", &Error{Kind: KindForbidden, Message: "m", Err: refusedError{RefusedNoDelegation}})
	if got := RefusalOf(err); got != RefusedNoDelegation {
		t.Fatalf("RefusalOf = %q, want %q", got, RefusedNoDelegation)
	}
	if got := RefusalOf(errors.New("other")); got != "" {
		t.Fatalf("RefusalOf(other) = %q, want none", got)
	}
}
