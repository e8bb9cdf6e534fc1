// Package totptest gives tests one-time codes that are certainly wrong.
package totptest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tmsproject/tms/internal/totp"
)

// Wrong returns a well-formed code that is the code of secret at none of the
// five time steps around at, so a server that accepts one step of drift
// either side refuses it even if its clock has moved one step meanwhile.
// A fixed code such as "000000" is right once in a few hundred thousand
// secrets; this one never is.
func Wrong(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	key, err := totp.ParseSecret(secret)
	if err != nil {
		t.Fatalf("totptest: %v", err)
	}
	step := totp.Step(at)
	near := map[string]bool{}
	for s := step - 2; s <= step+2; s++ {
		near[key.Code(s)] = true
	}
	for n := 0; ; n++ {
		code := fmt.Sprintf("%0*d", totp.Digits, n)
		if !near[code] {
			return code
		}
	}
}
