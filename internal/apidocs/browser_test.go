package apidocs_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tmsproject/tms/internal/apidocs"
)

// chromiumPath finds a Chromium binary, or returns "".
func chromiumPath() string {
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	return ""
}

// TestDocsPageRendersOffline opens /docs in headless Chromium: Swagger UI
// must show every operation of the document, load nothing from anywhere
// but this server, and log no error (such as a blocked script).
func TestDocsPageRendersOffline(t *testing.T) {
	chromium := chromiumPath()
	if chromium == "" {
		t.Skip("no chromium binary (install Debian's chromium package): the documentation page was not opened in a browser")
	}
	mux := http.NewServeMux()
	apidocs.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1600),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	var mu sync.Mutex
	var elsewhere, problems []string
	err := chromedp.Listen(browser, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if u := ev.Request.URL; !strings.HasPrefix(u, srv.URL) && !strings.HasPrefix(u, "data:") {
				elsewhere = append(elsewhere, u)
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				problems = append(problems, "console error")
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				problems = append(problems, "browser log: "+ev.Entry.Text)
			}
		}
	})
	if err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	if err := chromedp.Do(browser, chromedp.Navigate(srv.URL+"/docs"), chromedp.WaitVisible(chromedp.CSS(".opblock"))); err != nil {
		t.Fatalf("open /docs in %s: %v", chromium, err)
	}
	operations, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll(".opblock").length`))
	if err != nil {
		t.Fatalf("count the operations: %v", err)
	}
	title, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS(".info .title")))
	if err != nil {
		t.Fatalf("read the title: %v", err)
	}
	want := len(specRoutes(loadSpec(t)))
	if operations != want {
		t.Errorf("the page shows %d operations, want the %d of the document", operations, want)
	}
	if !strings.Contains(title, "TMS") {
		t.Errorf("page title %q does not name TMS", title)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, u := range elsewhere {
		t.Errorf("the page loaded %s, which is not on this server", u)
	}
	for _, p := range problems {
		t.Errorf("the page logged: %s", p)
	}
}
