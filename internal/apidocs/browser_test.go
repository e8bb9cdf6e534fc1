package apidocs_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tmsproject/tms/internal/apidocs"
	"github.com/tmsproject/tms/internal/chromiumtest"
)

// TestDocsPageRendersOffline opens /docs in headless Chromium: Swagger UI
// must show every operation of the document, load nothing from anywhere
// but this server, and log no error (such as a blocked script).
func TestDocsPageRendersOffline(t *testing.T) {
	mux := http.NewServeMux()
	apidocs.Routes(nil)(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close) // a cleanup, not a defer: the browser closes first
	browser := chromiumtest.Context(t, 60*time.Second, chromedp.WindowSize(1280, 1600))

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
		t.Fatalf("listen to the browser: %v", err)
	}
	if err := chromedp.Do(browser, chromedp.Navigate(srv.URL+"/docs"), chromedp.WaitVisible(chromedp.CSS(".opblock"))); err != nil {
		t.Fatalf("open /docs in the browser: %v", err)
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
