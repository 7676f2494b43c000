package portal

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/portal/middleware"
)

var wantHeaders = map[string]string{
	"Content-Security-Policy":    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"Referrer-Policy":            "no-referrer", // R10
	"X-Content-Type-Options":     "nosniff",
	"X-Frame-Options":            "DENY",
	"Cross-Origin-Opener-Policy": "same-origin",
	"Permissions-Policy":         middleware.PermissionsPolicy,
}

// TestSecurityHeaders: every kind of response carries the security headers;
// HSTS only when the portal is reached over TLS; HTML is never cached.
func TestSecurityHeaders(t *testing.T) {
	big := strings.Repeat("a", DefaultBodyLimit+1)
	for _, tls := range []bool{false, true} {
		var opts []appOption
		if tls {
			opts = append(opts, withTLS)
		}
		ta := newTestApp(t, opts...)
		for name, req := range map[string]*http.Request{
			"signin":       get(acmeHost, "/signin"),
			"identify":     get(acmeHost, "/reset"),
			"unknown host": get("nobody.localhost", "/signin"),
			"missing page": get(acmeHost, "/no/such/page"),
			"healthz":      get(acmeHost, "/healthz"),
			"too large":    post(acmeHost, "/reset", "application/x-www-form-urlencoded", strings.NewReader(big)),
		} {
			send := ta.do
			if name == "too large" {
				send = ta.doWire // see doWire
			}
			resp, _ := send(t, req)
			for h, want := range wantHeaders {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("tls=%v %s: %s = %q, want %q", tls, name, h, got, want)
				}
			}
			hsts := resp.Header.Get("Strict-Transport-Security")
			switch {
			case tls && hsts != "max-age=63072000; includeSubDomains":
				t.Errorf("tls=%v %s: HSTS = %q", tls, name, hsts)
			case !tls && hsts != "":
				t.Errorf("tls=%v %s: HSTS sent without TLS: %q", tls, name, hsts)
			}
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") && resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("tls=%v %s: HTML with Cache-Control %q", tls, name, resp.Header.Get("Cache-Control"))
			}
		}
	}
}

// TestRequestID: every response has a fresh 128-bit hex id; an id the client
// sends is ignored.
func TestRequestID(t *testing.T) {
	ta := newTestApp(t)
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		resp, _ := ta.do(t, get(acmeHost, "/signin", "X-Request-ID", "client-chosen-id"))
		id := resp.Header.Get("X-Request-ID")
		if !hex32.MatchString(id) {
			t.Fatalf("request id %q is not 32 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("request id %q repeated", id)
		}
		seen[id] = true
	}
	if strings.Contains(ta.logs.String(), "client-chosen-id") {
		t.Errorf("the client's X-Request-ID reached the log")
	}
	// The access log carries the id of the request.
	resp, _ := ta.do(t, get(acmeHost, "/signin"))
	mustContain(t, "log", ta.logs.String(), "request_id="+resp.Header.Get("X-Request-ID"))
}

// TestAccessLogHasNoQueryOrPath: the access log names the route template,
// never the query string (it may carry a username) or the raw path.
func TestAccessLogHasNoQueryOrPath(t *testing.T) {
	ta := newTestApp(t)
	ta.do(t, get(acmeHost, "/reset?username=jane.secret"))
	ta.do(t, get(acmeHost, "/static/app.css?v=jane.secret2"))
	ta.do(t, get(acmeHost, "/jane.secret3/profile"))
	logs := ta.logs.String()
	mustNotContain(t, "log", logs, "jane.secret")
	mustContain(t, "log", logs, `route=/reset`, `route=/static/:name`, "route=unmatched", "status=200", "status=404",
		"tenant_id="+string(acmeID), "method=GET", "duration=")
}

func TestLangCookieAttributes(t *testing.T) {
	for _, tls := range []bool{false, true} {
		var opts []appOption
		if tls {
			opts = append(opts, withTLS)
		}
		ta := newTestApp(t, opts...)
		resp, _ := ta.do(t, get(acmeHost, "/signin?lang=de"))
		c := resp.Header.Get("Set-Cookie")
		mustContain(t, "Set-Cookie", strings.ToLower(c), "lang=de", "path=/", "samesite=lax", "httponly")
		if got := strings.Contains(strings.ToLower(c), "secure"); got != tls {
			t.Errorf("tls=%v: Secure in %q is %v", tls, c, got)
		}
		// An unknown ?lang= sets nothing.
		resp, _ = ta.do(t, get(acmeHost, "/signin?lang=xx"))
		if c := resp.Header.Get("Set-Cookie"); c != "" {
			t.Errorf("?lang=xx set a cookie: %q", c)
		}
	}
}

// TestCrossSitePostsAreRefused: a form sent from another site (Origin of
// another host or another tenant's host, or Sec-Fetch-Site cross-site or
// same-site) is refused with 403 before any handler runs; the tenant's own
// origin, the browser's own posts with Origin "null" (no-referrer policy)
// and requests without either header go on (their tokens protect them).
func TestCrossSitePostsAreRefused(t *testing.T) {
	ta := newTestApp(t)
	form := func(headers ...string) *http.Request {
		req := post(acmeHost, "/reset", "application/x-www-form-urlencoded", strings.NewReader("username=jane"))
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		return req
	}
	for _, tc := range []struct {
		name    string
		headers []string
		refused bool
	}{
		{"another site", []string{"Origin", "https://evil.example"}, true},
		{"another tenant", []string{"Origin", "https://" + globexHost}, true},
		{"null origin, own site by fetch metadata", []string{"Origin", "null", "Sec-Fetch-Site", "same-origin"}, false},
		{"null origin alone", []string{"Origin", "null"}, false},
		{"another tenant by fetch metadata", []string{"Sec-Fetch-Site", "same-site"}, true},
		{"cross-site overrides the origin", []string{"Origin", "https://" + acmeHost, "Sec-Fetch-Site", "cross-site"}, true},
		{"fetch metadata in another case", []string{"Sec-Fetch-Site", "Cross-Site"}, true},
		{"another origin claiming same-origin", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "same-origin"}, true},
		{"garbage origin", []string{"Origin", "::::"}, true},
		{"fetch metadata", []string{"Sec-Fetch-Site", "cross-site"}, true},
		{"own origin", []string{"Origin", "https://" + acmeHost, "Sec-Fetch-Site", "same-origin"}, false},
		{"own origin with a port", []string{"Origin", "http://" + acmeHost + ":8080"}, false},
		{"no browser headers", nil, false},
	} {
		resp, body := ta.do(t, form(tc.headers...))
		if got := resp.StatusCode == http.StatusForbidden; got != tc.refused {
			t.Errorf("%s: status %d, refused %v, want %v", tc.name, resp.StatusCode, got, tc.refused)
		}
		if tc.refused && !strings.Contains(body, "another site") {
			t.Errorf("%s: the refusal does not say why:\n%s", tc.name, body)
		}
	}
	// Reading is never refused: a link from another site must work.
	if resp, _ := ta.do(t, get(acmeHost, "/reset", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET from another site: %d", resp.StatusCode)
	}
}
