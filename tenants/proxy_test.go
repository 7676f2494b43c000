package tenants

import (
	"net/http"
	"strings"
	"testing"
)

func mustProxies(t testing.TB, list ...string) TrustedProxies {
	t.Helper()
	p, err := ParseTrustedProxies(list)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// headers returns a header lookup over h (canonicalising names like net/http
// and fasthttp do) that records every name asked for.
func headers(h map[string]string, asked *[]string) func(string) string {
	hh := http.Header{}
	for k, v := range h {
		hh.Set(k, v)
	}
	return func(name string) string {
		if asked != nil {
			*asked = append(*asked, http.CanonicalHeaderKey(name))
		}
		return hh.Get(name)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	p := mustProxies(t, "10.0.0.0/8", " 192.168.1.7 ", "fd00::/8", "::1", "::ffff:172.16.0.0/108", "10.1.2.3/8")
	for _, ip := range []string{"10.1.2.3", "10.255.255.255", "192.168.1.7", "fd12::1", "::1", "::ffff:10.0.0.1", "172.16.9.9", "10.0.0.1:5555", "[::1]:443"} {
		if !p.Trusts(ip) {
			t.Errorf("Trusts(%q) = false, want true", ip)
		}
	}
	for _, ip := range []string{"11.0.0.1", "192.168.1.8", "fe80::1", "::2", "172.32.0.1", "", "junk"} {
		if p.Trusts(ip) {
			t.Errorf("Trusts(%q) = true, want false", ip)
		}
	}
	if got := p.String(); got != "10.0.0.0/8,192.168.1.7/32,fd00::/8,::1/128,172.16.0.0/12,10.0.0.0/8" {
		t.Errorf("String() = %q", got)
	}

	for _, bad := range [][]string{{"10.0.0.0/33"}, {"10.0.0.1", "nope"}, {""}, {"  "}, {"fe80::1%eth0"}, {"10.0.0.0/8/8"}, {"example.com"}} {
		_, err := ParseTrustedProxies(bad)
		if err == nil {
			t.Errorf("ParseTrustedProxies(%q) = nil error", bad)
			continue
		}
		name := strings.TrimSpace(bad[len(bad)-1])
		if name != "" && !strings.Contains(err.Error(), name) {
			t.Errorf("ParseTrustedProxies(%q) error %q does not name the entry", bad, err)
		}
	}
	var zero TrustedProxies
	if zero.Trusts("127.0.0.1") {
		t.Error("the zero TrustedProxies trusts someone")
	}
}

// TestClientViewUntrustedIgnoresForwardedHeaders proves R9/R38: a client that
// is not a trusted proxy cannot change the host, address or scheme with any
// header; the header function is not even called.
func TestClientViewUntrustedIgnoresForwardedHeaders(t *testing.T) {
	p := mustProxies(t, "10.0.0.0/8")
	forged := map[string]string{
		"X-Forwarded-Host":   "evil.example",
		"X-Forwarded-For":    "6.6.6.6",
		"X-Forwarded-Proto":  "https",
		"Forwarded":          `for=6.6.6.6;host=evil.example;proto=https`,
		"X-Host":             "evil.example",
		"X-Original-Host":    "evil.example",
		"X-Forwarded-Server": "evil.example",
		"X-Tenant-ID":        "00000000-0000-0000-0000-000000000001",
	}
	for _, remote := range []string{"203.0.113.9", "203.0.113.9:4444", "[2001:db8::9]:4444", "not-an-ip", ""} {
		var asked []string
		got := p.ClientView(remote, "acme.example.com", false, headers(forged, &asked))
		if got.Host != "acme.example.com" || got.Scheme != "http" {
			t.Errorf("remote %q: got %+v", remote, got)
		}
		if strings.Contains(got.IP, "6.6.6.6") {
			t.Errorf("remote %q: IP taken from a forged header: %+v", remote, got)
		}
		if len(asked) != 0 {
			t.Errorf("remote %q: headers consulted from an untrusted peer: %v", remote, asked)
		}
	}
	got := p.ClientView("203.0.113.9:4444", "acme.example.com", true, headers(forged, nil))
	want := ClientInfo{Host: "acme.example.com", IP: "203.0.113.9", Scheme: "https"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	// The zero value trusts nobody, not even loopback.
	var zero TrustedProxies
	if got := zero.ClientView("127.0.0.1", "acme.localhost", false, headers(forged, nil)); got.Host != "acme.localhost" || got.IP != "127.0.0.1" {
		t.Errorf("zero TrustedProxies honoured headers: %+v", got)
	}
}

// TestClientViewNeverReadsHostOverrides proves R9/R38: even from a trusted
// proxy, X-Host, X-Original-Host, X-Forwarded-Server and X-Tenant-ID are
// never read.
func TestClientViewNeverReadsHostOverrides(t *testing.T) {
	p := mustProxies(t, "10.0.0.0/8")
	var asked []string
	h := map[string]string{
		"X-Host":             "evil.example",
		"X-Original-Host":    "evil.example",
		"X-Forwarded-Server": "evil.example",
		"X-Tenant-ID":        "00000000-0000-0000-0000-000000000001",
	}
	got := p.ClientView("10.0.0.5", "acme.example.com", false, headers(h, &asked))
	if got.Host != "acme.example.com" {
		t.Errorf("Host = %q", got.Host)
	}
	for _, name := range asked {
		switch name {
		case "X-Forwarded-Host", "X-Forwarded-For", "X-Forwarded-Proto", "Forwarded":
		default:
			t.Errorf("ClientView read header %q", name)
		}
	}
}

func TestClientViewTrusted(t *testing.T) {
	p := mustProxies(t, "10.0.0.0/8", "2001:db8:ffff::/48")
	tests := []struct {
		name   string
		remote string
		tls    bool
		h      map[string]string
		want   ClientInfo
	}{
		{"no headers", "10.0.0.5", false, nil,
			ClientInfo{"acme.example.com", "10.0.0.5", "http"}},
		{"x-forwarded", "10.0.0.5", false, map[string]string{
			"X-Forwarded-Host": "Passwords.Acme.com:443", "X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"},
			ClientInfo{"Passwords.Acme.com:443", "198.51.100.7", "https"}},
		{"first x-forwarded-host value", "10.0.0.5", false, map[string]string{
			"X-Forwarded-Host": " a.example , b.example"},
			ClientInfo{"a.example", "10.0.0.5", "http"}},
		{"right-most untrusted of chain", "10.0.0.5", false, map[string]string{
			"X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.0.0.9, 10.0.0.8"},
			ClientInfo{"acme.example.com", "198.51.100.7", "http"}},
		{"all trusted: left-most", "10.0.0.5", false, map[string]string{
			"X-Forwarded-For": "10.0.0.1, 10.0.0.2"},
			ClientInfo{"acme.example.com", "10.0.0.1", "http"}},
		{"junk stops the walk", "10.0.0.5", false, map[string]string{
			"X-Forwarded-For": "198.51.100.7, junk, 10.0.0.9"},
			ClientInfo{"acme.example.com", "10.0.0.9", "http"}},
		{"junk at the right: the peer", "10.0.0.5", false, map[string]string{
			"X-Forwarded-For": "198.51.100.7, junk"},
			ClientInfo{"acme.example.com", "10.0.0.5", "http"}},
		{"xff with ports and ipv6", "10.0.0.5", false, map[string]string{
			"X-Forwarded-For": "[2001:db8::7]:1234, 10.0.0.9:80"},
			ClientInfo{"acme.example.com", "2001:db8::7", "http"}},
		{"bad proto ignored", "10.0.0.5", true, map[string]string{
			"X-Forwarded-Proto": "javascript"},
			ClientInfo{"acme.example.com", "10.0.0.5", "https"}},
		{"proto downgrade by trusted proxy", "10.0.0.5", true, map[string]string{
			"X-Forwarded-Proto": "HTTP"},
			ClientInfo{"acme.example.com", "10.0.0.5", "http"}},
		{"forwarded", "10.0.0.5", false, map[string]string{
			"Forwarded": `for=198.51.100.7;host=passwords.acme.com;proto=https, for=10.0.0.9`},
			ClientInfo{"passwords.acme.com", "198.51.100.7", "https"}},
		{"forwarded quoted ipv6 with port", "10.0.0.5", false, map[string]string{
			"Forwarded": `For="[2001:db8:cafe::17]:4711";Host="a.example:8443";Proto=HTTPS`},
			ClientInfo{"a.example:8443", "2001:db8:cafe::17", "https"}},
		{"forwarded host is first element's", "10.0.0.5", false, map[string]string{
			"Forwarded": `for=198.51.100.7, for=10.0.0.9;host=evil.example`},
			ClientInfo{"acme.example.com", "198.51.100.7", "http"}},
		{"forwarded obfuscated identifier", "10.0.0.5", false, map[string]string{
			"Forwarded": `for=_hidden, for=10.0.0.9`},
			ClientInfo{"acme.example.com", "10.0.0.9", "http"}},
		{"forwarded malformed is ignored whole", "10.0.0.5", false, map[string]string{
			"Forwarded": `for=198.51.100.7;host=evil.example;host=evil2.example`},
			ClientInfo{"acme.example.com", "10.0.0.5", "http"}},
		{"forwarded unclosed quote", "10.0.0.5", false, map[string]string{
			"Forwarded": `for="198.51.100.7;host=evil.example`},
			ClientInfo{"acme.example.com", "10.0.0.5", "http"}},
		{"x-forwarded wins over forwarded", "10.0.0.5", false, map[string]string{
			"X-Forwarded-Host": "a.example", "X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https",
			"Forwarded": `for=198.51.100.2;host=b.example;proto=http`},
			ClientInfo{"a.example", "198.51.100.1", "https"}},
		{"ipv6 proxy, mapped peer", "[2001:db8:ffff::1]:443", false, map[string]string{
			"X-Forwarded-For": "::ffff:198.51.100.7"},
			ClientInfo{"acme.example.com", "198.51.100.7", "http"}},
		{"ipv4-mapped peer matches ipv4 prefix", "::ffff:10.0.0.5", false, map[string]string{
			"X-Forwarded-Host": "a.example"},
			ClientInfo{"a.example", "10.0.0.5", "http"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.ClientView(tt.remote, "acme.example.com", tt.tls, headers(tt.h, nil))
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := p.ClientView("10.0.0.5", "acme.example.com", false, nil); got.Host != "acme.example.com" {
		t.Errorf("nil header func: %+v", got)
	}
}

func TestParseForwarded(t *testing.T) {
	els, ok := parseForwarded(`for=192.0.2.43, for="[2001:db8:cafe::17]";proto=http;by=203.0.113.43 ,for="a\"b"`)
	if !ok || len(els) != 3 {
		t.Fatalf("got %v, %v", els, ok)
	}
	if els[0]["for"] != "192.0.2.43" || els[1]["for"] != "[2001:db8:cafe::17]" || els[1]["proto"] != "http" || els[2]["for"] != `a"b` {
		t.Errorf("got %v", els)
	}
	for _, bad := range []string{`for`, `=x`, `for=a b`, `for="x`, `for=1;for=2`, strings.Repeat("for=1,", 100)} {
		if els, ok := parseForwarded(bad); ok {
			t.Errorf("parseForwarded(%q) = %v, want malformed", bad, els)
		}
	}
}

// FuzzClientView: never panics; from an untrusted peer nothing in the headers
// changes the result (R9, R38); the scheme is always http or https.
func FuzzClientView(f *testing.F) {
	f.Add("203.0.113.9", "acme.example.com", "evil.example", "6.6.6.6, 10.0.0.1", "https", `for=1.2.3.4;host=evil;proto=https`, false)
	f.Add("10.0.0.5", "acme.example.com", "a.example", "198.51.100.7, junk", "http", `for="[::1]:80"`, true)
	f.Add("10.0.0.5:443", "", "", "", "", `for="x;host=y`, false)
	f.Add("::ffff:10.0.0.5", "h", "", "[2001:db8::1]:9", "HTTPS", `For=_x, for=10.0.0.1;Proto=http`, true)
	f.Add("", "", "", ",,,", "", ",;,;", false)
	p := mustProxies(f, "10.0.0.0/8", "::1")
	f.Fuzz(func(t *testing.T, remote, host, xfh, xff, xfp, fwd string, tls bool) {
		h := map[string]string{
			"X-Forwarded-Host": xfh, "X-Forwarded-For": xff, "X-Forwarded-Proto": xfp, "Forwarded": fwd,
		}
		lookup := func(name string) string { return h[http.CanonicalHeaderKey(name)] }
		got := p.ClientView(remote, host, tls, lookup)
		if got.Scheme != "http" && got.Scheme != "https" {
			t.Fatalf("Scheme = %q", got.Scheme)
		}
		if !p.Trusts(remote) {
			want := p.ClientView(remote, host, tls, nil)
			if got != want || got.Host != host {
				t.Fatalf("untrusted peer %q: headers changed the view: %+v vs %+v", remote, got, want)
			}
			return
		}
		if _, ok := parseNode(got.IP); !ok {
			t.Fatalf("trusted peer %q: IP %q is not an address", remote, got.IP)
		}
	})
}
