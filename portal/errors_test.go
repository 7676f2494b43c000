package portal

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func itoa(i int) string { return strconv.Itoa(i) }

// TestBodyLimit: a body over the limit is refused with 413 and a clear
// message, as a page or as JSON, with the usual headers and a reference.
func TestBodyLimit(t *testing.T) {
	ta := newTestApp(t)
	big := strings.Repeat("a", DefaultBodyLimit+1)
	resp, body := ta.doWire(t, post(acmeHost, "/reset", "application/x-www-form-urlencoded", strings.NewReader("username="+big)))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	mustContain(t, "413 page", body, "Too much data", "larger than this service accepts", resp.Header.Get("X-Request-ID"))
	if len(resp.Header.Get("X-Request-ID")) != 32 {
		t.Errorf("413 without a request id")
	}

	req := post(acmeHost, "/reset", "application/x-www-form-urlencoded", strings.NewReader(big))
	req.Header.Set("Accept", "application/json")
	resp, body = ta.doWire(t, req)
	var got errorJSON
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("JSON 413: %v: %s", err, body)
	}
	if resp.StatusCode != 413 || got.Error != "Request Entity Too Large" || !strings.Contains(got.Message, "larger than this service accepts") || got.Reference != resp.Header.Get("X-Request-ID") {
		t.Errorf("JSON 413: %d %+v", resp.StatusCode, got)
	}

	// The machine APIs answer in JSON without asking.
	resp, body = ta.doWire(t, post(acmeHost, "/api/mobile/v1/device/push-token", "application/json", strings.NewReader(big)))
	if resp.StatusCode != 413 || json.Unmarshal([]byte(body), &got) != nil || got.Error != "Request Entity Too Large" {
		t.Errorf("API 413: %d %s", resp.StatusCode, body)
	}

	// Just under the limit is fine.
	resp, _ = ta.doWire(t, post(acmeHost, "/reset", "application/x-www-form-urlencoded", strings.NewReader(big[:DefaultBodyLimit])))
	if resp.StatusCode != 200 {
		t.Errorf("body at the limit: %d", resp.StatusCode)
	}
}

func TestCustomBodyLimit(t *testing.T) {
	ta := newTestApp(t, func(c *Config) { c.BodyLimit = 1024 })
	resp, _ := ta.doWire(t, post(acmeHost, "/reset", "text/plain", strings.NewReader(strings.Repeat("x", 1025))))
	if resp.StatusCode != 413 {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}

func TestNotFoundPage(t *testing.T) {
	ta := newTestApp(t)
	resp, body := ta.do(t, get(acmeHost, "/no-such-page", "Accept-Language", "en"))
	if resp.StatusCode != 404 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	mustContain(t, "404", body, "Page not found", "Reference for the help desk:", resp.Header.Get("X-Request-ID"))
	mustNotContain(t, "404", body, "Cannot GET") // Fiber's own text never shows

	req := get(acmeHost, "/no-such-page")
	req.Header.Set("Accept", "application/json")
	resp, body = ta.do(t, req)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.Contains(body, `"reference":"`+resp.Header.Get("X-Request-ID")+`"`) {
		t.Errorf("JSON 404: %q %s", resp.Header.Get("Content-Type"), body)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	ta := newTestApp(t)
	req := get(acmeHost, "/signin")
	req.Method = http.MethodPost
	resp, body := ta.do(t, req)
	if resp.StatusCode != 405 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	mustContain(t, "405", body, "Not possible here")
}

// TestPanicGivesFriendly500: a panicking handler yields the 500 page with a
// reference, the panic is logged with the same request id, and the access
// log and metrics still see the request.
func TestPanicGivesFriendly500(t *testing.T) {
	ta := newTestApp(t)
	ta.app.Get("/boom", func(*fiber.Ctx) error { panic("kaboom") })
	resp, body := ta.do(t, get(acmeHost, "/boom"))
	if resp.StatusCode != 500 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	id := resp.Header.Get("X-Request-ID")
	mustContain(t, "500 page", body, "Something went wrong", id)
	mustNotContain(t, "500 page", body, "kaboom")
	logs := ta.logs.String()
	mustContain(t, "log", logs, "panic serving request", "kaboom", "request_id="+id, "route=/boom status=500")
	for _, want := range wantHeaders {
		mustContain(t, "500 headers", strings.Join(flatten(resp.Header), "\n"), want)
	}
}

func TestHandlerErrorIsLoggedNotShown(t *testing.T) {
	ta := newTestApp(t)
	ta.app.Get("/fail", func(*fiber.Ctx) error { return errStoreDown })
	resp, body := ta.do(t, get(acmeHost, "/fail"))
	if resp.StatusCode != 500 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	mustNotContain(t, "body", body, "store down")
	mustContain(t, "log", ta.logs.String(), "request failed", "store down", "request_id="+resp.Header.Get("X-Request-ID"))
}

func flatten(h http.Header) []string {
	var out []string
	for k, vs := range h {
		for _, v := range vs {
			out = append(out, k+": "+v)
		}
	}
	return out
}
