package portal

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestR38TenantHeaderIgnored: X-Tenant-ID (or a tenant parameter) naming
// another tenant never changes the tenant: the Host decides.
func TestR38TenantHeaderIgnored(t *testing.T) {
	ta := newTestApp(t)
	resp, body := ta.do(t, get(acmeHost, "/signin?tenant="+string(globexID)+"&tenant_id=globex",
		"X-Tenant-ID", string(globexID), "X-Tenant", "globex"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	mustContain(t, "acme page", body, "Acme Corp")
	mustNotContain(t, "acme page", body, "Globex")
}

// TestR9ForwardedHeadersFromUntrustedPeer: with no trusted proxy, forwarded
// host headers naming globex do not move an acme request to globex, and the
// canonical link is built from acme's configuration.
func TestR9ForwardedHeadersFromUntrustedPeer(t *testing.T) {
	ta := newTestApp(t) // the test peer (0.0.0.0) is not trusted
	for _, h := range [][]string{
		{"X-Forwarded-Host", globexHost},
		{"X-Host", globexHost},
		{"X-Original-Host", globexHost},
		{"Forwarded", "host=" + globexHost + ";proto=https"},
	} {
		resp, body := ta.do(t, get(acmeHost, "/signin", h...))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", h[0], resp.StatusCode)
		}
		mustContain(t, h[0], body, "Acme Corp", `<link rel="canonical" href="http://acme.localhost/signin">`)
		mustNotContain(t, h[0], body, "Globex")
	}
}

// TestR9TrustedProxyForwardedHost: from a trusted proxy, X-Forwarded-Host
// chooses the tenant; X-Host still does not.
func TestR9TrustedProxyForwardedHost(t *testing.T) {
	ta := newTestApp(t, trustingTestPeer)
	_, body := ta.do(t, get("internal-lb:8080", "/signin", "X-Forwarded-Host", globexHost))
	mustContain(t, "forwarded to globex", body, "Globex Corporation", `href="http://globex.localhost/signin"`)
	mustNotContain(t, "forwarded to globex", body, "Acme")

	resp, _ := ta.do(t, get("internal-lb:8080", "/signin", "X-Host", globexHost))
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("X-Host from a trusted proxy: status %d, want 404 (the Host header internal-lb decides)", resp.StatusCode)
	}
}

// TestUnknownHost: an unknown or invalid host gets a tenant-neutral 404 with
// no side effects: no cookie, no tenant content, nothing written, and
// nothing logged above debug level (R9, R38).
func TestUnknownHost(t *testing.T) {
	ta := newTestApp(t)
	for _, host := range []string{"nobody.localhost", "acme.localhost.evil.example", "bad_host.localhost", "acme.localhost@globex.localhost", "[::1]"} {
		t.Run(host, func(t *testing.T) {
			ta.logs.Reset()
			for _, target := range []string{"/signin?lang=de", "/reset?username=jane", "/theme.css", "/branding/logo", "/"} {
				req := get(host, target, "Accept-Language", "de", "X-Tenant-ID", string(acmeID))
				resp, body := ta.do(t, req)
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("%s: status %d, want 404", target, resp.StatusCode)
				}
				if c := resp.Header.Values("Set-Cookie"); len(c) != 0 {
					t.Errorf("%s: Set-Cookie %q", target, c)
				}
				mustNotContain(t, target, body, "Acme", "acme", "Globex", "globex", "theme.css", "jane")
				mustContain(t, target, body, "Seite nicht gefunden", resp.Header.Get("X-Request-ID"))
			}
			if _, writes := ta.resolver.counts(); writes != 0 {
				t.Errorf("resolver saw %d writes", writes)
			}
			if logs := ta.logs.String(); logs != "" {
				t.Errorf("logged above debug level:\n%s", logs)
			}
		})
	}
	// The invalid ones never reached the resolver.
	for _, h := range ta.resolver.lookups {
		if strings.ContainsAny(h, "_@") {
			t.Errorf("invalid host %q was looked up", h)
		}
	}
}

// TestUnknownHostIsLoggedAtDebug: the refusal is visible when debugging.
func TestUnknownHostIsLoggedAtDebug(t *testing.T) {
	ta := newTestApp(t)
	ta.deps.Logger = slog.New(slog.NewTextHandler(ta.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	app, err := New(Config{}, ta.deps)
	if err != nil {
		t.Fatal(err)
	}
	ta.app = app
	ta.do(t, get("nobody.localhost", "/signin"))
	mustContain(t, "debug log", ta.logs.String(), "level=DEBUG", "no tenant for request", "nobody.localhost", "route=unknown_host")
}

func TestResolverFailureIs503(t *testing.T) {
	ta := newTestApp(t)
	ta.resolver.fail = errStoreDown
	resp, body := ta.do(t, get(acmeHost, "/signin"))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	mustNotContain(t, "body", body, "store down")
	mustContain(t, "log", ta.logs.String(), "store down", "level=ERROR")
}
