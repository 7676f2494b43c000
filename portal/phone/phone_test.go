package phone

import (
	"errors"
	"strings"
	"testing"
)

// TestParseMobile_R23: numbers as people type them become E.164 with their
// region; mobile and fixed-line-or-mobile (US) numbers are accepted.
func TestParseMobile_R23(t *testing.T) {
	cases := []struct {
		raw, region string
		want        Number
	}{
		{"079 123 45 67", "CH", Number{"+41791234567", "CH"}},
		{"079 123 45 67", "ch", Number{"+41791234567", "CH"}},
		{"+41 79 123 45 67", "", Number{"+41791234567", "CH"}},
		{"0041 79 123 45 67", "CH", Number{"+41791234567", "CH"}},
		{"+41 79 123 45 67", "DE", Number{"+41791234567", "CH"}}, // explicit country code wins
		{"  +49 1512 3456789 ", "", Number{"+4915123456789", "DE"}},
		{"+44 7400 123456", "", Number{"+447400123456", "GB"}},
		{"+33 6 12 34 56 78", "", Number{"+33612345678", "FR"}},
		{"(201) 555-0123", "US", Number{"+12015550123", "US"}}, // FIXED_LINE_OR_MOBILE
		{"+1 650 253 0000", "", Number{"+16502530000", "US"}},
	}
	for _, tc := range cases {
		got, err := Parse(tc.raw, tc.region)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q, %q) = %+v, %v; want %+v", tc.raw, tc.region, got, err, tc.want)
		}
	}
}

// TestParseRejects_R23: what cannot receive an SMS is refused with an error
// that says why.
func TestParseRejects_R23(t *testing.T) {
	cases := []struct {
		raw, region string
		want        error
	}{
		{"", "CH", ErrNotANumber},
		{"abc", "CH", ErrNotANumber},
		{"0791234567", "", ErrNotANumber}, // no country code, no default region
		{"0791234567", "ZZ", ErrNotANumber},
		{"+999 1234567", "", ErrNotANumber}, // no such country code
		{strings.Repeat("1", 101), "CH", ErrNotANumber},
		{"+41 79 123 45 67\xff", "", ErrNotANumber},
		{"123", "CH", ErrInvalid},
		{"+41 79 123 45 67 ext. 5", "", ErrInvalid},
		{"+41 79 123 4", "", ErrInvalid},
		{"+41 44 668 18 00", "", ErrNotMobile}, // fixed line
		{"0800 123 456", "CH", ErrNotMobile},   // toll free
		{"+41 900 123 456", "", ErrNotMobile},  // premium rate
	}
	for _, tc := range cases {
		got, err := Parse(tc.raw, tc.region)
		if !errors.Is(err, tc.want) || got != (Number{}) {
			t.Errorf("Parse(%q, %q) = %+v, %v; want %v", tc.raw, tc.region, got, err, tc.want)
		}
	}
}

// TestAllowed_R24: the tenant's country allow-list (any case); an empty
// list allows any region.
func TestAllowed_R24(t *testing.T) {
	ch := Number{"+41791234567", "CH"}
	gg := Number{"+447911123456", "GG"}
	for _, tc := range []struct {
		n     Number
		allow []string
		want  bool
	}{
		{ch, nil, true},
		{ch, []string{}, true},
		{ch, []string{"CH"}, true},
		{ch, []string{"de", " ch "}, true},
		{ch, []string{"DE", "AT"}, false},
		{gg, []string{"GB"}, false}, // Guernsey shares +44 but is its own region
		{Number{}, []string{""}, false},
	} {
		if got := Allowed(tc.n, tc.allow); got != tc.want {
			t.Errorf("Allowed(%v, %q) = %v", tc.n, tc.allow, got)
		}
	}
}

// TestMask_R23: the number is recognisable to its owner (country and last
// two digits) and to nobody else.
func TestMask_R23(t *testing.T) {
	for in, want := range map[string]string{
		"+41791234567":   "+41 •• ••• •• 67",
		"+4915123456789": "+49 •••• •••••89",
		"+12015550123":   "+1 •••-•••-••23",
		"+99912345678":   "+•••••••••78", // not a number we can format
		"12":             "+••",
		"":               "",
		"no digits":      "",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"079 123 45 67", "+41 79 123 45 67", "+1 (650) 253-0000", "0041791234567", "+", "++41", "tel:+41-79-123-45-67", "+41 79 123 45 67;ext=1", "\xff"} {
		f.Add(s, "CH")
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		n, err := Parse(raw, region)
		if err != nil {
			if n != (Number{}) {
				t.Fatalf("error %v with a number %+v", err, n)
			}
			if !errors.Is(err, ErrNotANumber) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNotMobile) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if !strings.HasPrefix(n.E164, "+") || strings.Trim(n.E164[1:], "0123456789") != "" || len(n.Region) != 2 {
			t.Fatalf("Parse(%q, %q) = %+v", raw, region, n)
		}
		// The stored form parses back to itself, without a default region.
		again, err := Parse(n.E164, "")
		if err != nil || again != n {
			t.Fatalf("E.164 %q parses back to %+v, %v", n.E164, again, err)
		}
		if m := Mask(n.E164); !strings.HasSuffix(m, n.E164[len(n.E164)-2:]) || strings.Contains(m, n.E164[len(n.E164)-6:len(n.E164)-2]) {
			t.Fatalf("Mask(%q) = %q", n.E164, m)
		}
	})
}
