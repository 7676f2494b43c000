package postgres

import (
	"regexp"
	"testing"
)

// Ids and slugs arrive from outside (URLs, forms, the CLI). The fuzz tests
// hold the store's checks to independent regular expressions: an id reaches
// PostgreSQL's uuid parser only in canonical form, so a malformed one finds
// nothing instead of failing the query.

var canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func FuzzValidID(f *testing.F) {
	for _, s := range []string{
		"6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"6BA7B810-9DAD-11D1-80B4-00C04FD430C8",
		"{6ba7b810-9dad-11d1-80b4-00c04fd430c8}",
		"urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"6ba7b8109dad11d180b400c04fd430c8",
		"not-a-uuid", "", "' OR 1=1 --",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validID(s), canonicalUUID.MatchString(s); got != want {
			t.Errorf("validID(%q) = %v, want %v", s, got, want)
		}
	})
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func FuzzIsLabel(f *testing.F) {
	for _, s := range []string{"acme", "a", "a-b", "-a", "a-", "Acme", "a_b", "", "xn--bcher-kva", string(make([]byte, 64))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isLabel(s), dnsLabel.MatchString(s); got != want {
			t.Errorf("isLabel(%q) = %v, want %v", s, got, want)
		}
	})
}
