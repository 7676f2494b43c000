package hub

import "testing"

// A connector enrolled without --domain (the documented install) serves
// every domain; one enrolled for domains serves those only. Before, the
// self-service flows — which name the account's domain — found such a
// connector Offline for everything but the lookup.
func TestConnectorEnrolledWithoutDomainsServesEveryDomain(t *testing.T) {
	for _, tc := range []struct {
		domains []string
		domain  string
		want    bool
	}{
		{nil, "", true},
		{nil, "corp.example.com", true},
		{[]string{"corp.example.com"}, "CORP.example.com.", true},
		{[]string{"corp.example.com"}, "", true},
		{[]string{"corp.example.com"}, "other.example.com", false},
	} {
		if got := (ConnectorRecord{Domains: tc.domains}).Serves(tc.domain); got != tc.want {
			t.Errorf("enrolled for %v, Serves(%q) = %t, want %t", tc.domains, tc.domain, got, tc.want)
		}
	}
}
