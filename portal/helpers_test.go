package portal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/tenants"
)

const (
	acmeHost   = "acme.localhost"
	globexHost = "globex.localhost"
	acmeID     = tenants.ID("0b9c3c1e-0d3a-4f51-9f53-5f5c2a0a0001")
	globexID   = tenants.ID("0b9c3c1e-0d3a-4f51-9f53-5f5c2a0a0002")
	acmeRed    = "#b91c1c"
	globexBlue = "#0e7490"
)

// fakeResolver knows two tenants. It counts lookups and writes: the portal
// skeleton must never cause a write, least of all for an unknown host.
type fakeResolver struct {
	mu      sync.Mutex
	byHost  map[string]*tenants.Tenant
	lookups []string
	writes  int
	fail    error
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{byHost: map[string]*tenants.Tenant{
		acmeHost: {
			ID: acmeID, Slug: "acme", Name: "Acme Corp", ResourceVersion: 3,
			Branding: tenants.Branding{
				PrimaryColor: acmeRed, AccentColor: "#1d4ed8",
				Logo: testPNG(), LogoContentType: "image/png",
				SupportText: "Call the Acme help desk on 1234.",
			},
		},
		globexHost: {
			ID: globexID, Slug: "globex", Name: "Globex Inc", ResourceVersion: 7,
			DefaultLocale: "de",
			Branding: tenants.Branding{
				DisplayName:  "Globex Corporation",
				PrimaryColor: globexBlue, AccentColor: "not-a-colour",
				SupportText: "Globex IT: extension 42.",
			},
		},
	}}
}

func (f *fakeResolver) Resolve(_ context.Context, host string) (*tenants.Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups = append(f.lookups, host)
	if f.fail != nil {
		return nil, f.fail
	}
	t, ok := f.byHost[host]
	if !ok {
		return nil, tenants.ErrUnknownHost
	}
	cp := *t
	return &cp, nil
}

func (f *fakeResolver) counts() (lookups, writes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.lookups), f.writes
}

// testPNG is a small real PNG (the browser test shows it).
func testPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := 0; x < 8; x++ {
		for y := 0; y < 8; y++ {
			img.Set(x, y, color.RGBA{0xb9, 0x1c, 0x1c, 0xff})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// testApp is a portal with its fakes and captured logs.
type testApp struct {
	app      *fiber.App
	wireAddr string // set by the first doWire
	resolver *fakeResolver
	registry *prometheus.Registry
	logs     *syncBuffer
	ready    error
	deps     Deps
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

type appOption func(*Config)

func withTLS(c *Config) { c.TLS = true }

// trustingTestPeer trusts the address app.Test connections come from (0.0.0.0).
func trustingTestPeer(c *Config) {
	p, err := tenants.ParseTrustedProxies([]string{"0.0.0.0"})
	if err != nil {
		panic(err)
	}
	c.TrustedProxies = p
}

func newTestApp(t testing.TB, opts ...appOption) *testApp {
	t.Helper()
	ta := &testApp{resolver: newFakeResolver(), registry: prometheus.NewRegistry(), logs: &syncBuffer{}}
	cfg := Config{
		Links:   tenants.LinkBuilder{PlatformDomain: "localhost", Scheme: "http"},
		Version: "test",
	}
	for _, o := range opts {
		o(&cfg)
	}
	ta.deps = Deps{
		Resolver: ta.resolver,
		Ready:    func(context.Context) error { return ta.ready },
		Logger:   slog.New(slog.NewTextHandler(ta.logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Registry: ta.registry,
	}
	app, err := New(cfg, ta.deps)
	if err != nil {
		t.Fatal(err)
	}
	ta.app = app
	return ta
}

// do sends a request and returns the response and its body.
func (ta *testApp) do(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := ta.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// doWire sends a request over a real loopback connection to the app served
// on a listener (started on first use, after the test added its routes). It is
// for what app.Test cannot show: fasthttp answers an oversized body with a 413
// and then ServeConn returns ErrBodyTooLarge, which app.Test reports as an
// error instead of the response. The Host is written exactly as given.
func (ta *testApp) doWire(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	if ta.wireAddr == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = ta.app.Listener(ln) }()
		t.Cleanup(func() { _ = ta.app.Shutdown() })
		ta.wireAddr = ln.Addr().String()
	}
	conn, err := net.Dial("tcp", ta.wireAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var body []byte
	if req.Body != nil {
		if body, err = io.ReadAll(req.Body); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Length: %d\r\n", req.Method, req.URL.RequestURI(), req.Host, len(body))
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	b.Write(body)
	if _, err := conn.Write(b.Bytes()); err != nil {
		t.Fatalf("%s %s: write: %v", req.Method, req.URL, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(rb)
}

func get(host, target string, headers ...string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Host = host
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

func post(host, target, contentType string, body io.Reader) *http.Request {
	req := httptest.NewRequest(http.MethodPost, target, body)
	req.Host = host
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

func mustContain(t testing.TB, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func mustNotContain(t testing.TB, what, s string, bads ...string) {
	t.Helper()
	for _, b := range bads {
		if strings.Contains(s, b) {
			t.Errorf("%s contains %q", what, b)
		}
	}
}

var errStoreDown = errors.New("store down")
