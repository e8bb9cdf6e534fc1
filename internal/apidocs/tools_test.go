package apidocs_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tmsproject/tms/internal/needtest"
)

// tool finds an external program the interoperability tests run. CI
// installs every one of them (.ci/run), so there a missing tool fails the
// test; elsewhere the test is skipped with the command that installs it.
func tool(t *testing.T, name, install string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for dir := range strings.SplitSeq(strings.TrimSpace(string(gopath)), string(os.PathListSeparator)) {
			if path := filepath.Join(dir, "bin", name); isExecutable(path) {
				return path
			}
		}
	}
	needtest.Missing(t, name+" is not installed; install it with: "+install)
	return ""
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir() && info.Mode().Perm()&0o111 != 0
}

// TestRedoclyLint checks both documents with Redocly's recommended rules:
// no errors allowed.
func TestRedoclyLint(t *testing.T) {
	redocly := tool(t, "redocly", "npm install -g @redocly/cli@2.77.0")
	cmd := exec.Command(redocly, "lint", "--extends=recommended", "--format=stylish", "openapi.yaml", "openapi.json")
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint: %v\n%s", err, out)
	}
	t.Logf("redocly lint:\n%s", out)
}

// TestOAPICodegen generates a Go client and server from openapi.yaml with
// oapi-codegen's default settings and compiles them, with the module
// versions of testdata/oapicodegen/go.mod and without network access.
func TestOAPICodegen(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles generated code")
	}
	codegen := tool(t, "oapi-codegen", "go install github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2")
	dir := t.TempDir()
	for _, name := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join("testdata", "oapicodegen", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spec, err := filepath.Abs("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	gen := exec.Command(codegen, "-package", "tmsapi", "-o", filepath.Join(dir, "tmsapi.gen.go"), spec)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen with default settings: %v\n%s", err, out)
	}
	env := append(os.Environ(), "GOFLAGS=-mod=readonly", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	download := exec.Command("go", "mod", "download")
	download.Dir, download.Env = dir, env
	if out, err := download.CombinedOutput(); err != nil {
		needtest.Missing(t, "the modules the generated code needs are not in the module cache; fetch them with: "+
			"(cd internal/apidocs/testdata/oapicodegen && go mod download)\n"+string(out))
	}
	build := exec.Command("go", "build", ".")
	build.Dir, build.Env = dir, env
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the code oapi-codegen generated does not compile: %v\n%s", err, bytes.TrimSpace(out))
	}
}
