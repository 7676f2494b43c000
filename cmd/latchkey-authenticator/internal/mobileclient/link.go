package mobileclient

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// EnrollPath is the path of the enrollment link the portal shows.
const EnrollPath = "/m/enroll"

// Link is a parsed enrollment link
// (https://acme.example.com/m/enroll?id=…&secret=…).
type Link struct {
	// BaseURL is scheme://host[:port], the tenant's own host: every API
	// request goes there.
	BaseURL string
	// ID is the enrollment id (22 base64url characters).
	ID string
	// Secret is the one-time secret (43 base64url characters, 256 bits).
	Secret string
}

// ErrBadLink is what every refusal of ParseLink wraps.
var ErrBadLink = errors.New("not a Latchkey enrollment link")

// ParseLink checks an enrollment link and splits it into the base URL, the
// enrollment id and the secret. The link must use https, except for
// localhost, *.localhost and loopback addresses (a demo or a test), and must
// carry no user info or fragment.
func ParseLink(raw string) (Link, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return Link{}, fmt.Errorf("%w: %w", ErrBadLink, err)
	}
	switch {
	case u.Host == "" || u.Opaque != "":
		return Link{}, fmt.Errorf("%w: no host (expected https://<tenant host>%s?id=…&secret=…)", ErrBadLink, EnrollPath)
	case u.User != nil || u.Fragment != "":
		return Link{}, fmt.Errorf("%w: user info or fragment in the link", ErrBadLink)
	case u.Path != EnrollPath:
		return Link{}, fmt.Errorf("%w: the path is %q, not %s", ErrBadLink, u.Path, EnrollPath)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !LoopbackHost(u.Hostname()) {
			return Link{}, fmt.Errorf("%w: plain http:// is accepted only for localhost and loopback addresses; use https://", ErrBadLink)
		}
	default:
		return Link{}, fmt.Errorf("%w: scheme %q (expected https)", ErrBadLink, u.Scheme)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Link{}, fmt.Errorf("%w: bad query: %w", ErrBadLink, err)
	}
	id, err := oneParam(q, "id", 22)
	if err != nil {
		return Link{}, err
	}
	secret, err := oneParam(q, "secret", 43)
	if err != nil {
		return Link{}, err
	}
	if len(q) != 2 {
		return Link{}, fmt.Errorf("%w: unexpected parameters (only id and secret)", ErrBadLink)
	}
	return Link{BaseURL: u.Scheme + "://" + u.Host, ID: id, Secret: secret}, nil
}

// oneParam returns the single value of q[name], which must be n base64url
// characters (no padding).
func oneParam(q url.Values, name string, n int) (string, error) {
	vs := q[name]
	if len(vs) != 1 {
		return "", fmt.Errorf("%w: want exactly one %q parameter", ErrBadLink, name)
	}
	v := vs[0]
	if len(v) != n {
		return "", fmt.Errorf("%w: %s has %d characters, want %d", ErrBadLink, name, len(v), n)
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(v); err != nil {
		return "", fmt.Errorf("%w: %s is not base64url", ErrBadLink, name)
	}
	return v, nil
}

// LoopbackHost reports whether host may be reached over plain HTTP:
// localhost, *.localhost and loopback addresses.
func LoopbackHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
