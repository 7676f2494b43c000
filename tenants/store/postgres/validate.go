package postgres

import (
	"strings"

	"github.com/latchkey/latchkey/tenants"
)

// The store checks only what keeps its own data consistent; the callers
// (operator CLI, admin API) validate the finer points of their input.

func validateTenant(t tenants.Tenant) error {
	switch {
	case !isLabel(t.Slug):
		return invalidf("tenant slug %q is not a lower-case DNS label", t.Slug)
	case strings.TrimSpace(t.Name) == "":
		return invalidf("tenant name is empty")
	}
	return nil
}

// isLabel reports whether s is a lower-case DNS label: 1–63 characters from
// [a-z0-9-], not starting or ending with '-'. (Which slugs an operator may
// choose is the caller's business; the store only keeps the shape sound.)
func isLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validateHost(host string) error {
	if strings.TrimSpace(host) == "" {
		return invalidf("host is empty")
	}
	return nil
}

func validateOrganisation(o tenants.Organisation) error {
	if strings.TrimSpace(o.Name) == "" {
		return invalidf("organisation name is empty")
	}
	return nil
}

func validateUser(u tenants.User) error {
	if strings.TrimSpace(u.Username) == "" {
		return invalidf("username is empty")
	}
	return nil
}
