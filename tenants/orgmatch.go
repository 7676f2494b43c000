package tenants

import (
	"cmp"
	"slices"
	"strings"
)

// DirectoryUser is what organisation matching knows about a directory user.
type DirectoryUser struct {
	DN     string   // distinguished name, e.g. "CN=Ann,OU=Sales,DC=acme,DC=com"
	UPN    string   // userPrincipalName, e.g. "ann@acme.com"
	Groups []string // DNs of the groups the user is a member of
}

// MatchOrganisation picks the organisation a user belongs to: the first of
// orgs, ordered by Priority and then Name (then ID, so the order is total), that
// has a rule matching u. Rules compare:
//
//   - dn_suffix: u.DN ends with the rule's DN on an RDN boundary
//     ("OU=Sales,DC=acme,DC=com" matches "cn=a,ou=sales, dc=acme,dc=com" but
//     not "cn=a,ou=presales,dc=acme,dc=com");
//   - group: one of u.Groups equals the rule's DN;
//   - upn_domain: the part of u.UPN after the last '@' equals the rule's
//     domain (a leading '@' in the rule is allowed).
//
// DNs are compared case-insensitively with whitespace around '=', ',' and '+'
// removed (escaped characters are kept as written). When no rule matches, the
// organisation with ID defaultID is returned; false when there is none.
func MatchOrganisation(orgs []Organisation, defaultID string, u DirectoryUser) (Organisation, bool) {
	sorted := slices.Clone(orgs)
	slices.SortStableFunc(sorted, func(a, b Organisation) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	user := matchInput{upnDomain: upnDomain(u.UPN)}
	user.dn, user.dnOK = parseDN(u.DN)
	for _, g := range u.Groups {
		if rdns, ok := parseDN(g); ok {
			user.groups = append(user.groups, strings.Join(rdns, ","))
		}
	}
	for _, o := range sorted {
		for _, r := range o.Rules {
			if r.matches(user) {
				return o, true
			}
		}
	}
	if defaultID != "" {
		for _, o := range orgs {
			if o.ID == defaultID {
				return o, true
			}
		}
	}
	return Organisation{}, false
}

// matchInput is a DirectoryUser in normalised form.
type matchInput struct {
	dn        []string
	dnOK      bool
	groups    []string
	upnDomain string
}

func (r MatchRule) matches(u matchInput) bool {
	switch r.Kind {
	case MatchDNSuffix:
		suffix, ok := parseDN(r.Value)
		if !ok || !u.dnOK || len(suffix) == 0 || len(suffix) > len(u.dn) {
			return false
		}
		return slices.Equal(u.dn[len(u.dn)-len(suffix):], suffix)
	case MatchGroup:
		g, ok := parseDN(r.Value)
		return ok && len(g) > 0 && slices.Contains(u.groups, strings.Join(g, ","))
	case MatchUPNDomain:
		d := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(r.Value), "@"), "."))
		return d != "" && d == u.upnDomain
	}
	return false
}

func upnDomain(upn string) string {
	i := strings.LastIndexByte(upn, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(upn[i+1:]), "."))
}

// NormalizeDN returns dn in the form organisation matching compares: RDNs
// joined by ',', each "attr=value" lower-cased with whitespace around '=', ','
// and '+' removed. ok is false when dn is not a distinguished name (an empty
// RDN, an RDN without '=', an empty attribute name, a dangling escape).
func NormalizeDN(dn string) (string, bool) {
	rdns, ok := parseDN(dn)
	return strings.Join(rdns, ","), ok
}

// parseDN splits a DN (RFC 4514) into normalised RDNs, left to right. An empty
// string is a DN with no RDNs.
func parseDN(dn string) ([]string, bool) {
	if strings.TrimSpace(dn) == "" {
		return nil, true
	}
	parts, ok := splitUnescaped(dn, ',')
	if !ok {
		return nil, false
	}
	rdns := make([]string, 0, len(parts))
	for _, part := range parts {
		avas, _ := splitUnescaped(part, '+')
		norm := make([]string, 0, len(avas))
		for _, ava := range avas {
			i := indexUnescaped(ava, '=')
			if i < 0 {
				return nil, false
			}
			attr := strings.ToLower(strings.TrimSpace(ava[:i]))
			if attr == "" {
				return nil, false
			}
			norm = append(norm, attr+"="+strings.ToLower(trimUnescapedSpace(ava[i+1:])))
		}
		rdns = append(rdns, strings.Join(norm, "+"))
	}
	return rdns, true
}

// splitUnescaped splits s at every sep not preceded by a backslash escape.
// ok is false when s ends in a dangling backslash.
func splitUnescaped(s string, sep byte) ([]string, bool) {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) {
				return nil, false
			}
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:]), true
}

// indexUnescaped returns the index of the first c in s not escaped by a backslash.
func indexUnescaped(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case c:
			return i
		}
	}
	return -1
}

// trimUnescapedSpace removes leading whitespace and trailing whitespace that is
// not escaped ("sales\ " keeps its escaped final space).
func trimUnescapedSpace(s string) string {
	s = strings.TrimLeft(s, " \t\r\n")
	for len(s) > 0 && strings.IndexByte(" \t\r\n", s[len(s)-1]) >= 0 {
		// Count the backslashes before the final character.
		n := 0
		for j := len(s) - 2; j >= 0 && s[j] == '\\'; j-- {
			n++
		}
		if n%2 == 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}
