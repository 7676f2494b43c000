package portal

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/latchkey/latchkey/portal/pages"
	"github.com/latchkey/latchkey/tenants"
)

// FuzzPostActions posts arbitrary bodies with arbitrary content types to the
// action forms: the answer is never a 500.
func FuzzPostActions(f *testing.F) {
	f.Add(0, "application/x-www-form-urlencoded", []byte("username=jane"))
	f.Add(1, "multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\njane\r\n--x--\r\n"))
	f.Add(2, "multipart/form-data; boundary=", []byte("--\r\n\r\n"))
	f.Add(3, "application/json", []byte(`{"username":`))
	f.Add(0, "", []byte{0xff, 0xfe, 0x00, '%', 'z', 'z'})
	ta := newTestApp(f)
	f.Fuzz(func(t *testing.T, action int, contentType string, body []byte) {
		if action < 0 {
			action = -action
		}
		a := pages.Actions[action%len(pages.Actions)]
		req := post(acmeHost, a.Path, "", bytes.NewReader(body))
		req.Header["Content-Type"] = []string{contentType}
		resp, err := ta.app.Test(req, -1)
		if err != nil {
			return // the request could not be written at all (e.g. a bad header)
		}
		resp.Body.Close()
		if resp.StatusCode >= http.StatusInternalServerError {
			t.Fatalf("POST %s (%q, %q): status %d", a.Path, contentType, body, resp.StatusCode)
		}
	})
}

// FuzzPrefillUsername: a prefill is either refused or passed on unchanged.
func FuzzPrefillUsername(f *testing.F) {
	for _, s := range []string{"jane", "", " ", "jäne\x00", "<script>", "a\u2028b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := pages.PrefillUsername(s)
		if got != "" && got != s {
			t.Fatalf("PrefillUsername(%q) = %q", s, got)
		}
	})
}

// FuzzHostHeader sends arbitrary raw Host headers straight to the server's
// handler (no client that would refuse or rewrite them): a request is served
// for a tenant only when the header itself normalises to one of that tenant's
// hosts, and never for the other tenant (R9, R38, R61). Userinfo, paths,
// ports, NULs and doubled hosts must not smuggle a request to another tenant.
func FuzzHostHeader(f *testing.F) {
	for _, h := range []string{acmeHost, globexHost, "ACME.localhost.", "acme.localhost:8080", "acme.localhost@globex.localhost",
		"globex.localhost@acme.localhost", "acme.localhost/globex.localhost", "acme.localhost\x00globex.localhost",
		"acme.localhost, globex.localhost", "[::1]", "", "acme.localhost:99999", "http://globex.localhost"} {
		f.Add(h)
	}
	ta := newTestApp(f)
	handler := ta.app.Handler()
	f.Fuzz(func(t *testing.T, host string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.SetRequestURI("/signin")
		ctx.Request.Header.Set("Host", host)
		raw := string(ctx.Request.Header.Host()) // what the server sees, after fasthttp's header rules
		handler(&ctx)
		status, body := ctx.Response.StatusCode(), string(ctx.Response.Body())
		want := ""
		if h, err := tenants.NormalizeHost(raw); err == nil {
			want = map[string]string{acmeHost: "acme", globexHost: "globex"}[h]
		}
		switch want {
		case "acme":
			if status != 200 || !strings.Contains(body, "Acme Corp") || strings.Contains(body, "Globex") {
				t.Fatalf("Host %q (acme): status %d, body for the wrong tenant", raw, status)
			}
		case "globex":
			if status != 200 || !strings.Contains(body, "Globex") || strings.Contains(body, "Acme") {
				t.Fatalf("Host %q (globex): status %d, body for the wrong tenant", raw, status)
			}
		default:
			if status != 404 || strings.Contains(body, "Acme") || strings.Contains(body, "Globex") {
				t.Fatalf("Host %q (no tenant): status %d, want a tenant-neutral 404", raw, status)
			}
		}
	})
}
