package tenants

import (
	"fmt"
	"net/netip"
	"strings"
)

// TrustedProxies is the set of addresses (reverse proxies, load balancers) whose
// forwarded headers are believed. The zero value trusts nobody, so every
// forwarded header is ignored (security.md R9, R38).
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// ParseTrustedProxies reads a list of IP addresses ("10.0.0.7", "::1") and CIDR
// prefixes ("10.0.0.0/8", "fd00::/8"). Surrounding spaces are ignored; an empty
// entry, a zone or anything that does not parse is an error naming the entry.
func ParseTrustedProxies(list []string) (TrustedProxies, error) {
	var p TrustedProxies
	for i, entry := range list {
		s := strings.TrimSpace(entry)
		if s == "" {
			return TrustedProxies{}, fmt.Errorf("parse trusted proxy #%d: empty entry", i+1)
		}
		var pfx netip.Prefix
		if strings.Contains(s, "/") {
			v, err := netip.ParsePrefix(s)
			if err != nil {
				return TrustedProxies{}, fmt.Errorf("parse trusted proxy %q: %w", entry, err)
			}
			pfx = v.Masked()
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return TrustedProxies{}, fmt.Errorf("parse trusted proxy %q: %w", entry, err)
			}
			if a.Zone() != "" {
				return TrustedProxies{}, fmt.Errorf("parse trusted proxy %q: zones are not supported", entry)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		// "::ffff:10.0.0.0/104" is written for IPv4 clients seen through an
		// IPv6 socket; addresses are unmapped before matching, so store it as
		// the IPv4 prefix it means.
		if a := pfx.Addr(); a.Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(a.Unmap(), pfx.Bits()-96)
		}
		p.prefixes = append(p.prefixes, pfx)
	}
	return p, nil
}

// String lists the prefixes, for the startup log.
func (p TrustedProxies) String() string {
	parts := make([]string, len(p.prefixes))
	for i, pfx := range p.prefixes {
		parts[i] = pfx.String()
	}
	return strings.Join(parts, ",")
}

// Trusts reports whether ip (an address, optionally with a port) is a trusted proxy.
func (p TrustedProxies) Trusts(ip string) bool {
	a, ok := parseNode(ip)
	return ok && p.contains(a)
}

func (p TrustedProxies) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, pfx := range p.prefixes {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

// ClientInfo is what the server believes about the client behind a request.
type ClientInfo struct {
	// Host is the host the client asked for, raw (callers run NormalizeHost).
	Host string
	// IP is the client's address in canonical form (or remoteIP as given when it
	// does not parse).
	IP string
	// Scheme is "http" or "https".
	Scheme string
}

// ClientView works out the client's host, address and scheme for one request.
// remoteIP is the peer address of the TCP connection (a port is tolerated),
// hostHeader the request's Host header, tls whether the connection is TLS, and
// header looks up a request header by name ("" when absent; nil means none).
//
// When the peer is not a trusted proxy, no header is consulted at all: Host is
// hostHeader, IP is the peer and Scheme follows tls. When it is trusted:
//
//   - Host is the first value of X-Forwarded-Host, else the host= of the first
//     element of RFC 7239 Forwarded, else hostHeader;
//   - IP is the right-most address in X-Forwarded-For (else in the for= of
//     Forwarded) that is not itself a trusted proxy. If every address is trusted
//     the left-most is used; an unparsable entry ("unknown", "_hidden", junk)
//     stops the walk and the last trusted hop seen (or the peer) is used;
//   - Scheme is X-Forwarded-Proto (first value), else proto= of the first
//     Forwarded element, when it is "http" or "https"; else it follows tls.
//
// X-Host, X-Original-Host, X-Forwarded-Server, X-Tenant-ID and other such
// headers are never read (security.md R9, R38). The trusted proxy must set or
// overwrite X-Forwarded-Host/-Proto and Forwarded rather than pass on what the
// client sent.
func (p TrustedProxies) ClientView(remoteIP, hostHeader string, tls bool, header func(name string) string) ClientInfo {
	info := ClientInfo{Host: hostHeader, IP: remoteIP, Scheme: "http"}
	if tls {
		info.Scheme = "https"
	}
	peer, ok := parseNode(remoteIP)
	if ok {
		info.IP = peer.String()
	}
	if !ok || !p.contains(peer) || header == nil {
		return info
	}

	xfh := firstValue(header("X-Forwarded-Host"))
	xff := header("X-Forwarded-For")
	xfp := strings.ToLower(firstValue(header("X-Forwarded-Proto")))
	var fwd []map[string]string
	if v := header("Forwarded"); v != "" {
		fwd, _ = parseForwarded(v)
	}

	switch {
	case xfh != "":
		info.Host = xfh
	case len(fwd) > 0 && fwd[0]["host"] != "":
		info.Host = fwd[0]["host"]
	}

	switch {
	case strings.TrimSpace(xff) != "":
		info.IP = p.rightmostUntrusted(strings.Split(xff, ","), peer).String()
	case len(fwd) > 0:
		nodes := make([]string, 0, len(fwd))
		for _, el := range fwd {
			nodes = append(nodes, el["for"])
		}
		info.IP = p.rightmostUntrusted(nodes, peer).String()
	}

	switch {
	case xfp == "http" || xfp == "https":
		info.Scheme = xfp
	case len(fwd) > 0:
		if v := strings.ToLower(fwd[0]["proto"]); v == "http" || v == "https" {
			info.Scheme = v
		}
	}
	return info
}

// rightmostUntrusted walks a proxy chain from the right (nearest hop) and
// returns the first address that is not a trusted proxy; see ClientView.
func (p TrustedProxies) rightmostUntrusted(nodes []string, peer netip.Addr) netip.Addr {
	last := peer
	for i := len(nodes) - 1; i >= 0; i-- {
		a, ok := parseNode(nodes[i])
		if !ok {
			break
		}
		if !p.contains(a) {
			return a
		}
		last = a
	}
	return last
}

// parseNode reads an address as proxies write it: "1.2.3.4", "1.2.3.4:80",
// "::1", "[::1]", "[::1]:80". Zones are dropped and IPv4-mapped IPv6 addresses
// unmapped.
func parseNode(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(s)
		switch {
		case err2 == nil:
			a = ap.Addr()
		case len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']':
			if a, err = netip.ParseAddr(s[1 : len(s)-1]); err != nil {
				return netip.Addr{}, false
			}
		default:
			return netip.Addr{}, false
		}
	}
	return a.WithZone("").Unmap(), true
}

// firstValue returns the first comma-separated value of a header, trimmed.
func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// maxForwardedElements bounds the work done on one Forwarded header.
const maxForwardedElements = 64

// parseForwarded parses an RFC 7239 Forwarded header value into its elements,
// each a map of lower-cased parameter names to (unquoted) values. A malformed
// header yields nil and false: it is ignored as a whole, since a proxy that
// writes it correctly never produces one.
func parseForwarded(v string) ([]map[string]string, bool) {
	var (
		elements []map[string]string
		cur      = map[string]string{}
		i        = 0
	)
	for {
		// Optional whitespace, then a pair, an empty pair, or a separator.
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
		if i == len(v) {
			break
		}
		switch v[i] {
		case ';':
			i++
			continue
		case ',':
			elements = append(elements, cur)
			if len(elements) >= maxForwardedElements {
				return nil, false
			}
			cur = map[string]string{}
			i++
			continue
		}
		start := i
		for i < len(v) && isTokenChar(v[i]) {
			i++
		}
		if i == start || i == len(v) || v[i] != '=' {
			return nil, false
		}
		key := strings.ToLower(v[start:i])
		i++ // '='
		var val string
		if i < len(v) && v[i] == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < len(v) {
				c := v[i]
				if c == '\\' && i+1 < len(v) {
					b.WriteByte(v[i+1])
					i += 2
					continue
				}
				if c == '"' {
					closed = true
					i++
					break
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return nil, false
			}
			val = b.String()
		} else {
			// Unquoted values are tokens; ':' and brackets are tolerated too
			// since proxies often write "for=1.2.3.4:80" without the quotes
			// RFC 7239 asks for.
			start := i
			for i < len(v) && (isTokenChar(v[i]) || v[i] == ':' || v[i] == '[' || v[i] == ']') {
				i++
			}
			val = v[start:i]
		}
		if _, dup := cur[key]; dup {
			return nil, false // RFC 7239 §4: each parameter at most once per element
		}
		cur[key] = val
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
		if i < len(v) && v[i] != ';' && v[i] != ',' {
			return nil, false
		}
	}
	elements = append(elements, cur)
	return elements, true
}

// isTokenChar reports whether c may appear in an RFC 7230 token.
func isTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
