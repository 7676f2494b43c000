package i18n

import (
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	c, _ := load(t)
	for _, tc := range []struct {
		name string
		p    Preference
		want Choice
	}{
		{"nothing", Preference{}, Choice{Lang: "en"}},
		{"query wins", Preference{Query: "de", Cookie: "en", AcceptLanguage: "en"}, Choice{Lang: "de", Remember: true}},
		{"query with region", Preference{Query: "de-AT"}, Choice{Lang: "de", Remember: true}},
		{"unknown query ignored", Preference{Query: "fr", AcceptLanguage: "de"}, Choice{Lang: "de"}},
		{"junk query ignored", Preference{Query: "<script>", Cookie: "de"}, Choice{Lang: "de"}},
		{"cookie", Preference{Cookie: "de", AcceptLanguage: "en"}, Choice{Lang: "de"}},
		{"accept-language", Preference{AcceptLanguage: "de-CH,de;q=0.9,en;q=0.8"}, Choice{Lang: "de"}},
		{"accept-language order", Preference{AcceptLanguage: "fr-FR,en-GB;q=0.9,de;q=0.5"}, Choice{Lang: "en"}},
		{"accept-language no match uses tenant default", Preference{AcceptLanguage: "fr, ja", TenantDefault: "de"}, Choice{Lang: "de"}},
		{"tenant default", Preference{TenantDefault: "de"}, Choice{Lang: "de"}},
		{"unknown tenant default", Preference{TenantDefault: "xx"}, Choice{Lang: "en"}},
		{"malformed accept-language", Preference{AcceptLanguage: ";;;q=x", TenantDefault: "de"}, Choice{Lang: "de"}},
		{"huge accept-language ignored", Preference{AcceptLanguage: strings.Repeat("de,", 1000), TenantDefault: "en"}, Choice{Lang: "en"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.Choose(tc.p); got != tc.want {
				t.Errorf("Choose(%+v) = %+v, want %+v", tc.p, got, tc.want)
			}
		})
	}
}

// FuzzChoose: whatever a browser sends, the choice is a language that has a
// catalog, and only a query can ask to be remembered.
func FuzzChoose(f *testing.F) {
	f.Add("de", "", "de-CH,de;q=0.9", "en")
	f.Add("", "en", "*", "")
	f.Add("x-klingon", "de\x00", "en;q=abc,,,", "de")
	f.Add("", "", "zh-Hant-TW;q=0.8, de-1996", "fr")
	c, err := Load(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, query, cookie, accept, def string) {
		got := c.Choose(Preference{Query: query, Cookie: cookie, AcceptLanguage: accept, TenantDefault: def})
		if !c.Has(got.Lang) {
			t.Fatalf("chose %q, which has no catalog", got.Lang)
		}
		if got.Remember && query == "" {
			t.Fatalf("Remember without a query")
		}
	})
}
