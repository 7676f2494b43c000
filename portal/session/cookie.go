package session

import "net/http"

// Cookie names: the __Host- prefix makes browsers insist on Secure, Path=/
// and no Domain, so no sibling host or plain-HTTP page can set or shadow
// the cookie (R36).
const (
	CookieNameTLS   = "__Host-lk_session"
	CookieNamePlain = "lk_session" // plain-HTTP development only
)

// CookieName is the session cookie's name for a request served over TLS
// or not.
func CookieName(tls bool) string {
	if tls {
		return CookieNameTLS
	}
	return CookieNamePlain
}

// Attrs are the session cookie's attributes. Handlers copy them into their
// framework's cookie type (or use HTTP). There is no Domain, ever, and no
// Max-Age or Expires: the cookie lives as long as the browser session and
// the server enforces Idle and Absolute itself.
type Attrs struct {
	Name     string
	Path     string // "/"
	HTTPOnly bool   // always: scripts never read the token
	Secure   bool   // over TLS (required by the __Host- prefix)
	SameSite http.SameSite
}

// CookieAttrs returns the session cookie's attributes: HttpOnly, Secure
// when tls, SameSite=Lax (a link from an email still arrives signed in;
// cross-site POSTs do not carry it), Path=/, no Domain.
func CookieAttrs(tls bool) Attrs {
	return Attrs{Name: CookieName(tls), Path: "/", HTTPOnly: true, Secure: tls, SameSite: http.SameSiteLaxMode}
}

// HTTP returns the cookie that carries token.
func (a Attrs) HTTP(token string) *http.Cookie {
	return &http.Cookie{Name: a.Name, Value: token, Path: a.Path, HttpOnly: a.HTTPOnly, Secure: a.Secure, SameSite: a.SameSite}
}

// Clear returns the cookie that deletes the session cookie (sign-out).
func (a Attrs) Clear() *http.Cookie {
	c := a.HTTP("")
	c.MaxAge = -1
	return c
}
