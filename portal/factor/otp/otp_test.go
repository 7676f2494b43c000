package otp

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
)

var testKey = bytes.Repeat([]byte{0x5a}, 32)

const binding = "t1|flow-abc|reset|email|a@example.com"

// TestCodeLengthAndCharset_R20: codes have the configured number of ASCII
// digits (6 by default, 6..10 allowed), drawn from crypto/rand by default.
func TestCodeLengthAndCharset_R20(t *testing.T) {
	for _, digits := range []int{0, 6, 8, 10} {
		c := Codes{Key: testKey, Digits: digits}
		want := digits
		if want == 0 {
			want = 6
		}
		for range 200 {
			code, mac, err := c.New(binding)
			if err != nil {
				t.Fatal(err)
			}
			if len(code) != want {
				t.Fatalf("digits=%d: code %q has length %d", digits, code, len(code))
			}
			if strings.Trim(code, "0123456789") != "" {
				t.Fatalf("code %q has a non-digit", code)
			}
			if len(mac) != 32 {
				t.Fatalf("mac length %d", len(mac))
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		c    Codes
		want error
	}{
		{"short key", Codes{Key: testKey[:31]}, ErrShortKey},
		{"no key", Codes{}, ErrShortKey},
		{"5 digits", Codes{Key: testKey, Digits: 5}, ErrBadDigits},
		{"11 digits", Codes{Key: testKey, Digits: 11}, ErrBadDigits},
		{"negative", Codes{Key: testKey, Digits: -6}, ErrBadDigits},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := tc.c.New(binding); !errors.Is(err, tc.want) {
				t.Fatalf("New: err = %v, want %v", err, tc.want)
			}
			// A misconfigured Codes never accepts anything.
			if tc.c.Check(binding, "123456", make([]byte, 32)) {
				t.Fatal("Check accepted with a bad config")
			}
		})
	}
}

// TestDigitsUniform_R20 is a loose sanity check of the distribution with the
// real crypto/rand: a chi-square over 10 bins per position with a bound far
// in the tail (60 with 9 degrees of freedom: p < 1e-8), so it catches gross
// faults such as a stuck or missing digit, not subtle bias. Modulo bias
// (which would give chi² ≈ 4 here, invisible to this test) is ruled out
// deterministically by TestDigitsRejectBiasedBytes_R20.
func TestDigitsUniform_R20(t *testing.T) {
	const n, length = 10000, 6
	var counts [length][10]int
	for range n {
		code, err := Digits(rand.Reader, length)
		if err != nil {
			t.Fatal(err)
		}
		for i := range length {
			counts[i][code[i]-'0']++
		}
	}
	for pos := range length {
		exp := float64(n) / 10
		chi := 0.0
		for _, c := range counts[pos] {
			d := float64(c) - exp
			chi += d * d / exp
		}
		if chi > 60 {
			t.Errorf("position %d: chi² = %.1f over %v", pos, chi, counts[pos])
		}
	}
}

// TestDigitsRejectBiasedBytes_R20: bytes 250..255 would bias digits 0–5 if
// reduced modulo 10; they are skipped instead.
func TestDigitsRejectBiasedBytes_R20(t *testing.T) {
	src := []byte{250, 251, 252, 253, 254, 255, 3, 249, 0, 255, 10, 99, 7}
	got, err := Digits(bytes.NewReader(append(src, make([]byte, 64)...)), 6)
	if err != nil {
		t.Fatal(err)
	}
	if got != "390097" {
		t.Fatalf("got %q, want 390097 (bytes ≥ 250 skipped, others mod 10)", got)
	}
	// Every byte value below 250 maps to each digit exactly 25 times.
	var per [10]int
	for b := range 250 {
		d, err := Digits(bytes.NewReader(append([]byte{byte(b)}, make([]byte, 8)...)), 1)
		if err != nil {
			t.Fatal(err)
		}
		per[d[0]-'0']++
	}
	for d, c := range per {
		if c != 25 {
			t.Fatalf("digit %d from %d byte values, want 25", d, c)
		}
	}
}

func TestDigitsReaderFailure(t *testing.T) {
	// A source that only ever yields rejected bytes and then ends.
	r := io.LimitReader(bytes.NewReader(bytes.Repeat([]byte{255}, 100)), 100)
	if _, err := Digits(r, 6); err == nil {
		t.Fatal("no error from an exhausted reader")
	}
	c := Codes{Key: testKey, Rand: strings.NewReader("")}
	if _, _, err := c.New(binding); err == nil {
		t.Fatal("New: no error from an empty reader")
	}
}

// TestCheck_R20_R22: the right code checks; the MAC is not the code and
// does not contain it; any other code fails.
func TestCheck_R20_R22(t *testing.T) {
	c := Codes{Key: testKey}
	code, mac, err := c.New(binding)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Check(binding, code, mac) {
		t.Fatal("right code rejected")
	}
	if bytes.Contains(mac, []byte(code)) {
		t.Fatal("mac contains the code")
	}
	wrong := []byte(code)
	wrong[0] = '0' + (wrong[0]-'0'+1)%10
	if c.Check(binding, string(wrong), mac) {
		t.Fatal("wrong code accepted")
	}
	if c.Check(binding, code, mac[:31]) || c.Check(binding, code, nil) {
		t.Fatal("truncated mac accepted")
	}
	other := Codes{Key: bytes.Repeat([]byte{1}, 32)}
	if other.Check(binding, code, mac) {
		t.Fatal("code checked under another key")
	}
}

// TestCheckWrongBinding_R7: a code works only for its own tenant, flow,
// purpose, factor and destination.
func TestCheckWrongBinding_R7(t *testing.T) {
	c := Codes{Key: testKey}
	code, mac, err := c.New(binding)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{
		"t2|flow-abc|reset|email|a@example.com",  // other tenant
		"t1|flow-xyz|reset|email|a@example.com",  // other flow
		"t1|flow-abc|unlock|email|a@example.com", // unlock code in a reset
		"t1|flow-abc|reset|sms|a@example.com",    // other factor
		"t1|flow-abc|reset|email|b@example.com",  // other destination
		"",
	} {
		if c.Check(b, code, mac) {
			t.Errorf("code accepted for binding %q", b)
		}
	}
}

// TestResendReplacesCode_R20: after a resend the caller keeps only the new
// MAC, and the old code does not check against it.
func TestResendReplacesCode_R20(t *testing.T) {
	// Deterministic, distinct codes so the test cannot pass by luck.
	c := Codes{Key: testKey, Rand: bytes.NewReader([]byte{1, 2, 3, 4, 5, 6, 0, 0, 6, 5, 4, 3, 2, 1, 0, 0})}
	old, _, err := c.New(binding)
	if err != nil {
		t.Fatal(err)
	}
	fresh, mac, err := c.New(binding)
	if err != nil {
		t.Fatal(err)
	}
	if old != "123456" || fresh != "654321" {
		t.Fatalf("codes %q, %q", old, fresh)
	}
	if c.Check(binding, old, mac) {
		t.Fatal("old code accepted after resend")
	}
	if !c.Check(binding, fresh, mac) {
		t.Fatal("new code rejected")
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"123456", "123456", true},
		{" 123 456 ", "123456", true},
		{"123-456", "123456", true},
		{"123\u00a0456", "123456", true},                 // NBSP
		{"１２３４５６", "123456", true},                       // full-width digits
		{"123\u2013456", "123456", true},                 // en dash
		{"123\u2212456", "123456", true},                 // minus sign
		{"123\u3000456", "123456", true},                 // ideographic space
		{"12345", "", false},                             // short
		{"1234567", "", false},                           // long
		{"12345a", "", false},                            // letter
		{"١٢٣٤٥٦", "", false},                            // Arabic-Indic digits are not ASCII after NFKC
		{"123.456", "", false},                           // dot is not a separator we accept
		{"", "", false},                                  //
		{strings.Repeat(" ", 200) + "123456", "", false}, // over the input bound
	}
	for _, tc := range cases {
		got, ok := Normalize(tc.in, 6)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestCheckAcceptsTypedForms_R20: users type the code with spaces, dashes
// or full-width digits; those still check.
func TestCheckAcceptsTypedForms_R20(t *testing.T) {
	c := Codes{Key: testKey, Digits: 8}
	code, mac, err := c.New(binding)
	if err != nil {
		t.Fatal(err)
	}
	full := strings.Map(func(r rune) rune { return r - '0' + '０' }, code)
	for _, in := range []string{code, code[:4] + " " + code[4:], code[:4] + "-" + code[4:], full} {
		if !c.Check(binding, in, mac) {
			t.Errorf("typed form %q rejected", in)
		}
	}
}

func FuzzCheck(f *testing.F) {
	c := Codes{Key: testKey}
	code, mac, err := c.New(binding)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{code, "１２３４５６", "12-34 56", "", "\xff\xfe", "١٢٣٤٥٦"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		norm, ok := Normalize(in, 6)
		if ok && (len(norm) != 6 || strings.Trim(norm, "0123456789") != "") {
			t.Fatalf("Normalize(%q) = %q", in, norm)
		}
		if c.Check(binding, in, mac) && norm != code {
			t.Fatalf("Check accepted %q (normalised %q), code is %q", in, norm, code)
		}
	})
}
