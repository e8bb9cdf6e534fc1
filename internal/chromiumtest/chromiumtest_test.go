package chromiumtest_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tmsproject/tms/internal/chromiumtest"
)

// TestContextRunsScript opens a page in the browser and runs its script.
func TestContextRunsScript(t *testing.T) {
	browser := chromiumtest.Context(t, 60*time.Second)
	page := `data:text/html,<title>t</title><script>document.title = String(6 * 7)</script>`
	if err := chromedp.Do(browser, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open a page: %v", err)
	}
	title, err := chromedp.Run(browser, chromedp.Title())
	if err != nil {
		t.Fatalf("read the title: %v", err)
	}
	if title != "42" {
		t.Errorf("the page title is %q, want the 42 its script wrote", title)
	}
}
