package tms

import (
	"errors"
	"time"

	"github.com/tmsproject/tms/internal/store"
)

// Refusal names why a key may not be created or used. Its values are short
// fixed labels, fit for metrics, logs and audit events.
type Refusal string

// The clauses of the key-validity rule, in the order keyRefusal checks them.
const (
	RefusedTenantDisabled     Refusal = "tenant_disabled"
	RefusedClientDisabled     Refusal = "client_disabled"
	RefusedNoMFA              Refusal = "no_mfa"
	RefusedMFADisabled        Refusal = "mfa_disabled"
	RefusedMFAExpired         Refusal = "mfa_expired"
	RefusedNoHostMapping      Refusal = "no_host_mapping"
	RefusedHostMappingExpired Refusal = "host_mapping_expired"
	RefusedNoDelegation       Refusal = "no_delegation"
	RefusedDelegationExpired  Refusal = "delegation_expired"
	RefusedKeyExpired         Refusal = "key_expired"
	RefusedNoUses             Refusal = "no_uses_left"
)

// RefusedNotFound is retrieval's refusal of a key that does not exist.
const RefusedNotFound Refusal = "no_such_key"

// Refusals returns every reason retrieval may refuse a key for.
func Refusals() []Refusal {
	return []Refusal{RefusedNotFound, RefusedOtherTenant, RefusedTenantDisabled, RefusedClientDisabled,
		RefusedNoMFA, RefusedMFADisabled, RefusedMFAExpired, RefusedNoHostMapping, RefusedHostMappingExpired,
		RefusedNoDelegation, RefusedDelegationExpired, RefusedKeyExpired, RefusedNoUses,
		RefusedHostUnregistered, RefusedHostCredentialMissing, RefusedHostCredentialInvalid, RefusedHostMismatch}
}

// refusedError is the cause of an error that reports a refusal.
type refusedError struct{ r Refusal }

func (e refusedError) Error() string { return "key refused: " + string(e.r) }

// RefusalOf returns the refusal err reports, or "" when it reports none.
func RefusalOf(err error) Refusal {
	var e refusedError
	if errors.As(err, &e) {
		return e.r
	}
	return ""
}

// keyRule is the key-validity rule, the only place it is written, with
// the settings it depends on. The zero value is the rule at key creation
// less the tenant clause; see refusal.
type keyRule struct {
	// scope is the set of tenants whose keys the asking host may get
	// (retrieval only; see scopeHost).
	scope hostScope
	// permissive applies only the tenant clause, as tms_server 0.3.0 does
	// (keys.retrieval = "permissive").
	permissive bool
	// repeatWindow is how long a counted use still covers a repeated
	// lookup of the same login.
	repeatWindow time.Duration
}

// creationRule is the rule a new key must pass.
var creationRule = keyRule{scope: hostScope{anyTenant: true}}

// refusal applies the rule: a key is usable at now when its tenant is one
// the host may get keys of, its tenant and client are enabled, the user's
// MFA record exists, is enabled and unexpired, the host mapping and the
// delegation exist and are unexpired, and the key is unexpired with a use
// left. A use counted less than repeatWindow ago is the same login's, so it
// leaves the use it took. refusal returns the first clause that fails, or
// "" when the key is usable.
//
// The snapshot may lag behind the store's use counter; the counter, which
// decides atomically (store.UseKey), has the last word on uses.
func (rule keyRule) refusal(ks store.KeyState, now time.Time) Refusal {
	d, k := ks.Deps, ks.Key
	switch {
	case !rule.scope.allows(k.Tenant):
		return RefusedOtherTenant
	case rule.permissive:
		return ""
	case !d.TenantEnabled:
		return RefusedTenantDisabled
	case !d.ClientEnabled:
		return RefusedClientDisabled
	case d.UserMFA.ID == 0:
		return RefusedNoMFA
	case !d.UserMFA.Enabled:
		return RefusedMFADisabled
	case d.UserMFA.ExpiresAt.Before(now):
		return RefusedMFAExpired
	case d.UserHost.ID == 0:
		return RefusedNoHostMapping
	case d.UserHost.ExpiresAt.Before(now):
		return RefusedHostMappingExpired
	case d.Delegation.ID == 0:
		return RefusedNoDelegation
	case d.Delegation.ExpiresAt.Before(now):
		return RefusedDelegationExpired
	case k.ExpiresAt.Before(now):
		return RefusedKeyExpired
	case !k.Unlimited() && k.RemainingUses < 1 && !ks.LastUsedAt.After(store.UseCutoff(now, rule.repeatWindow)):
		return RefusedNoUses
	}
	return ""
}

// useRefusal applies the rule's last clause to the outcome of counting a
// use: a use was left if one was counted, or if the lookup repeats one
// counted within the repeat window.
func useRefusal(u store.UseResult) Refusal {
	if !u.Counted && !u.Repeated {
		return RefusedNoUses
	}
	return ""
}
