package sqlite

import (
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// The store checks only what keeps its own data consistent; package tenants
// and the callers (operator CLI, admin API) validate the finer points.

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), store.ErrInvalid)
}

func validateTenant(t tenants.Tenant) error {
	switch {
	case strings.TrimSpace(t.Slug) == "":
		return invalidf("tenant slug is empty")
	case t.Slug != strings.ToLower(t.Slug):
		return invalidf("tenant slug %q is not lower-case", t.Slug)
	case strings.TrimSpace(t.Name) == "":
		return invalidf("tenant name is empty")
	}
	return nil
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
