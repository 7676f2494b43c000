package tenants

import (
	"errors"
	"strings"
	"testing"
	"unicode"
)

func TestNormalizeHostAccepts(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	// 4 labels of 63 plus 3 dots = 255; 3 labels of 63 + "b"*61 + 3 dots = 253.
	max253 := long63 + "." + long63 + "." + long63 + "." + strings.Repeat("b", 61)
	tests := []struct{ in, want string }{
		{"acme.example.com", "acme.example.com"},
		{"ACME.Example.COM", "acme.example.com"},
		{"acme.example.com.", "acme.example.com"},
		{"acme.example.com:8443", "acme.example.com"},
		{"Acme.Example.Com.:443", "acme.example.com"},
		{"localhost", "localhost"},
		{"acme.localhost:8080", "acme.localhost"},
		{"xn--mnchen-3ya.example", "xn--mnchen-3ya.example"},
		{"a-b.c-d.example", "a-b.c-d.example"},
		{"123.example.com", "123.example.com"},
		{long63 + ".com", long63 + ".com"},
		{max253, max253},
		{max253 + ".", max253},
		{"127.0.0.1", "127.0.0.1"},
		{"127.0.0.1:80", "127.0.0.1"},
		{"[::1]", "[::1]"},
		{"[::1]:8080", "[::1]"},
		{"[2001:DB8:0:0::1]", "[2001:db8::1]"},
		{"[::ffff:192.0.2.1]", "[::ffff:192.0.2.1]"},
		{"acme.example.com:1", "acme.example.com"},
		{"acme.example.com:65535", "acme.example.com"},
	}
	for _, tt := range tests {
		got, err := NormalizeHost(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestNormalizeHostRejects covers the R9/R38 rule that a Host header which is
// not a plain host never reaches tenant lookup.
func TestNormalizeHostRejects(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	tests := []struct{ in, reason string }{
		{"", "empty"},
		{".", "empty name"},
		{":443", "empty name"},
		{"acme..example.com", "empty label"},
		{".acme.example.com", "empty label"},
		{"acme.example.com..", "empty label"},
		{strings.Repeat("a", 64) + ".com", "longer than 63"},
		{long63 + "." + long63 + "." + long63 + "." + strings.Repeat("b", 62), "longer than 253"},
		{strings.Repeat("a.", 200) + "com", "longer than 253"},
		{"-acme.example.com", "starts or ends with '-'"},
		{"acme-.example.com", "starts or ends with '-'"},
		{"ac_me.example.com", "only a-z, 0-9"},
		{"ac*me.example.com", "only a-z, 0-9"},
		{"acme.example.com%2f", "only a-z, 0-9"},
		{"münchen.example", "non-ASCII"},
		{"acme.example.com\xff", "non-ASCII"},
		{"acme.example.com:0", "port"},
		{"acme.example.com:65536", "port"},
		{"acme.example.com:99999999999999999999", "port"},
		{"acme.example.com:-1", "port"},
		{"acme.example.com:+80", "port"},
		{"acme.example.com:", "empty port"},
		{"acme.example.com:http", "port"},
		{"user@acme.example.com", "userinfo"},
		{"user:pw@acme.example.com", "userinfo"},
		{"acme.example.com/evil", "path"},
		{"acme.example.com\\evil", "path"},
		{"acme.example.com?x", "path"},
		{"acme.example.com#x", "path"},
		{"acme.example.com evil.com", "whitespace"},
		{" acme.example.com", "whitespace"},
		{"acme.example.com\r\nX-Injected: 1", "whitespace"},
		{"acme.example.com\x00", "control"},
		{"acme\t.example.com", "control"},
		{"::1", "without brackets"},
		{"[::1", "unclosed"},
		{"[::1]x", "after ']'"},
		{"[::1]:0", "port"},
		{"[127.0.0.1]", "invalid IPv6"},
		{"[fe80::1%25eth0]", "zone"},
		{"[not-an-ip]", "invalid IPv6"},
		{"1.2.3", "numeric last label"},
		{"example.123", "numeric last label"},
		{"256.1.1.1", "numeric last label"},
	}
	for _, tt := range tests {
		got, err := NormalizeHost(tt.in)
		if err == nil {
			t.Errorf("NormalizeHost(%q) = %q, want error (%s)", tt.in, got, tt.reason)
			continue
		}
		if !errors.Is(err, ErrInvalidHost) {
			t.Errorf("NormalizeHost(%q) error %v does not wrap ErrInvalidHost", tt.in, err)
		}
		if !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("NormalizeHost(%q) error %q does not say %q", tt.in, err, tt.reason)
		}
	}
}

func TestNormalizeHostErrorIsShortAndQuoted(t *testing.T) {
	_, err := NormalizeHost(strings.Repeat("\x01", 5000))
	if err == nil || len(err.Error()) > 400 {
		t.Fatalf("error for long junk: %v", err)
	}
	_, err = NormalizeHost("evil\r\n.com")
	if err == nil || strings.ContainsAny(err.Error(), "\r\n") {
		t.Fatalf("error must not carry raw control characters into logs: %q", err)
	}
}

func TestValidateSlug(t *testing.T) {
	good := []string{"acme", "ab", "a1", "globex-corp", "x" + strings.Repeat("y", 62), "00"}
	for _, s := range good {
		if err := ValidateSlug(s); err != nil {
			t.Errorf("ValidateSlug(%q) = %v, want nil", s, err)
		}
	}
	bad := map[string]string{
		"":                      "shorter than 2",
		"a":                     "shorter than 2",
		strings.Repeat("a", 64): "longer than 63",
		"-acme":                 "starts or ends",
		"acme-":                 "starts or ends",
		"Acme":                  "only a-z",
		"ac.me":                 "only a-z",
		"ac_me":                 "only a-z",
		"xn--acme":              "IDNA",
		"ab--cd":                "IDNA",
		"www":                   "reserved",
		"api":                   "reserved",
		"admin":                 "reserved",
		"static":                "reserved",
	}
	for s, want := range bad {
		err := ValidateSlug(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateSlug(%q) = %v, want error containing %q", s, err, want)
		}
	}
}

func TestPlatformHost(t *testing.T) {
	tests := []struct{ slug, domain, want string }{
		{"acme", "latchkey.example", "acme.latchkey.example"},
		{"acme", "Latchkey.Example.", "acme.latchkey.example"},
		{"acme", "localhost", "acme.localhost"},
		{"acme", "", "acme"},
	}
	for _, tt := range tests {
		if got := PlatformHost(tt.slug, tt.domain); got != tt.want {
			t.Errorf("PlatformHost(%q, %q) = %q, want %q", tt.slug, tt.domain, got, tt.want)
		}
	}
	// A platform host of a valid slug is a valid, normalised host.
	h := PlatformHost("acme", "latchkey.example")
	if n, err := NormalizeHost(h); err != nil || n != h {
		t.Errorf("NormalizeHost(%q) = %q, %v", h, n, err)
	}
}

// FuzzNormalizeHost: never panics; a result re-normalises to itself; a result
// never contains '/', '@', whitespace or control characters, and contains ':'
// only as a bracketed IPv6 literal (the documented exception).
func FuzzNormalizeHost(f *testing.F) {
	for _, s := range []string{
		"acme.example.com", "ACME.example.com.:8443", "[::1]:80", "127.0.0.1",
		"user@host", "host/path", "xn--mnchen-3ya.de", "a..b", "[fe80::1%25eth0]",
		"1.2.3", "::1", "[::ffff:1.2.3.4]", "host:", "\x00", "münchen.de",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := NormalizeHost(raw)
		if err != nil {
			if out != "" {
				t.Fatalf("NormalizeHost(%q) returned %q with error %v", raw, out, err)
			}
			if !errors.Is(err, ErrInvalidHost) {
				t.Fatalf("error %v does not wrap ErrInvalidHost", err)
			}
			return
		}
		again, err := NormalizeHost(out)
		if err != nil || again != out {
			t.Fatalf("NormalizeHost(%q) = %q, but re-normalising gives %q, %v", raw, out, again, err)
		}
		if out == "" || len(out) > maxHostLength {
			t.Fatalf("NormalizeHost(%q) = %q: bad length", raw, out)
		}
		if strings.ContainsAny(out, "/@\\?#") || strings.ContainsFunc(out, func(r rune) bool {
			return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII
		}) {
			t.Fatalf("NormalizeHost(%q) = %q contains a forbidden character", raw, out)
		}
		if strings.Contains(out, ":") && !(strings.HasPrefix(out, "[") && strings.HasSuffix(out, "]")) {
			t.Fatalf("NormalizeHost(%q) = %q has ':' outside an IPv6 literal", raw, out)
		}
		if out != strings.ToLower(out) {
			t.Fatalf("NormalizeHost(%q) = %q is not lower case", raw, out)
		}
	})
}
