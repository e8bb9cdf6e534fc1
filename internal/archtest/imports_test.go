package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tmsproject/tms/internal/"

// forbidden lists, for packages whose path starts with a prefix, the
// internal packages they must not depend on (directly or indirectly).
var forbidden = []struct {
	pkg  string
	deny []string
}{
	// Storage knows nothing of the rules, HTTP or the command line.
	{"store", []string{"tms", "api", "oauth", "server", "cli", "client", "audit", "metrics"}},
	// The rules depend on the storage contract, never on a backend or HTTP.
	{"tms", []string{"api", "oauth", "server", "cli", "client", "store/sqlite", "store/postgres", "audit", "metrics"}},
	// HTTP handlers never reach for a backend or the server wiring.
	{"api", []string{"server", "cli", "client", "store/sqlite", "store/postgres"}},
	{"oauth", []string{"server", "cli", "client", "store/sqlite", "store/postgres"}},
	// Clients of the API share no server code.
	{"client", []string{"tms", "api", "oauth", "server", "store", "audit"}},
	{"keycmd", []string{"tms", "api", "oauth", "server", "store", "cli"}},
	{"loadtest", []string{"tms", "api", "oauth", "server", "store", "cli"}},
	// The directory client knows nothing of the rules or of HTTP.
	{"directory", []string{"tms", "api", "oauth", "server", "cli", "client", "store", "audit", "metrics", "config"}},
	{"upstream", []string{"tms", "api", "oauth", "server", "cli", "client", "store", "audit", "metrics", "config"}},
	// Leaves.
	{"keys", []string{""}},
	{"secret", []string{""}},
	{"config", []string{""}},
	{"metrics", []string{""}},
	{"logsummary", []string{""}},
	{"netlimit", []string{""}},
	{"migrations", []string{""}},
	{"totp", []string{""}},
	{"envnames", []string{""}},
	{"needtest", []string{""}},
}

// moduleDeps returns every package of the module with the packages its own
// code depends on, directly or indirectly; what only its tests import is
// not among them.
func moduleDeps(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "github.com/tmsproject/tms/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	deps := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 0 {
			deps[fields[0]] = fields[1:]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read go list output: %v", err)
	}
	return deps
}

func TestImportDirection(t *testing.T) {
	checked := 0
	for path, deps := range moduleDeps(t) {
		if !strings.HasPrefix(path, module) {
			continue
		}
		pkg := strings.TrimPrefix(path, module)
		for _, rule := range forbidden {
			if pkg != rule.pkg && !strings.HasPrefix(pkg, rule.pkg+"/") {
				continue
			}
			checked++
			for _, dep := range deps {
				if !strings.HasPrefix(dep, module) {
					continue
				}
				d := strings.TrimPrefix(dep, module)
				for _, deny := range rule.deny {
					if deny == "" || d == deny || strings.HasPrefix(d, deny+"/") {
						if deny == "" && (d == rule.pkg || strings.HasPrefix(d, rule.pkg+"/")) {
							continue
						}
						t.Errorf("%s depends on %s, which it must not", pkg, d)
					}
				}
			}
		}
	}
	if checked < len(forbidden) {
		t.Fatalf("only %d packages matched the rules; the module layout changed", checked)
	}
}

// isTestHelper reports whether path is a package that only tests may
// import: its name ends in "test" (servertest, storetest, ...). loadtest,
// the load-testing suite, is a command's package, not a helper.
func isTestHelper(path string) bool {
	name := path[strings.LastIndex(path, "/")+1:]
	return strings.HasSuffix(name, "test") && name != "loadtest"
}

// TestHelpersOnlyInTests checks that only tests and other helpers import
// the test helper packages.
func TestHelpersOnlyInTests(t *testing.T) {
	helpers := 0
	for path, deps := range moduleDeps(t) {
		if isTestHelper(path) {
			helpers++
			continue
		}
		for _, dep := range deps {
			if strings.HasPrefix(dep, module) && isTestHelper(dep) {
				t.Errorf("%s depends on the test helper %s; only tests may import it", path, dep)
			}
		}
	}
	if helpers == 0 {
		t.Fatal("no test helper package found; the module layout changed")
	}
}
