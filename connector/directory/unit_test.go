package directory

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

// R44 golden bytes.
func TestEncodePasswordGolden_R44(t *testing.T) {
	cases := []struct {
		pw   string
		want []byte
	}{
		{"Pa", []byte{0x22, 0x00, 0x50, 0x00, 0x61, 0x00, 0x22, 0x00}},
		{`a"`, []byte{0x22, 0x00, 0x61, 0x00, 0x22, 0x00, 0x22, 0x00}},
		{"é", []byte{0x22, 0x00, 0xe9, 0x00, 0x22, 0x00}},
		{"🔑", []byte{0x22, 0x00, 0x3d, 0xd8, 0x11, 0xdd, 0x22, 0x00}}, // U+1F511 as a surrogate pair
	}
	for _, c := range cases {
		got, err := EncodePassword(c.pw)
		if err != nil || !bytes.Equal([]byte(got), c.want) {
			t.Fatalf("EncodePassword(%q) = % x, %v; want % x", c.pw, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "\xff\xfe"} {
		if _, err := EncodePassword(bad); err == nil {
			t.Fatalf("EncodePassword(%q) succeeded", bad)
		}
	}
}

func TestADGUIDRoundTrip(t *testing.T) {
	// objectGUID wire bytes and the canonical string of the same GUID
	raw := []byte{0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	const canon = "12345678-9abc-def0-0123-456789abcdef"
	s, err := formatADGUID(raw)
	if err != nil || s != canon {
		t.Fatalf("formatADGUID = %q, %v", s, err)
	}
	back, err := parseADGUID(strings.ToUpper(canon))
	if err != nil || !bytes.Equal(back[:], raw) {
		t.Fatalf("parseADGUID = % x, %v", back, err)
	}
	if got := escapeBinary(raw[:2]); got != `\78\56` {
		t.Fatalf("escapeBinary = %q", got)
	}
	for _, bad := range []string{"", "12345678-9abc-def0-0123-456789abcde", "12345678x9abc-def0-0123-456789abcdef",
		"g2345678-9abc-def0-0123-456789abcdef", "*)(objectGUID=*)(a=bbbbbbbbbbbbbbbbbbbbb", "12345678-9abc-def0-0123-456789abcdef0"} {
		if _, err := parseADGUID(bad); err == nil {
			t.Fatalf("parseADGUID(%q) succeeded", bad)
		}
	}
	if _, err := formatADGUID(raw[:15]); err == nil {
		t.Fatal("15 bytes formatted")
	}
	if c, err := canonicalUUID("A0B1C2D3-E4F5-0617-2839-4A5B6C7D8E9F"); err != nil || c != "a0b1c2d3-e4f5-0617-2839-4a5b6c7d8e9f" {
		t.Fatalf("canonicalUUID = %q, %v", c, err)
	}
}

func FuzzADGUID(f *testing.F) {
	f.Add([]byte("0123456789abcdef"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := formatADGUID(raw)
		if len(raw) != 16 {
			if err == nil {
				t.Fatal("formatted a non-16-byte value")
			}
			return
		}
		back, err := parseADGUID(s)
		if err != nil || !bytes.Equal(back[:], raw) {
			t.Fatalf("round trip % x → %s → % x (%v)", raw, s, back, err)
		}
	})
}

func TestADTime(t *testing.T) {
	if got := fileTime(ticksTo1970); !got.Equal(time.Unix(0, 0)) {
		t.Fatalf("fileTime(1970) = %v", got)
	}
	// lockoutTime observed on Samba (directory-testing.md step 4c)
	if got := fileTime(134397996597420330); got.Year() != 2026 {
		t.Fatalf("fileTime = %v", got)
	}
	for _, v := range []int64{0, -1, math.MaxInt64} {
		if !fileTime(v).IsZero() {
			t.Fatalf("fileTime(%d) not zero", v)
		}
	}
	if got := adInterval(-5 * 60 * 1e7); got != 5*time.Minute {
		t.Fatalf("adInterval = %v", got)
	}
	if adInterval(math.MinInt64) != 0 || adInterval(0) != 0 {
		t.Fatal("never intervals")
	}
	if adInterval(-math.MaxInt64) != time.Duration(math.MaxInt64) {
		t.Fatal("cap")
	}
	if tm, ok := ldapTime("20261122054648Z"); !ok || tm.Hour() != 5 {
		t.Fatalf("ldapTime = %v %v", tm, ok)
	}
	if _, ok := ldapTime("20261201230855.654734Z"); !ok {
		t.Fatal("pwdFailureTime with fraction")
	}
}

func TestPolicyHints(t *testing.T) {
	if pickPolicyHints([]string{"1.2.840.113556.1.4.1413", OIDPolicyHintsDeprecated, OIDPolicyHints}) != OIDPolicyHints {
		t.Fatal("2239 not preferred")
	}
	if pickPolicyHints([]string{OIDPolicyHintsDeprecated}) != OIDPolicyHintsDeprecated {
		t.Fatal("2066")
	}
	if pickPolicyHints([]string{"1.2.840.113556.1.4.1413"}) != "" {
		t.Fatal("Samba 4.17 advertises neither")
	}
	b := policyHintsControl{oid: OIDPolicyHints}.Encode().Bytes()
	// criticality is the DER TRUE 0xFF, the value SEQUENCE{INTEGER 1}
	if !bytes.Contains(b, []byte{0x01, 0x01, 0xff}) || !bytes.HasSuffix(b, []byte{0x04, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01}) {
		t.Fatalf("control bytes % x", b)
	}
}

func TestCheckLogin_R51(t *testing.T) {
	for _, bad := range []string{"", "  ", "a\x00", "\x00", "a\nb", strings.Repeat("a", maxLoginLen+1), "\xff"} {
		if err := checkLogin("lookup", bad); err == nil {
			t.Fatalf("checkLogin(%q) accepted", bad)
		} else if ParseError(err).Code != NotFound {
			t.Fatalf("checkLogin(%q) code %v", bad, ParseError(err).Code)
		}
	}
	for _, ok := range []string{"alice", "*)(uid=*", "alice@corp.example.com", "CORP\\alice", "Jürgen"} {
		if err := checkLogin("lookup", ok); err != nil {
			t.Fatalf("checkLogin(%q): %v", ok, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{
		URLs:   []string{"ldaps://dc1.corp.example.com", "ldap://dc2.corp.example.com:389"},
		BindDN: "CN=svc,OU=Services,DC=corp,DC=example,DC=com", BindPassword: "x",
		BaseDN:  "DC=corp,DC=example,DC=com",
		Dialect: DialectAD, CertSHA256: strings.Repeat("AB:", 31) + "AB",
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	cases := []struct {
		field string
		mod   func(*Config)
	}{
		{"URLs:", func(c *Config) { c.URLs = nil }},
		{"URLs[0]", func(c *Config) { c.URLs = []string{"http://dc1"} }},
		{"URLs[1]", func(c *Config) { c.URLs = []string{"ldaps://dc1", "ldaps://"} }},
		{"URLs[0]", func(c *Config) { c.URLs = []string{"ldaps://user:pw@dc1"} }},
		{"URLs[0]", func(c *Config) { c.URLs = []string{"ldaps://dc1/dc=x?y"} }},
		{"CAPEM", func(c *Config) { c.CAPEM = []byte("not pem") }},
		{"CertSHA256", func(c *Config) { c.CertSHA256 = "abcd" }},
		{"BindDN", func(c *Config) { c.BindDN = " " }},
		{"BindPassword", func(c *Config) { c.BindPassword = "" }},
		{"BaseDN", func(c *Config) { c.BaseDN = "" }},
		{"BaseDN", func(c *Config) { c.BaseDN = "not a dn" }},
		{"Dialect", func(c *Config) { c.Dialect = "novell" }},
		{"PPolicyDN", func(c *Config) { c.PPolicyDN = "=broken" }},
		{"PoolSize", func(c *Config) { c.PoolSize = maxPoolSize + 1 }},
		{"PoolSize", func(c *Config) { c.PoolSize = -1 }},
		{"DialTimeout", func(c *Config) { c.DialTimeout = -time.Second }},
		{"OpTimeout", func(c *Config) { c.OpTimeout = -time.Second }},
	}
	for _, c := range cases {
		cfg := good
		cfg.URLs = append([]string(nil), good.URLs...)
		c.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Fatalf("%s: got %v", c.field, err)
		}
		if _, nerr := New(cfg); nerr == nil {
			t.Fatalf("%s: New accepted an invalid config", c.field)
		}
	}
	// every invalid field is reported at once
	err := Config{}.Validate()
	for _, f := range []string{"URLs", "BindDN", "BindPassword", "BaseDN", "Dialect"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Fatalf("empty config: %v lacks %s", err, f)
		}
	}
	d, err := New(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.(*adDirectory); !ok {
		t.Fatalf("New(ad) = %T", d)
	}
	d.Close()
	good.Dialect = DialectOpenLDAP
	d, err = New(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.(*openLDAPDirectory); !ok {
		t.Fatalf("New(openldap) = %T", d)
	}
	d.Close()
}
