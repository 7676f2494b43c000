package samba

import (
	"strings"
	"testing"
	"unicode"
)

func TestRandomPasswordMeetsTheDCAndTenantPolicies(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		pw := RandomPassword()
		var upper, lower, digit, other bool
		for _, r := range pw {
			switch {
			case unicode.IsUpper(r):
				upper = true
			case unicode.IsLower(r):
				lower = true
			case unicode.IsDigit(r):
				digit = true
			default:
				other = true
			}
		}
		if len(pw) < 12 || !upper || !lower || !digit || !other {
			t.Fatalf("%q is too weak", pw)
		}
		if seen[pw] {
			t.Fatalf("%q repeated", pw)
		}
		seen[pw] = true
	}
}

func TestDeleteByPrefixRefusesWildPrefixes(t *testing.T) {
	c := Config{URL: "ldaps://127.0.0.2:636"} // never dialled: the prefix is refused first
	for _, p := range []string{"", "lg", "lgen*", "a(b"} {
		if _, err := c.DeleteByPrefix(p); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("prefix %q: %v", p, err)
		}
	}
}

func TestValidateNamesTheMissingSettings(t *testing.T) {
	err := Config{URL: "ldaps://x"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "LATCHKEY_TEST_SAMBA_ADMIN_DN") || strings.Contains(err.Error(), "SAMBA_URL") {
		t.Fatalf("%v", err)
	}
}
