package session

import (
	"net/http"
	"strings"
	"testing"
)

// TestCookieAttributes_R36: over TLS the cookie is __Host-lk_session with
// Secure, HttpOnly, SameSite=Lax, Path=/ and no Domain (what the __Host-
// prefix demands); without TLS (development) it is lk_session, not Secure.
func TestCookieAttributes_R36(t *testing.T) {
	c := CookieAttrs(true).HTTP("tok")
	if err := c.Valid(); err != nil {
		t.Fatal(err)
	}
	got := c.String()
	want := "__Host-lk_session=tok; Path=/; HttpOnly; Secure; SameSite=Lax"
	if got != want {
		t.Fatalf("Set-Cookie %q, want %q", got, want)
	}
	if strings.Contains(strings.ToLower(got), "domain") || strings.Contains(got, "Max-Age") || strings.Contains(got, "Expires") {
		t.Fatalf("Set-Cookie %q has Domain or a lifetime", got)
	}
	plain := CookieAttrs(false).HTTP("tok").String()
	if plain != "lk_session=tok; Path=/; HttpOnly; SameSite=Lax" {
		t.Fatalf("plain Set-Cookie %q", plain)
	}
	if CookieName(true) != "__Host-lk_session" || CookieName(false) != "lk_session" {
		t.Fatal("cookie names")
	}
	clear := CookieAttrs(true).Clear()
	if clear.MaxAge != -1 || clear.Value != "" || clear.Name != "__Host-lk_session" || !clear.Secure || clear.Path != "/" {
		t.Fatalf("clear cookie %+v", clear)
	}
	if CookieAttrs(true).SameSite != http.SameSiteLaxMode {
		t.Fatal("SameSite")
	}
}
