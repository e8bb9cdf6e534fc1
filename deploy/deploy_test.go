package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tmsproject/tms/internal/needtest"
)

// need finds a program the test runs. CI installs every one of them
// (.ci/run), so there a missing program fails the test; elsewhere the test
// is skipped with the package that provides it.
func need(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	why := fmt.Sprintf("%s is not installed (Debian package %s)", name, pkg)
	needtest.Missing(t, why)
	return ""
}

// binary builds tms as a release does, static (CGO_ENABLED=0), once per
// test run.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "tms-deploy-test-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "tms")
	cmd := exec.Command("go", "build", "-trimpath", "-o", path, "../cmd/tms")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return path, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if path, err := binary(); err == nil {
		os.RemoveAll(filepath.Dir(path))
	}
	os.Exit(code)
}

func buildBinary(t *testing.T) string {
	t.Helper()
	path, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSystemdUnit checks tms.service with systemd-analyze: no warning at
// all, and an exposure level of a hardened service.
func TestSystemdUnit(t *testing.T) {
	analyze := need(t, "systemd-analyze", "systemd")
	unit, err := os.ReadFile("tms.service")
	if err != nil {
		t.Fatal(err)
	}
	const installed = "/usr/local/bin/tms"
	execStart := regexp.MustCompile(`(?m)^ExecStart=` + regexp.QuoteMeta(installed) + ` (.*)$`).FindSubmatch(unit)
	if execStart == nil {
		t.Fatalf("tms.service does not start %s", installed)
	}
	// systemd-analyze checks that the command exists: use a fresh build.
	bin := buildBinary(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "tms.service")
	if err := os.WriteFile(path, bytes.ReplaceAll(unit, []byte(installed), []byte(bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify tms.service: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=yes", "--no-pager", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for tms.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security printed no exposure level:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2 {
		t.Errorf("exposure level %.1f, want at most 2 (hardened):\n%s", level, out)
	}
	for _, want := range []string{"User=tms", "StateDirectory=tms", "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
		"ProtectHome=yes", "CapabilityBoundingSet=\n", "RestrictAddressFamilies=", "SystemCallFilter=@system-service"} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("tms.service lacks %q", strings.TrimSpace(want))
		}
	}
	// The server accepts the unit's command line.
	args := strings.Fields(strings.ReplaceAll(string(execStart[1]), "/var/lib/tms", filepath.Join(dir, "root")))
	cmd := exec.Command(bin, append(args, "--print-config")...)
	cmd.Env = []string{"HOME=" + dir}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("tms %s --print-config: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestContainerImage builds the image of Containerfile with podman and
// checks its configuration: the static binary, a numeric non-root user,
// the health check through the binary. (Containers cannot run here.)
func TestContainerImage(t *testing.T) {
	podman := need(t, "podman", "podman")
	bin := buildBinary(t)
	tag := fmt.Sprintf("localhost/tms-deploy-test-%d:latest", os.Getpid())
	build := exec.Command("./build-image.sh", "--binary", bin, tag)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build-image.sh: %v\n%s", err, out)
	}
	defer exec.Command(podman, "image", "rm", "--force", tag).Run()
	out, err := exec.Command(podman, "image", "inspect", tag).Output()
	if err != nil {
		t.Fatalf("podman image inspect: %v", err)
	}
	var images []struct {
		Config struct {
			User       string
			Entrypoint []string
			Cmd        []string
			Env        []string
		}
		Healthcheck *struct{ Test []string }
	}
	if err := json.Unmarshal(out, &images); err != nil || len(images) != 1 {
		t.Fatalf("podman image inspect: %v\n%s", err, out)
	}
	c := images[0].Config
	if !regexp.MustCompile(`^[1-9][0-9]*(:[0-9]+)?$`).MatchString(c.User) {
		t.Errorf("the image runs as %q, want a numeric non-root user", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/tms"}) || !slices.Equal(c.Cmd, []string{"server"}) {
		t.Errorf("the image runs %q %q, want /usr/local/bin/tms server", c.Entrypoint, c.Cmd)
	}
	if hc := images[0].Healthcheck; hc == nil || !slices.Equal(hc.Test, []string{"CMD", "/usr/local/bin/tms", "healthcheck"}) {
		t.Errorf("the image's health check is %+v, want tms healthcheck", hc)
	}
	if !slices.Contains(c.Env, "TMS_ROOT_DIR=/var/lib/tms") {
		t.Errorf("the image's environment %q does not set the root directory", c.Env)
	}
}
