package tenants

import (
	"strings"
	"testing"
)

func TestNormalizeDN(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"CN=Ann,OU=Sales,DC=acme,DC=com", "cn=ann,ou=sales,dc=acme,dc=com", true},
		{"cn = Ann , ou=Sales,  dc=acme , dc=com ", "cn=ann,ou=sales,dc=acme,dc=com", true},
		{`CN=Lee\, Ann,OU=Sales,DC=acme`, `cn=lee\, ann,ou=sales,dc=acme`, true},
		{`CN=Trailing\ ,DC=acme`, `cn=trailing\ ,dc=acme`, true},
		{"CN=a + UID=b,DC=acme", "cn=a+uid=b,dc=acme", true},
		{"", "", true},
		{"CN=a,,DC=acme", "", false},
		{"CN=a,DC=acme,", "", false},
		{"just text", "", false},
		{"=a,DC=acme", "", false},
		{`CN=a\`, "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeDN(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("NormalizeDN(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMatchOrganisation(t *testing.T) {
	sales := Organisation{ID: "o-sales", Name: "Sales", Priority: 10, Rules: []MatchRule{{MatchDNSuffix, "OU=Sales,DC=acme,DC=com"}}}
	admins := Organisation{ID: "o-admins", Name: "Admins", Priority: 1, Rules: []MatchRule{{MatchGroup, "CN=Domain Admins,CN=Users,DC=acme,DC=com"}}}
	contractors := Organisation{ID: "o-contr", Name: "Contractors", Priority: 10, Rules: []MatchRule{{MatchUPNDomain, "@Contractors.Example"}}}
	// Same priority as Sales; "Alpha" sorts first by name.
	alpha := Organisation{ID: "o-alpha", Name: "Alpha", Priority: 10, Rules: []MatchRule{{MatchDNSuffix, "DC=acme,DC=com"}}}
	everyone := Organisation{ID: "o-default", Name: "Everyone", Priority: 100}
	orgs := []Organisation{everyone, sales, contractors, admins}

	tests := []struct {
		name   string
		orgs   []Organisation
		def    string
		u      DirectoryUser
		wantID string
		wantOK bool
	}{
		{"dn suffix, normalised", orgs, "o-default",
			DirectoryUser{DN: "cn=a,ou=sales, dc=acme,dc=com"}, "o-sales", true},
		{"dn suffix on RDN boundary only", orgs, "o-default",
			DirectoryUser{DN: "cn=a,ou=presales,dc=acme,dc=com"}, "o-default", true},
		{"dn suffix needs the whole suffix", orgs, "o-default",
			DirectoryUser{DN: "cn=a,ou=sales,dc=acme,dc=org"}, "o-default", true},
		{"nested OU under suffix", orgs, "o-default",
			DirectoryUser{DN: "CN=b,OU=Berlin,OU=Sales,DC=ACME,DC=COM"}, "o-sales", true},
		{"group by normalised DN equality", orgs, "o-default",
			DirectoryUser{DN: "cn=a,ou=sales,dc=acme,dc=com", Groups: []string{"cn=x,dc=acme,dc=com", "cn=domain admins, cn=users,dc=acme,dc=com"}}, "o-admins", true},
		{"group is not a suffix match", orgs, "o-default",
			DirectoryUser{DN: "cn=a,ou=it,dc=acme,dc=com", Groups: []string{"cn=sub,cn=domain admins,cn=users,dc=acme,dc=com"}}, "o-default", true},
		{"upn domain case-insensitive", orgs, "o-default",
			DirectoryUser{DN: "cn=a,ou=ext,dc=acme,dc=com", UPN: "bob@CONTRACTORS.example"}, "o-contr", true},
		{"upn subdomain does not match", orgs, "o-default",
			DirectoryUser{UPN: "bob@eu.contractors.example"}, "o-default", true},
		{"priority then name", []Organisation{sales, alpha}, "",
			DirectoryUser{DN: "cn=a,ou=sales,dc=acme,dc=com"}, "o-alpha", true},
		{"no match, no default", []Organisation{sales}, "",
			DirectoryUser{DN: "cn=a,ou=it,dc=acme,dc=com"}, "", false},
		{"no match, default missing", []Organisation{sales}, "o-gone",
			DirectoryUser{DN: "cn=a,ou=it,dc=acme,dc=com"}, "", false},
		{"garbage DN matches no DN rule", orgs, "o-default",
			DirectoryUser{DN: "ou=sales,,dc=acme,dc=com"}, "o-default", true},
		{"empty user", orgs, "o-default", DirectoryUser{}, "o-default", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MatchOrganisation(tt.orgs, tt.def, tt.u)
			if ok != tt.wantOK || got.ID != tt.wantID {
				t.Errorf("got %q, %v; want %q, %v", got.ID, ok, tt.wantID, tt.wantOK)
			}
		})
	}
	// The caller's slice is not reordered.
	if orgs[0].ID != "o-default" || orgs[3].ID != "o-admins" {
		t.Error("MatchOrganisation reordered its input")
	}
}

func TestMatchRuleEmptyValueNeverMatches(t *testing.T) {
	orgs := []Organisation{{ID: "x", Name: "x", Rules: []MatchRule{{MatchDNSuffix, ""}, {MatchGroup, " "}, {MatchUPNDomain, "@"}, {"bogus", "dc=acme"}}}}
	u := DirectoryUser{DN: "cn=a,dc=acme", UPN: "a@", Groups: []string{""}}
	if o, ok := MatchOrganisation(orgs, "", u); ok {
		t.Fatalf("matched %q", o.ID)
	}
}

// FuzzNormalizeDN: DNs come from the directory; parsing never panics and a
// normalised DN normalises to itself.
func FuzzNormalizeDN(f *testing.F) {
	for _, s := range []string{"CN=Ann,OU=Sales,DC=acme,DC=com", `cn=Lee\, Ann, dc=x`, `cn=a\ `, "a=b+c=d", ",,", `\`, "ÄÖ=ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dn string) {
		n, ok := NormalizeDN(dn)
		if !ok {
			return
		}
		again, ok := NormalizeDN(n)
		if !ok || again != n {
			t.Fatalf("NormalizeDN(%q) = %q, re-normalised %q, %v", dn, n, again, ok)
		}
		if n != "" && !strings.Contains(n, "=") {
			t.Fatalf("NormalizeDN(%q) = %q has no '='", dn, n)
		}
	})
}
