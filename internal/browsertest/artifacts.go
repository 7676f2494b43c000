package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ArtifactsEnv names the directory that keeps screenshots and failure
// artifacts, one subdirectory per test (CI uploads it).
const ArtifactsEnv = "LATCHKEY_TEST_ARTIFACTS"

// Screenshot saves a full-page PNG named name.png and returns its path: under
// $LATCHKEY_TEST_ARTIFACTS/<test>/ when that is set, else in a temporary
// directory of the test.
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	dir, err := artifactDir(p.t, false)
	if err != nil {
		p.fail(fmt.Sprintf("Screenshot(%q)", name), err)
	}
	ctx, cancel := p.timed()
	defer cancel()
	path := filepath.Join(dir, safeName(name)+".png")
	if err := p.saveScreenshot(ctx, path); err != nil {
		p.fail(fmt.Sprintf("Screenshot(%q)", name), err)
	}
	return path
}

func (p *Page) saveScreenshot(ctx context.Context, path string) error {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Errorf("save the screenshot: %w", err)
	}
	return nil
}

// saveFailureArtifacts keeps a screenshot and the HTML of the page of a
// failed test and logs where. Without $LATCHKEY_TEST_ARTIFACTS they go to a
// directory that outlives the test.
func (p *Page) saveFailureArtifacts(t testing.TB) {
	t.Helper()
	dir, err := artifactDir(t, true)
	if err != nil {
		t.Logf("browsertest: no failure artifacts: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	base := filepath.Join(dir, fmt.Sprintf("page%d-failure", p.n))
	var saved []string
	if err := p.saveScreenshot(ctx, base+".png"); err != nil {
		t.Logf("browsertest: failure screenshot: %v", err)
	} else {
		saved = append(saved, "screenshot "+base+".png")
	}
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`(document.doctype ? new XMLSerializer().serializeToString(document.doctype) + '\n' : '') + document.documentElement.outerHTML`))
	if err == nil {
		err = os.WriteFile(base+".html", []byte(html), 0o644)
	}
	if err != nil {
		t.Logf("browsertest: failure HTML: %v", err)
	} else {
		saved = append(saved, "HTML "+base+".html")
	}
	if len(saved) > 0 {
		t.Logf("browsertest: page %d (%s) when the test failed: %s", p.n, p.currentURL(), strings.Join(saved, ", "))
	}
}

// artifactDir is $LATCHKEY_TEST_ARTIFACTS/<test name>, else a directory of
// the test (removed with it) or, when keep is set, one that stays.
func artifactDir(t testing.TB, keep bool) (string, error) {
	if root := os.Getenv(ArtifactsEnv); root != "" {
		dir := filepath.Join(root, safeName(t.Name()))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("create the artifacts directory: %w", err)
		}
		return dir, nil
	}
	if !keep {
		return t.TempDir(), nil
	}
	dir, err := os.MkdirTemp("", "browsertest-"+safeName(t.Name())+"-")
	if err != nil {
		return "", fmt.Errorf("create a directory for the failure artifacts: %w", err)
	}
	return dir, nil
}

// safeName keeps letters, digits, '.', '-' and '_' of a test or file name.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
	if s == "" || strings.Trim(s, ".") == "" {
		return "unnamed"
	}
	return s
}
