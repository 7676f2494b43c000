package i18n

import (
	"strings"

	"golang.org/x/text/language"
)

// Limits on what Choose reads from a request. Longer values are ignored, not
// truncated: no real browser sends them.
const (
	maxTagLength            = 35 // a language tag with region and script is far shorter
	maxAcceptLanguageLength = 1024
)

// Preference is everything a request and its tenant say about language.
type Preference struct {
	Query          string // the ?lang= parameter: an explicit choice
	Cookie         string // the remembered choice (lang cookie)
	AcceptLanguage string // the Accept-Language header
	TenantDefault  string // the tenant's DefaultLocale
}

// Choice is the language picked for a request.
type Choice struct {
	Lang string
	// Remember is true when the language came from a valid ?lang= parameter:
	// the caller should remember it (in the lang cookie).
	Remember bool
}

// Choose picks the language for a request, first match wins:
//  1. ?lang= naming a language with a catalog (then Remember is set);
//  2. the lang cookie naming one;
//  3. Accept-Language, negotiated with a language.Matcher ("de-CH" → de);
//  4. the tenant's default locale, when it has a catalog;
//  5. Fallback.
//
// Values that do not parse, are too long or name a language without a
// catalog are skipped.
func (c *Catalog) Choose(p Preference) Choice {
	if lang, ok := c.base(p.Query); ok {
		return Choice{Lang: lang, Remember: true}
	}
	if lang, ok := c.base(p.Cookie); ok {
		return Choice{Lang: lang}
	}
	if lang, ok := c.negotiate(p.AcceptLanguage); ok {
		return Choice{Lang: lang}
	}
	if lang, ok := c.base(p.TenantDefault); ok {
		return Choice{Lang: lang}
	}
	return Choice{Lang: Fallback}
}

// base returns the base language of tag ("de-AT" → "de") when it has a catalog.
func (c *Catalog) base(tag string) (string, bool) {
	tag = strings.TrimSpace(tag)
	if tag == "" || len(tag) > maxTagLength {
		return "", false
	}
	t, err := language.Parse(tag)
	if err != nil {
		return "", false
	}
	b, _ := t.Base()
	lang := b.String()
	return lang, c.Has(lang)
}

// negotiate matches an Accept-Language header against the catalogs.
func (c *Catalog) negotiate(header string) (string, bool) {
	if header == "" || len(header) > maxAcceptLanguageLength {
		return "", false
	}
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return "", false
	}
	matched, _, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return "", false
	}
	b, _ := matched.Base()
	lang := b.String()
	return lang, c.Has(lang)
}
