package browsertest_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/internal/browsertest"
	"github.com/latchkey/latchkey/portal"
	"github.com/latchkey/latchkey/tenants"
)

// oneTenant resolves acme.localhost to Acme Corp and every other host to
// nothing.
type oneTenant struct{}

func (oneTenant) Resolve(_ context.Context, host string) (*tenants.Tenant, error) {
	if host != "acme.localhost" {
		return nil, tenants.ErrUnknownHost
	}
	return &tenants.Tenant{ID: "0b9c3c1e-0d3a-4f51-9f53-5f5c2a0a0001", Slug: "acme", Name: "Acme Corp"}, nil
}

// startPortal serves the real portal on a loopback port and returns the port.
func startPortal(t *testing.T) string {
	t.Helper()
	app, err := portal.New(portal.Config{}, portal.Deps{
		Resolver: oneTenant{},
		Registry: prometheus.NewRegistry(),
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("portal.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Errorf("portal shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("portal: %v", err)
		}
	})
	_, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func TestPortalSigninLeadsToALabelledUsernameForm(t *testing.T) {
	base := "http://acme.localhost:" + startPortal(t)
	p := browsertest.New(t).Page(t)
	p.Go(base + "/signin")
	if p.Status() != 200 {
		t.Fatalf("/signin answered %d", p.Status())
	}
	if got, want := p.Text("h1"), "Manage your Acme Corp account"; got != want {
		t.Errorf("heading = %q, want %q", got, want)
	}
	p.ClickText("Forgot my password")
	if got := p.URL(); got != base+"/reset" {
		t.Errorf("the link led to %s, want %s/reset", got, base)
	}
	if got, want := p.Text("h1"), "Reset your password"; got != want {
		t.Errorf("heading = %q, want %q", got, want)
	}
	p.FillLabel("Username", "jsmith") // fails if the input lost its <label>
	if got := evalString(p, `document.getElementById('username').value`); got != "jsmith" {
		t.Errorf("username holds %q", got)
	}
	p.NoConsoleErrors() // no CSP violation, no missing asset
}

func TestPortalUnknownHostIs404(t *testing.T) {
	port := startPortal(t)
	p := browsertest.New(t).Page(t)
	p.Go("http://globex.localhost:" + port + "/signin")
	if p.Status() != 404 {
		t.Errorf("an unknown tenant host answered %d, want 404", p.Status())
	}
}

func TestPortalMobileLayoutHasNoHorizontalScroll(t *testing.T) {
	base := "http://acme.localhost:" + startPortal(t)
	p := browsertest.New(t, browsertest.Mobile()).Page(t)
	for _, path := range []string{"/signin", "/reset"} {
		p.Go(base + path)
		var got struct {
			Inner, Scroll int
			Mobile        bool
		}
		p.Eval(`({Inner: innerWidth, Scroll: document.documentElement.scrollWidth, Mobile: navigator.userAgent.includes('Mobile')})`, &got)
		if got.Inner != 390 || !got.Mobile {
			t.Errorf("%s: innerWidth %d, mobile UA %t; the mobile preset is not in effect", path, got.Inner, got.Mobile)
		}
		if got.Scroll > got.Inner {
			t.Errorf("%s scrolls sideways on a phone: scrollWidth %d > innerWidth %d (screenshot %s)", path, got.Scroll, got.Inner, p.Screenshot("mobile"+path))
		}
	}
}
