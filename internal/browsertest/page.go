package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Page is one tab. Its methods fail the test (Fatalf) when something does not
// happen within the timeout, naming the selector or URL, the page's URL, its
// visible text and its console errors.
//
// Click, ClickText, Submit and Press wait for the navigation they start (a
// link, a form) to finish loading, so the next call sees the new page.
type Page struct {
	t       testing.TB
	timeout time.Duration
	*tab
}

type tab struct {
	b     *Browser
	ctx   context.Context
	n     int // the tab's number in its browser, for artifact names
	state *tabState
}

// Page opens a tab in the browser's viewport. It is closed when t ends; if t
// failed, a screenshot and the HTML of the page are saved first.
func (b *Browser) Page(t testing.TB) *Page {
	t.Helper()
	b.mu.Lock()
	b.pages++
	n, useRoot := b.pages, !b.rootUsed
	b.rootUsed = true
	b.mu.Unlock()

	ctx, cancel := b.root, context.CancelFunc(func() {})
	if !useRoot {
		ctx, cancel = chromedp.NewContext(b.root)
		if err := startWithin(ctx, cancel); err != nil {
			t.Fatalf("browsertest: open a tab: %v", err)
		}
	}
	p := &Page{t: t, timeout: b.cfg.timeout, tab: &tab{b: b, ctx: ctx, n: n}}
	sctx, scancel := context.WithTimeout(ctx, startTimeout)
	defer scancel()
	tree, err := chromedp.Call(sctx, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		cancel()
		t.Fatalf("browsertest: read the new tab's frame: %v", err)
	}
	p.state = newTabState(tree.FrameTree.Frame.ID)
	if err := chromedp.Listen(ctx, p.state.event); err != nil {
		cancel()
		t.Fatalf("browsertest: listen to the tab: %v", err)
	}
	if err := chromedp.Do(sctx, b.emulation()...); err != nil {
		cancel()
		t.Fatalf("browsertest: set the viewport %d×%d: %v", b.cfg.width, b.cfg.height, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			p.saveFailureArtifacts(t)
		}
		cancel()
	})
	return p
}

func (b *Browser) emulation() []chromedp.Action[chromedp.Void] {
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(b.cfg.scale)}
	if b.cfg.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	steps := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(int64(b.cfg.width), int64(b.cfg.height), opts...)}
	if ua := b.cfg.userAgent; ua != "" {
		steps = append(steps, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua})
			return err
		}))
	}
	return steps
}

// WithT returns the page reporting to t instead (a subtest, or a recorder in
// a test of a failure).
func (p *Page) WithT(t testing.TB) *Page {
	cp := *p
	cp.t = t
	return &cp
}

// WithTimeout returns the page with another wait timeout.
func (p *Page) WithTimeout(d time.Duration) *Page {
	cp := *p
	cp.timeout = d
	return &cp
}

// Go navigates to url and waits until it has loaded.
func (p *Page) Go(url string) {
	p.t.Helper()
	ctx, cancel := p.timed()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		p.fail(fmt.Sprintf("Go(%q)", url), err)
	}
	if err := p.state.settled(ctx); err != nil {
		p.fail(fmt.Sprintf("Go(%q): the page did not finish loading", url), err)
	}
}

// URL is the page's current URL.
func (p *Page) URL() string {
	p.t.Helper()
	ctx, cancel := p.timed()
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		p.fail("URL()", err)
	}
	return u
}

// Status is the HTTP status of the main frame's last navigation (0 when it
// got no response).
func (p *Page) Status() int { return p.state.lastStatus() }

// Text is the visible text (innerText) of the first element matching the CSS
// selector sel, once it is visible.
func (p *Page) Text(sel string) string {
	p.t.Helper()
	ctx, cancel := p.timed()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.JSPath(jsQuery(sel)), chromedp.NodeVisible))
	if err != nil {
		p.fail(fmt.Sprintf("Text(%q)", sel), p.whyCSS(sel, err))
	}
	return s
}

// Body is the visible text of the whole page.
func (p *Page) Body() string {
	p.t.Helper()
	ctx, cancel := p.timed()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](bodyText))
	if err != nil {
		p.fail("Body()", err)
	}
	return s
}

const bodyText = `document.body ? document.body.innerText : ''`

// WaitVisible waits until an element matching the CSS selector sel is visible.
func (p *Page) WaitVisible(sel string) {
	p.t.Helper()
	ctx, cancel := p.timed()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.JSPath(jsQuery(sel)))); err != nil {
		p.fail(fmt.Sprintf("WaitVisible(%q)", sel), p.whyCSS(sel, err))
	}
}

// WaitText waits until the page's visible text contains substr.
func (p *Page) WaitText(substr string) {
	p.t.Helper()
	ctx, cancel := p.timed()
	defer cancel()
	expr := "(" + bodyText + ").includes(" + jsString(substr) + ")"
	for {
		// An error is a page between two documents: try again.
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			p.fail(fmt.Sprintf("WaitText(%q)", substr), fmt.Errorf("the page does not show it: %w", ctx.Err()))
		case <-time.After(pollInterval):
		}
	}
}

const pollInterval = 50 * time.Millisecond

// Fill clears the input matching the CSS selector sel and types value into it
// with real key events, as a user would.
func (p *Page) Fill(sel, value string) {
	p.t.Helper()
	p.fill(fmt.Sprintf("Fill(%q)", sel), jsQuery(sel), value, func(err error) error { return p.whyCSS(sel, err) })
}

// FillLabel is Fill for the form control whose <label> has the visible text
// label (whitespace collapsed). It fails when no <label> has that text or the
// label is not associated with a control, so it also checks that the input is
// labelled.
func (p *Page) FillLabel(label, value string) {
	p.t.Helper()
	p.fill(fmt.Sprintf("FillLabel(%q)", label), jsCall("labelled", label), value,
		func(err error) error { return p.why(jsCall("labelledWhy", label), err) })
}

func (p *Page) fill(what, elem, value string, why func(error) error) {
	p.t.Helper()
	ctx, cancel := p.timed()
	defer cancel()
	sel := chromedp.JSPath(elem)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(sel)); err != nil {
		p.fail(what, why(err))
	}
	// Select what the field holds and delete it with a key, then type.
	hasText, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		"(el => { el.focus(); if (el.select) el.select(); return !!el.value; })("+elem+")"))
	if err == nil && hasText {
		err = chromedp.Do(ctx, chromedp.KeyEvent(kb.Backspace))
	}
	if err == nil {
		err = chromedp.Do(ctx, chromedp.SendKeys(sel, value))
	}
	if err != nil {
		p.fail(what, err)
	}
}

// Click clicks (with the mouse, at its centre) the first visible element
// matching the CSS selector sel.
func (p *Page) Click(sel string) {
	p.t.Helper()
	p.act(fmt.Sprintf("Click(%q)", sel), chromedp.Click(chromedp.JSPath(jsQuery(sel)), chromedp.NodeVisible),
		func(err error) error { return p.whyCSS(sel, err) })
}

// ClickText clicks the visible button or link whose text is text; when none
// has exactly that text, the single one whose text contains it.
func (p *Page) ClickText(text string) {
	p.t.Helper()
	p.act(fmt.Sprintf("ClickText(%q)", text), chromedp.Click(chromedp.JSPath(jsCall("clickable", text)), chromedp.NodeVisible),
		func(err error) error { return p.why(jsCall("clickableWhy", text), err) })
}

// Submit submits the form matching the CSS selector sel, or the form of the
// element matching it, as its submit button would (validation, submit
// events, the button's name and value).
func (p *Page) Submit(sel string) {
	p.t.Helper()
	js := `(el => {
	  const form = el.tagName === 'FORM' ? el : el.form;
	  if (!form) throw new Error('it is not a form and belongs to none');
	  const button = el.type === 'submit' && el.form === form ? el : undefined;
	  form.requestSubmit(button);
	})(` + jsQuery(sel) + `)`
	p.act(fmt.Sprintf("Submit(%q)", sel), chromedp.Steps(
		chromedp.WaitReady(chromedp.JSPath(jsQuery(sel))),
		chromedp.Evaluate[chromedp.Void](js),
	), func(err error) error { return p.whyCSS(sel, err) })
}

// Press presses a key on the focused element: "Tab", "Enter", "Escape",
// "ArrowDown", "a", … with optional modifiers: "Shift+Tab", "Control+a".
func (p *Page) Press(key string) {
	p.t.Helper()
	what := fmt.Sprintf("Press(%q)", key)
	r, mods, err := parseKey(key)
	if err != nil {
		p.fail(what, err)
	}
	p.act(what, chromedp.KeyEvent(string(r), chromedp.KeyModifiers(mods...)), nil)
}

// FocusedDescription describes document.activeElement as tag#id[name=…]
// "text", e.g. `input#username[name=username]` or `a "Forgot my password"`.
func (p *Page) FocusedDescription() string {
	p.t.Helper()
	var s string
	p.Eval(jsLib+".describe(document.activeElement)", &s)
	return s
}

// Cookies are the browser's cookies for the page's URL.
func (p *Page) Cookies() []*network.Cookie {
	p.t.Helper()
	ctx, cancel := p.timed()
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		p.fail("Cookies()", err)
	}
	return res.Cookies
}

// Eval evaluates the JavaScript expression js (awaiting a promise) and
// stores its JSON value in out, which may be nil to ignore it.
func (p *Page) Eval(js string, out any) {
	p.t.Helper()
	ctx, cancel := p.timed()
	defer cancel()
	what := fmt.Sprintf("Eval(%q)", abbreviate(js, 80))
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fail(what, err)
	}
	if out == nil {
		return
	}
	if raw == nil {
		p.fail(what, errors.New("it gave undefined (or a value that is not JSON)"))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		p.fail(what, fmt.Errorf("decode %s into %T: %w", abbreviate(string(raw), 200), out, err))
	}
}

// ConsoleErrors are the uncaught exceptions, console.error/assert calls and
// browser errors (failed loads, CSP violations) of every page the tab has
// shown, each prefixed with that page's URL.
func (p *Page) ConsoleErrors() []string { return p.state.consoleProblems() }

// NoConsoleErrors fails the test if the tab has logged an error. It fits
// t.Cleanup(p.NoConsoleErrors) to check a whole test.
func (p *Page) NoConsoleErrors() {
	p.t.Helper()
	if errs := p.ConsoleErrors(); len(errs) > 0 {
		p.t.Fatalf("browsertest: %d console error(s):\n\t%s", len(errs), strings.Join(errs, "\n\t"))
	}
}

// act runs an action that may start a navigation and waits for that to
// finish. why, when not nil, explains a failed lookup.
func (p *Page) act(what string, a chromedp.Action[chromedp.Void], why func(error) error) {
	p.t.Helper()
	ctx, cancel := p.timed()
	defer cancel()
	if err := chromedp.Do(ctx, a); err != nil {
		if why != nil {
			err = why(err)
		}
		p.fail(what, err)
	}
	// A click or a key queues the navigation it causes as a task, so one
	// round trip through the page's task queue makes sure it was requested
	// (the event arrives before the reply). An error here means the page is
	// already between documents, which settled waits out.
	hctx, hcancel := context.WithTimeout(ctx, 2*time.Second)
	_ = chromedp.Do(hctx, chromedp.Evaluate[chromedp.Void](`new Promise(r => setTimeout(r, 0))`, chromedp.EvalAwaitPromise))
	hcancel()
	if err := p.state.settled(ctx); err != nil {
		p.fail(what+": the navigation it started did not finish loading", err)
	}
}

func (p *Page) timed() (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.ctx, p.timeout)
}

// why asks the page why a lookup found nothing (the expression gives a
// sentence, or "" when it now finds the element).
func (p *Page) why(expr string, err error) error {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	if reason, e := chromedp.Run(ctx, chromedp.Evaluate[string](expr)); e == nil && reason != "" {
		return fmt.Errorf("%s: %w", reason, err)
	}
	return err
}

func (p *Page) whyCSS(sel string, err error) error {
	expr := `(sel => {
	  let el;
	  try { el = document.querySelector(sel); } catch (e) { return 'invalid CSS selector: ' + e.message; }
	  if (!el) return 'no element matches it';
	  return 'it matches ' + ` + jsLib + `.describe(el) + ', which is not visible';
	})(` + jsString(sel) + `)`
	return p.why(expr, err)
}

// fail ends the test with what failed and where the page is.
func (p *Page) fail(what string, err error) {
	p.t.Helper()
	reason := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		reason = strings.Replace(reason, context.DeadlineExceeded.Error(), fmt.Sprintf("gave up after %v", p.timeout), 1)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "browsertest: %s: %s\n\tpage: %s", what, reason, p.currentURL())
	if text := p.visibleText(); text != "" {
		fmt.Fprintf(&b, "\n\tvisible text:\n\t\t%s", strings.ReplaceAll(abbreviate(text, 1500), "\n", "\n\t\t"))
	}
	if errs := p.ConsoleErrors(); len(errs) > 0 {
		fmt.Fprintf(&b, "\n\tconsole errors:\n\t\t%s", strings.Join(errs, "\n\t\t"))
	}
	p.t.Fatalf("%s", b.String())
}

// currentURL and visibleText describe the page for a message; they never fail.
func (p *Page) currentURL() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return u
}

func (p *Page) visibleText() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](bodyText))
	return strings.TrimSpace(s)
}

func abbreviate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// parseKey reads "Shift+Tab" as the rune kb encodes Tab with and the Shift
// modifier.
func parseKey(key string) (rune, []chromedp.Modifier, error) {
	name, modNames := key, []string(nil)
	// The last "+" that is not the key itself splits off the modifiers.
	if i := strings.LastIndex(key[:max(len(key)-1, 0)], "+"); i >= 0 {
		name, modNames = key[i+1:], strings.Split(key[:i], "+")
	}
	var mods []chromedp.Modifier
	for _, m := range modNames {
		switch strings.ToLower(m) {
		case "shift":
			mods = append(mods, chromedp.ModifierShift)
		case "control", "ctrl":
			mods = append(mods, chromedp.ModifierCtrl)
		case "alt":
			mods = append(mods, chromedp.ModifierAlt)
		case "meta":
			mods = append(mods, chromedp.ModifierMeta)
		default:
			return 0, nil, fmt.Errorf("unknown modifier %q (Shift, Control, Alt, Meta)", m)
		}
	}
	if r := []rune(name); len(r) == 1 {
		return r[0], mods, nil
	}
	if r, ok := keyRunes()[name]; ok && name != "" {
		return r, mods, nil
	}
	return 0, nil, fmt.Errorf("unknown key %q (a DOM key name such as Tab, Enter, Escape, ArrowDown)", name)
}

// keyRunes maps DOM key names ("Tab", "ArrowDown") to the runes kb encodes
// them with.
// When several runes share a name, the one without Shift whose code is the
// name wins (Enter, not NumpadEnter), then the lowest rune, so the choice does
// not depend on map order.
var keyRunes = sync.OnceValue(func() map[string]rune {
	score := func(k *kb.Key) int {
		s := 0
		if k.Code != k.Key {
			s += 2
		}
		if k.Shift {
			s++
		}
		return s
	}
	m := map[string]rune{}
	for r, k := range kb.Keys {
		old, seen := m[k.Key]
		if !seen || score(k) < score(kb.Keys[old]) || score(k) == score(kb.Keys[old]) && r < old {
			m[k.Key] = r
		}
	}
	m["Space"] = ' '
	return m
})
