// Package chromiumtest starts a headless Chromium for tests, with the flags
// that let it run as root and without network. Only tests import it.
package chromiumtest

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tmsproject/tms/internal/needtest"
)

// execPath returns the first Chromium binary found, Debian's first, or "".
func execPath() string {
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	return ""
}

// Context returns a chromedp browser context: a headless Chromium with an
// empty profile of its own, which ends after timeout or when the test ends,
// whichever comes first. When no Chromium binary is installed it fails the
// test in CI and skips it elsewhere (needtest). extra options (such as chromedp.WindowSize) are added to the
// defaults.
func Context(t testing.TB, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := execPath()
	if path == "" {
		needtest.Missing(t, "no chromium binary (install Debian's chromium package): this test needs a browser")
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(opts, extra...)...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	return browser
}
