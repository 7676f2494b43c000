// Package browsertest drives Debian's real headless Chromium (through
// chromedp) for Latchkey's browser tests.
//
//	func TestMain(m *testing.M) { browsertest.Main(m) } // optional: share one Chromium
//
//	func TestForgotPasswordAsksForTheUsername(t *testing.T) {
//		p := browsertest.New(t).Page(t)
//		p.Go("http://acme.localhost:" + port + "/signin")
//		p.ClickText("Forgot my password")
//		p.FillLabel("Username", "jsmith") // also checks that the input is labelled
//		p.Press("Enter")                  // submits and waits for the next page
//		if p.Status() != 200 { … }
//		p.NoConsoleErrors()
//	}
//
// New finds Chromium with testsvc.Require("LATCHKEY_TEST_CHROMIUM") (set by
// scripts/testenv up): without it the test is skipped, and under CI=true it
// fails. When the package's TestMain calls Main, every New is a fresh browser
// context (own cookies, storage and cache) in one Chromium shared by the
// package's tests, a few tenths of a second; otherwise, or with Flags, New
// starts a Chromium of its own with a fresh profile in t.TempDir(), which with
// its first page takes 1.3 s or more. Either closes in t.Cleanup. Pages get a 1280×900 viewport;
// Mobile() is a 390×844 phone with touch and a mobile user agent.
//
// Page methods fail the test with the selector or URL, the page's URL, its
// visible text and its console errors; every wait gives up after 10 s
// (Timeout, Page.WithTimeout). Fill and Press send real key events, Click a
// real mouse click, and Click, ClickText, Submit and Press wait for the
// navigation they start. Status is the HTTP status of the last document, and
// ConsoleErrors collects exceptions, console.error and browser errors such as
// CSP violations.
//
// Chromium runs with --headless=new, --no-sandbox (the tests run as root),
// --disable-gpu, and with everything that would reach the internet turned off
// (--disable-background-networking, --disable-component-update,
// --disable-sync, --disable-quic, …): on a machine without internet those
// requests otherwise fail many at a time. --host-resolver-rules maps
// *.localhost to 127.0.0.1, so a tenant portal is opened as
// http://corp.localhost:<port>/ without DNS.
//
// Screenshot writes PNGs under $LATCHKEY_TEST_ARTIFACTS/<test>/ when that is
// set, else in a temporary directory of the test. When a test fails, each of
// its pages leaves a full-page screenshot and its HTML there (or in a kept
// temporary directory) and the test log says where.
package browsertest
