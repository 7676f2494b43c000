package portal

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/portal/pages"
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
