package browsertest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/scripts/testsvc"
)

// Defaults of the options.
const (
	DefaultTimeout = 10 * time.Second
	DefaultWidth   = 1280
	DefaultHeight  = 900

	// The mobile preset: a 390×844 phone at 3× with touch and a mobile user
	// agent (the same Blink engine, so the page renders as Chrome on Android).
	mobileWidth     = 390
	mobileHeight    = 844
	mobileScale     = 3
	mobileUserAgent = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36"

	// startTimeout bounds starting Chromium and opening a tab: a cold start
	// takes about a second here, so this only catches a browser that hangs.
	startTimeout = 60 * time.Second
	closeTimeout = 10 * time.Second
)

// chromiumKey names the Chromium binary in the test environment.
const chromiumKey = "LATCHKEY_TEST_CHROMIUM"

// baseFlags make Chromium quiet and self-contained: headless, no sandbox
// (tests run as root), no GPU, and nothing that phones home. Without the
// background-networking flags Chromium's own requests fail on a machine
// without internet, and connections are refused many at a time.
var baseFlags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("headless", "new"),
	chromedp.NoSandbox,
	chromedp.Flag("disable-gpu", true),
	chromedp.Flag("disable-quic", true),
	chromedp.Flag("no-first-run", true),
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("disable-default-apps", true),
	chromedp.Flag("disable-extensions", true),
	chromedp.Flag("password-store", "basic"),
	chromedp.Flag("use-mock-keychain", true),
	// Tenant portals are addressed as <tenant>.localhost; never ask DNS.
	chromedp.Flag("host-resolver-rules", "MAP *.localhost 127.0.0.1"),
	chromedp.WindowSize(DefaultWidth, DefaultHeight),
}

// execOptions are chromedp's defaults with baseFlags on top.
func execOptions(path string) []chromedp.ExecAllocatorOption {
	opts := slices.Clone(chromedp.DefaultExecAllocatorOptions[:])
	opts = append(opts, baseFlags...)
	return append(opts, chromedp.ExecPath(path))
}

// Option configures New.
type Option func(*config)

type config struct {
	width, height int
	scale         float64
	mobile        bool
	userAgent     string
	flags         []string
	timeout       time.Duration
}

// WindowSize sets the viewport of every page (default 1280×900).
func WindowSize(width, height int) Option {
	return func(c *config) { c.width, c.height = width, height }
}

// Mobile is the phone preset: a 390×844 viewport at 3×, touch, and a mobile
// user agent, for checks of the mobile layout.
func Mobile() Option {
	return func(c *config) {
		c.width, c.height, c.scale = mobileWidth, mobileHeight, mobileScale
		c.mobile, c.userAgent = true, mobileUserAgent
	}
}

// Flags adds Chromium command-line flags ("--lang=de", "--force-dark-mode").
// A browser with flags always gets a Chromium of its own.
func Flags(flags ...string) Option {
	return func(c *config) { c.flags = append(c.flags, flags...) }
}

// Timeout sets how long every wait of the browser's pages lasts (default
// 10 s); Page.WithTimeout changes it for one page.
func Timeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// Browser is one test's browser: a headless Chromium of its own, or, when the
// package's TestMain calls Main, a fresh browser context (its own cookies,
// storage and cache) in the Chromium its tests share. It is closed when the
// test ends.
type Browser struct {
	cfg  config
	root context.Context // a chromedp context whose tab the first Page takes

	mu       sync.Mutex
	rootUsed bool
	pages    int
}

// New opens a browser for the test t, or fails (under CI) or skips the test
// when LATCHKEY_TEST_CHROMIUM is not set. The browser is closed in
// t.Cleanup.
func New(t testing.TB, opts ...Option) *Browser {
	t.Helper()
	path := testsvc.Require(t, chromiumKey)
	cfg := config{width: DefaultWidth, height: DefaultHeight, scale: 1, timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.width <= 0 || cfg.height <= 0 || cfg.timeout <= 0 {
		t.Fatalf("browsertest.New: window %d×%d and timeout %v must be positive", cfg.width, cfg.height, cfg.timeout)
	}
	b := &Browser{cfg: cfg}
	root, err := sharedChromium(path, cfg)
	if err != nil {
		t.Fatalf("browsertest.New: %v", err)
	}
	if root != nil {
		b.openContext(t, root)
	} else {
		b.start(t, path)
	}
	return b
}

// openContext opens the browser as a new browser context of the shared
// Chromium.
func (b *Browser) openContext(t testing.TB, shared context.Context) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(shared, chromedp.WithNewBrowserContext())
	if err := startWithin(ctx, cancel); err != nil {
		t.Fatalf("browsertest.New: open a browser context in the shared Chromium: %v", err)
	}
	b.root = ctx
	t.Cleanup(cancel) // closes its tabs and disposes of the browser context
}

// start starts a Chromium of the browser's own, with a fresh profile.
func (b *Browser) start(t testing.TB, path string) {
	t.Helper()
	allocOpts := append(execOptions(path), chromedp.UserDataDir(t.TempDir()))
	for _, f := range b.cfg.flags {
		name, value, hasValue := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if name == "" {
			t.Fatalf("browsertest.New: flag %q has no name", f)
		}
		if hasValue {
			allocOpts = append(allocOpts, chromedp.Flag(name, value))
		} else {
			allocOpts = append(allocOpts, chromedp.Flag(name, true))
		}
	}
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	if err := startWithin(ctx, cancel); err != nil {
		allocCancel()
		t.Fatalf("browsertest.New: start %s: %v", path, err)
	}
	b.root = ctx
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(ctx, closeTimeout)
		defer ccancel()
		_ = chromedp.Cancel(cctx) // a graceful close; allocCancel kills what is left
		cancel()
		allocCancel()
	})
}

// startWithin runs the first (untimed: it binds the browser or tab to ctx)
// action on ctx, giving up after startTimeout.
func startWithin(ctx context.Context, cancel context.CancelFunc) error {
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			cancel()
		}
		return err
	case <-time.After(startTimeout):
		cancel()
		<-done
		return fmt.Errorf("no answer within %v", startTimeout)
	}
}

// The Chromium that the tests of a package share when TestMain calls Main:
// started by the first New, stopped by Main after the tests.
var shared struct {
	mu          sync.Mutex
	main        bool // Main is running the tests
	ctx         context.Context
	cancel      context.CancelFunc
	allocCancel context.CancelFunc
}

// sharedChromium is the shared Chromium's context, or nil when the browser
// needs one of its own: Main is not running, or cfg has flags.
func sharedChromium(path string, cfg config) (context.Context, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.main || len(cfg.flags) > 0 {
		return nil, nil
	}
	if shared.ctx != nil && shared.ctx.Err() == nil {
		return shared.ctx, nil
	}
	stopShared() // it died: start a new one
	// chromedp makes (and removes) the profile directory itself here: no
	// single test owns this process.
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), execOptions(path)...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	if err := startWithin(ctx, cancel); err != nil {
		allocCancel()
		return nil, fmt.Errorf("start the shared %s: %w", path, err)
	}
	shared.ctx, shared.cancel, shared.allocCancel = ctx, cancel, allocCancel
	return ctx, nil
}

// stopShared closes the shared Chromium, if any. shared.mu must be held.
func stopShared() {
	if shared.ctx == nil {
		return
	}
	cctx, ccancel := context.WithTimeout(shared.ctx, closeTimeout)
	_ = chromedp.Cancel(cctx)
	ccancel()
	shared.cancel()
	shared.allocCancel()
	shared.ctx, shared.cancel, shared.allocCancel = nil, nil, nil
}

// Main runs the package's tests with one Chromium shared by all their
// browsers, and stops it afterwards. Each New then costs a browser context (a
// few tenths of a second) instead of a process start and a first page load
// (1.3 s or more):
//
//	func TestMain(m *testing.M) { browsertest.Main(m) }
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.main = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	stopShared()
	shared.mu.Unlock()
	os.Exit(code)
}
