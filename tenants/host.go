package tenants

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrInvalidHost is wrapped by every error NormalizeHost returns.
var ErrInvalidHost = errors.New("invalid host")

// Limits of a DNS name (RFC 1035 §2.3.4).
const (
	maxHostLength  = 253
	maxLabelLength = 63
)

// NormalizeHost turns a Host header value (or a host an operator typed) into the
// form hosts are stored and looked up in: lower case, without port and without
// a trailing dot. It rejects anything that is not a plain DNS name or IP
// literal with an error wrapping ErrInvalidHost:
//
//   - empty, or longer than 253 characters (after the trailing dot is removed);
//   - empty labels ("a..b", "."), labels longer than 63 characters, labels that
//     start or end with '-';
//   - characters outside [a-z0-9-] in a label after ASCII lower-casing. Non-ASCII
//     names must arrive as punycode ("xn--…"), which is what browsers send;
//   - a port that is not a decimal number in 1–65535 (an empty port after ':'
//     is rejected too);
//   - userinfo ('@'), a path, query or fragment ('/', '\\', '?', '#'),
//     whitespace or control characters;
//   - a name whose last label is all digits but which is not a dotted-quad IPv4
//     address ("1.2.3", "example.123"): browsers read those as numbers.
//
// IP literals are accepted and put into canonical form: IPv4 as dotted quad
// ("127.0.0.1") and IPv6 in brackets in RFC 5952 form ("[::1]"), the way they
// appear in a Host header. Zones ("[fe80::1%eth0]") are rejected. An IP literal
// is the only output that can contain ':' (always inside brackets); no output
// ever contains '/', '@' or whitespace. NormalizeHost(NormalizeHost(x)) equals
// NormalizeHost(x). IP literals never match a tenant: tenants own names only.
func NormalizeHost(raw string) (string, error) {
	if raw == "" {
		return "", hostError(raw, "empty")
	}
	// Refuse absurdly long input before looking at it any further; a host with
	// port and brackets is never longer than this.
	if len(raw) > maxHostLength+8 {
		return "", hostError(raw, "longer than 253 characters")
	}
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c <= ' ' || c == 0x7f:
			return "", hostError(raw, "contains whitespace or a control character")
		case c == '@':
			return "", hostError(raw, "contains userinfo")
		case c == '/' || c == '\\' || c == '?' || c == '#':
			return "", hostError(raw, "contains a path, query or fragment")
		}
	}
	if raw[0] == '[' {
		return normalizeIPv6Literal(raw)
	}
	name := raw
	if i := strings.LastIndexByte(raw, ':'); i >= 0 {
		if strings.IndexByte(raw[:i], ':') >= 0 {
			return "", hostError(raw, "IPv6 address without brackets")
		}
		if err := checkPort(raw, raw[i+1:]); err != nil {
			return "", err
		}
		name = raw[:i]
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return "", hostError(raw, "empty name")
	}
	if len(name) > maxHostLength {
		return "", hostError(raw, "longer than 253 characters")
	}
	if hasNonASCII(name) {
		return "", hostError(raw, "contains non-ASCII characters (use punycode, xn--)")
	}
	name = strings.ToLower(name)
	if ip, err := netip.ParseAddr(name); err == nil && ip.Is4() {
		return ip.String(), nil
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if err := checkLabel(raw, l); err != nil {
			return "", err
		}
	}
	if allDigits(labels[len(labels)-1]) {
		return "", hostError(raw, "numeric last label but not an IPv4 address")
	}
	return name, nil
}

// normalizeIPv6Literal handles "[addr]" and "[addr]:port".
func normalizeIPv6Literal(raw string) (string, error) {
	end := strings.IndexByte(raw, ']')
	if end < 0 {
		return "", hostError(raw, "unclosed '['")
	}
	if rest := raw[end+1:]; rest != "" {
		if rest[0] != ':' {
			return "", hostError(raw, "unexpected text after ']'")
		}
		if err := checkPort(raw, rest[1:]); err != nil {
			return "", err
		}
	}
	inner := raw[1:end]
	if strings.IndexByte(inner, '%') >= 0 {
		return "", hostError(raw, "IPv6 zone not allowed")
	}
	ip, err := netip.ParseAddr(inner)
	if err != nil || !ip.Is6() {
		return "", hostError(raw, "invalid IPv6 address in brackets")
	}
	return "[" + ip.String() + "]", nil
}

func checkPort(raw, port string) error {
	if port == "" {
		return hostError(raw, "empty port")
	}
	if len(port) > 5 || !allDigits(port) {
		return hostError(raw, "port is not a number in 1-65535")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return hostError(raw, "port is not a number in 1-65535")
	}
	return nil
}

// checkLabel checks one lower-cased DNS label.
func checkLabel(raw, l string) error {
	switch {
	case l == "":
		return hostError(raw, "empty label")
	case len(l) > maxLabelLength:
		return hostError(raw, fmt.Sprintf("label %.20q… longer than 63 characters", l))
	case l[0] == '-' || l[len(l)-1] == '-':
		return hostError(raw, fmt.Sprintf("label %q starts or ends with '-'", l))
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return hostError(raw, fmt.Sprintf("label %q contains %q (only a-z, 0-9 and '-' are allowed)", l, c))
		}
	}
	return nil
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// hostError builds an error naming the (shortened, quoted) input and the reason.
func hostError(raw, reason string) error {
	const maxShown = 64
	shown := raw
	if len(shown) > maxShown {
		shown = shown[:maxShown] + "…"
	}
	return fmt.Errorf("%w %q: %s", ErrInvalidHost, shown, reason)
}

// reservedSlugs are labels a tenant may not take: they name the platform's own
// hosts, or would let a tenant pose as the platform.
var reservedSlugs = map[string]bool{
	"www": true, "api": true, "admin": true, "static": true, "assets": true, "cdn": true,
	"app": true, "apps": true, "auth": true, "login": true, "signin": true, "sso": true,
	"id": true, "account": true, "accounts": true, "portal": true, "connector": true,
	"connectors": true, "hub": true, "tunnel": true, "mobile": true, "push": true,
	"mail": true, "email": true, "smtp": true, "imap": true, "pop": true, "pop3": true,
	"mx": true, "ns": true, "ns1": true, "ns2": true, "dns": true, "ftp": true,
	"webmail": true, "autodiscover": true, "autoconfig": true, "status": true,
	"health": true, "metrics": true, "docs": true, "help": true, "support": true,
	"blog": true, "dev": true, "staging": true, "test": true, "demo": true,
	"localhost": true, "platform": true, "operator": true, "system": true,
	"root": true, "latchkey": true, "security": true, "billing": true,
}

// ValidateSlug checks a tenant slug: a DNS label of 2–63 characters from
// [a-z0-9-], not starting or ending with '-', without the IDNA "xx--" form, and
// not one of the names reserved for the platform (www, api, admin, static, …).
func ValidateSlug(s string) error {
	switch {
	case len(s) < 2:
		return fmt.Errorf("invalid slug %q: shorter than 2 characters", s)
	case len(s) > maxLabelLength:
		return fmt.Errorf("invalid slug %.20q…: longer than 63 characters", s)
	case s[0] == '-' || s[len(s)-1] == '-':
		return fmt.Errorf("invalid slug %q: starts or ends with '-'", s)
	case len(s) >= 4 && s[2:4] == "--":
		return fmt.Errorf("invalid slug %q: '--' in third and fourth place is reserved for IDNA", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("invalid slug %q: only a-z, 0-9 and '-' are allowed", s)
		}
	}
	if reservedSlugs[s] {
		return fmt.Errorf("invalid slug %q: reserved", s)
	}
	return nil
}

// PlatformHost returns the host a tenant gets on the platform domain:
// "<slug>.<platformDomain>", lower case, without a trailing dot. With an empty
// platform domain it returns the slug alone.
func PlatformHost(slug, platformDomain string) string {
	d := strings.TrimSuffix(strings.ToLower(platformDomain), ".")
	if d == "" {
		return strings.ToLower(slug)
	}
	return strings.ToLower(slug) + "." + d
}
