package browsertest_test

import (
	"bytes"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/browsertest"
)

// The tests share one Chromium; TestOptionsReachChromium starts one of its own
// (Flags), so both kinds of browser are covered.
func TestMain(m *testing.M) { browsertest.Main(m) }

const formPage = `<!doctype html>
<html lang="en"><head><title>Form</title><link rel="icon" href="data:,"></head><body>
<h1>Sign up</h1>
<form method="post" action="/result">
  <label for="name">Full   name</label> <input id="name" name="name">
  <label>Email <input name="email" type="email"></label>
  <input id="phone" name="phone" placeholder="Phone">
  <label for="missing">Orphan</label>
  <button type="submit" name="action" value="send">Send</button>
</form>
<a id="next" href="/slow">Next page</a>
<p>Key presses in the name: <output id="keys">0</output></p>
<script>
let n = 0;
document.getElementById('name').addEventListener('keydown', () => { document.getElementById('keys').textContent = ++n; });
</script>
</body></html>`

const focusPage = `<!doctype html>
<html lang="en"><head><title>Focus</title><link rel="icon" href="data:,"></head><body>
<input id="first" name="first" aria-label="First">
<input type="hidden" name="secret">
<a id="help" href="#help">Help</a>
<span>not focusable</span>
<button id="go">Go</button>
<textarea id="notes" name="notes"></textarea>
</body></html>`

const consolePage = `<!doctype html>
<html lang="en"><head><title>Console</title><link rel="icon" href="data:,"></head><body>
<p>Noisy</p>
<img src="/missing.png" alt="">
<script>console.error('bad thing', 42);</script>
<script>throw new Error('boom');</script>
</body></html>`

// testSite is a small site with the pages the harness is proved on.
func testSite(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, body)
		}
	}
	mux.HandleFunc("GET /form", page(formPage))
	mux.HandleFunc("GET /focus", page(focusPage))
	mux.HandleFunc("GET /console", page(consolePage))
	mux.HandleFunc("GET /csp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "script-src 'none'")
		page(`<!doctype html><title>CSP</title><link rel="icon" href="data:,"><p>Strict</p><script>document.title = 'ran';</script>`)(w, r)
	})
	mux.HandleFunc("POST /result", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Result</title><link rel="icon" href="data:,"><h1>Result</h1><p id="echo">name=%s email=%s phone=%s action=%s</p>`,
			html.EscapeString(r.PostForm.Get("name")), html.EscapeString(r.PostForm.Get("email")),
			html.EscapeString(r.PostForm.Get("phone")), html.EscapeString(r.PostForm.Get("action")))
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond) // long enough that reading the old page would be caught
		page(`<!doctype html><title>Slow</title><link rel="icon" href="data:,"><h1>Slow page</h1>`)(w, r)
	})
	mux.HandleFunc("GET /cookie", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "abc123", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		page(`<!doctype html><title>Cookie</title><link rel="icon" href="data:,"><h1>Cookie set</h1>`)(w, r)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `<!doctype html><title>Missing</title><link rel="icon" href="data:,"><h1>Not here</h1>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// newPage opens a tab in a new browser (a browser context of the shared
// Chromium).
func newPage(t *testing.T) *browsertest.Page {
	t.Helper()
	return browsertest.New(t).Page(t)
}

// openPage serves testSite and opens path on it in a new browser.
func openPage(t *testing.T, path string) (*httptest.Server, *browsertest.Page) {
	t.Helper()
	srv := testSite(t)
	p := newPage(t)
	p.Go(srv.URL + path)
	return srv, p
}

func evalString(p *browsertest.Page, js string) string {
	var s string
	p.Eval(js, &s)
	return s
}

func TestFillTypesWithRealKeysAndClearsFirst(t *testing.T) {
	_, p := openPage(t, "/form")

	p.Fill("#name", "Ada")
	p.FillLabel("Full name", "Grace Hopper") // the label's whitespace is collapsed
	if got := evalString(p, `document.getElementById('name').value`); got != "Grace Hopper" {
		t.Errorf("name holds %q, want %q (the old text cleared)", got, "Grace Hopper")
	}
	// 3 keys for Ada, one Backspace to clear it, 12 for Grace Hopper: the
	// page saw real key events, not a value set from script.
	if got := p.Text("#keys"); got != "16" {
		t.Errorf("the page counted %s keydown events in the name, want 16", got)
	}
	p.FillLabel("Email", "grace@example.com") // a label wrapping its input
	if got := evalString(p, `document.querySelector('[name=email]').value`); got != "grace@example.com" {
		t.Errorf("email holds %q", got)
	}
}

func TestClickTextSubmitsTheFormAndWaitsForTheResult(t *testing.T) {
	srv, p := openPage(t, "/form")
	p.Fill("#name", "Grace")
	p.FillLabel("Email", "grace@example.com")
	p.ClickText("Send")
	// No explicit wait: ClickText waited for the POST's page.
	if got, want := p.Text("#echo"), "name=Grace email=grace@example.com phone= action=send"; got != want {
		t.Errorf("echo = %q, want %q", got, want)
	}
	if got := p.URL(); got != srv.URL+"/result" {
		t.Errorf("URL = %q, want the result page", got)
	}
	if p.Status() != http.StatusOK {
		t.Errorf("Status = %d, want 200", p.Status())
	}
}

func TestSubmitAndEnterSubmitTheForm(t *testing.T) {
	srv := testSite(t)
	p := newPage(t)

	p.Go(srv.URL + "/form")
	p.Fill("#phone", "0123")
	p.Submit("#phone") // the input's form, as requestSubmit() without a button
	if got, want := p.Text("#echo"), "name= email= phone=0123 action="; got != want {
		t.Errorf("after Submit: echo = %q, want %q", got, want)
	}

	p.Go(srv.URL + "/form")
	p.Fill("#name", "Enter Key")
	p.Press("Enter") // implicit submission through the default button
	if got, want := p.Text("#echo"), "name=Enter Key email= phone= action=send"; got != want {
		t.Errorf("after Enter: echo = %q, want %q", got, want)
	}
}

func TestClickWaitsForTheNavigationItStarts(t *testing.T) {
	_, p := openPage(t, "/form")
	p.Click("#next") // /slow answers after 300 ms
	if got := p.Text("h1"); got != "Slow page" {
		t.Errorf("h1 right after the click = %q, want the new page's %q", got, "Slow page")
	}
}

func TestWaitVisibleAndWaitText(t *testing.T) {
	_, p := openPage(t, "/form")
	p.Eval(`setTimeout(() => {
	  const d = document.createElement('div'); d.id = 'late'; d.textContent = 'Arrived late';
	  document.body.append(d);
	}, 300)`, nil)
	p.WaitText("Arrived late")
	p.WaitVisible("#late")
	if body := p.Body(); !strings.Contains(body, "Sign up") || !strings.Contains(body, "Arrived late") {
		t.Errorf("Body() = %q", body)
	}
}

func TestFillLabelFailsForAnInputWithoutALabel(t *testing.T) {
	srv, p := openPage(t, "/form")

	// #phone has only a placeholder: no accessible label.
	msg := expectFailure(t, func(tb testing.TB) {
		p.WithT(tb).WithTimeout(300*time.Millisecond).FillLabel("Phone", "0123")
	})
	mustContain(t, "the failure", msg,
		`FillLabel("Phone")`,
		`no <label> has the text "Phone"`,
		`labels on the page: "Full name", "Email", "Orphan"`,
		srv.URL+"/form", "Sign up")
	if got := evalString(p, `document.getElementById('phone').value`); got != "" {
		t.Errorf("the unlabelled input was typed into: %q", got)
	}

	// A label whose for= names nothing labels nothing.
	msg = expectFailure(t, func(tb testing.TB) {
		p.WithT(tb).WithTimeout(300*time.Millisecond).FillLabel("Orphan", "x")
	})
	mustContain(t, "the failure", msg, `the <label> "Orphan" is not associated with a form control`, `for="missing"`)
}

func TestFailureNamesTheSelectorThePageAndItsText(t *testing.T) {
	srv, p := openPage(t, "/form")
	msg := expectFailure(t, func(tb testing.TB) {
		p.WithT(tb).WithTimeout(300 * time.Millisecond).Click("#nope")
	})
	mustContain(t, "the failure", msg,
		`Click("#nope")`, "no element matches it", "gave up after 300ms",
		"page: "+srv.URL+"/form", "visible text:", "Sign up")

	msg = expectFailure(t, func(tb testing.TB) {
		p.WithT(tb).WithTimeout(300 * time.Millisecond).ClickText("Cancel")
	})
	mustContain(t, "the failure", msg, `ClickText("Cancel")`,
		`no visible button or link has the text "Cancel"`, `"Send", "Next page"`)
}

func TestStatusIsTheLastDocumentsStatus(t *testing.T) {
	srv, p := openPage(t, "/no-such-page")
	if got := p.Status(); got != http.StatusNotFound {
		t.Errorf("Status after a missing page = %d, want 404", got)
	}
	mustContain(t, "the 404 page", p.Body(), "Not here")
	p.Go(srv.URL + "/form")
	if got := p.Status(); got != http.StatusOK {
		t.Errorf("Status after the form = %d, want 200", got)
	}
}

func TestTabMovesFocusInDOMOrder(t *testing.T) {
	_, p := openPage(t, "/focus")
	if got := p.FocusedDescription(); got != "body" {
		t.Fatalf("focus before any key = %q, want body", got)
	}
	// The hidden input and the span are skipped.
	for _, want := range []string{`input#first[name=first] "First"`, `a#help "Help"`, `button#go "Go"`, `textarea#notes[name=notes]`} {
		p.Press("Tab")
		if got := p.FocusedDescription(); got != want {
			t.Fatalf("after Tab focus is on %q, want %q", got, want)
		}
	}
	p.Press("Shift+Tab")
	if got := p.FocusedDescription(); got != `button#go "Go"` {
		t.Errorf("after Shift+Tab focus is on %q, want the button", got)
	}
}

func TestConsoleErrorsAreCollected(t *testing.T) {
	srv, p := openPage(t, "/form")
	p.NoConsoleErrors() // a clean page passes

	p.Go(srv.URL + "/console")
	errs := strings.Join(p.ConsoleErrors(), "\n")
	on := srv.URL + "/console: "
	mustContain(t, "the console errors", errs,
		on+"console.error: bad thing 42",
		on+"exception: Uncaught Error: boom",
		on+"network: Failed to load resource: the server responded with a status of 404", // the image
	)
	p.Go(srv.URL + "/form") // the errors of earlier pages stay
	msg := expectFailure(t, func(tb testing.TB) { p.WithT(tb).NoConsoleErrors() })
	mustContain(t, "the failure", msg, "3 console error(s)", on+"exception: Uncaught Error: boom")

	q := newPage(t)
	q.Go(srv.URL + "/csp")
	mustContain(t, "the console errors", strings.Join(q.ConsoleErrors(), "\n"), "Content Security Policy")
}

func TestCookiesAndScreenshot(t *testing.T) {
	artifacts := t.TempDir()
	t.Setenv(browsertest.ArtifactsEnv, artifacts)
	_, p := openPage(t, "/cookie")

	var sid bool
	for _, c := range p.Cookies() {
		if c.Name == "sid" {
			sid = true
			if c.Value != "abc123" || !c.HTTPOnly {
				t.Errorf("cookie sid = %q, HttpOnly %t", c.Value, c.HTTPOnly)
			}
		}
	}
	if !sid {
		t.Errorf("no sid cookie among %d", len(p.Cookies()))
	}

	path := p.Screenshot("after cookie")
	if want := filepath.Join(artifacts, t.Name(), "after_cookie.png"); path != want {
		t.Errorf("screenshot at %s, want %s", path, want)
	}
	png, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("the screenshot is not a PNG (err %v)", err)
	}
}

func TestAFailedTestLeavesAScreenshotAndTheHTML(t *testing.T) {
	artifacts := t.TempDir()
	t.Setenv(browsertest.ArtifactsEnv, artifacts)
	srv := testSite(t)
	rec := newRecorder(t)
	p := browsertest.New(t).Page(rec) // the page's cleanup belongs to rec
	p.Go(srv.URL + "/form")
	rec.Errorf("pretend the test failed")
	rec.runCleanups()

	dir := filepath.Join(artifacts, t.Name())
	png, err := os.ReadFile(filepath.Join(dir, "page1-failure.png"))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("no failure screenshot (err %v)", err)
	}
	htmlFile, err := os.ReadFile(filepath.Join(dir, "page1-failure.html"))
	if err != nil {
		t.Fatalf("no failure HTML: %v", err)
	}
	mustContain(t, "the failure HTML", string(htmlFile), "<!DOCTYPE html>", "<h1>Sign up</h1>")
	mustContain(t, "the log", strings.Join(rec.logs, "\n"), filepath.Join(dir, "page1-failure.png"), filepath.Join(dir, "page1-failure.html"))
}

func TestSharedBrowsersDoNotShareCookies(t *testing.T) {
	srv := testSite(t)
	first, second := newPage(t), newPage(t)
	first.Go(srv.URL + "/cookie")
	second.Go(srv.URL + "/form")
	if got := second.Cookies(); len(got) != 0 {
		t.Errorf("the second browser sees %d cookie(s) of the first, e.g. %s", len(got), got[0].Name)
	}
	if got := first.Cookies(); len(got) != 1 {
		t.Errorf("the first browser has %d cookies, want 1", len(got))
	}
}

func TestOptionsReachChromium(t *testing.T) {
	srv := testSite(t)
	type view struct {
		W, H int
		UA   string
	}
	read := func(p *browsertest.Page) view {
		p.Go(srv.URL + "/form")
		var v view
		p.Eval(`({W: innerWidth, H: innerHeight, UA: navigator.userAgent})`, &v)
		return v
	}

	// Flags give the browser a Chromium of its own.
	own := browsertest.New(t, browsertest.WindowSize(800, 600), browsertest.Flags("--user-agent=latchkey-browsertest"))
	for i := range 2 { // the first tab and a second one
		if got, want := read(own.Page(t)), (view{800, 600, "latchkey-browsertest"}); got != want {
			t.Errorf("own Chromium, tab %d: %+v, want %+v", i+1, got, want)
		}
	}
	// In the shared Chromium the viewport is emulated per tab.
	shared := browsertest.New(t, browsertest.WindowSize(800, 600))
	if got := read(shared.Page(t)); got.W != 800 || got.H != 600 || got.UA == "latchkey-browsertest" {
		t.Errorf("shared Chromium: %+v, want 800×600 and the default user agent", got)
	}
}

func TestVirtualAuthenticatorRegistersAPasskey(t *testing.T) {
	srv := testSite(t)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p := newPage(t)
	p.Go("http://corp.localhost:" + port + "/form") // *.localhost is a secure context
	a := p.VirtualAuthenticator(true)
	if a.ID() == "" {
		t.Fatal("no authenticator id")
	}
	if n := len(a.Credentials()); n != 0 {
		t.Fatalf("a new authenticator holds %d credentials", n)
	}
	var uvpa bool
	p.Eval(`PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable()`, &uvpa)
	if !uvpa {
		t.Error("no user-verifying platform authenticator: the virtual one is not in effect")
	}

	create := `navigator.credentials.create({publicKey: {
	  challenge: new Uint8Array(32), rp: {id: 'corp.localhost', name: 'Corp'},
	  user: {id: new Uint8Array([1, 2, 3, 4]), name: 'alice', displayName: 'Alice'},
	  pubKeyCredParams: [{type: 'public-key', alg: -7}],
	  authenticatorSelection: {residentKey: 'required', userVerification: 'required'},
	}}).then(c => c.type, e => e.name)`
	if got := evalString(p, create); got != "public-key" {
		t.Fatalf("navigator.credentials.create = %q, want a public-key credential", got)
	}
	creds := a.Credentials()
	if len(creds) != 1 || creds[0].RpID != "corp.localhost" || !creds[0].IsResidentCredential {
		t.Fatalf("credentials after create: %+v", creds)
	}

	a.SetUserVerified(false)
	if got := evalString(p, create); got != "NotAllowedError" {
		t.Errorf("create with failing user verification = %q, want NotAllowedError", got)
	}
}
