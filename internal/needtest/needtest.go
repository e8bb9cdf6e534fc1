// Package needtest decides what a test does when a part it needs (a
// program, a server, a browser) is not on the machine: in CI, where
// scripts/test.sh installs every part, the test fails, so that a missing
// install step cannot pass unnoticed; elsewhere it is skipped with why.
package needtest

import (
	"os"
	"testing"
)

// Missing fails the test when the CI environment variable is set and skips
// it otherwise, saying why.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}
