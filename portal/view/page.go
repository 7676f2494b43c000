package view

// Page is what the layout needs to render any page; Body is the page's own
// data, read by its template as .Body.
type Page struct {
	Lang string
	// TitleKey is the catalog key of the page title (the tenant's name is
	// appended by the layout).
	TitleKey string
	// Brand is the tenant the page belongs to; nil on tenant-neutral pages
	// (the unknown-host 404 page and errors raised before a tenant is known).
	Brand *Brand
	// Canonical is the page's URL on the tenant's configured host (built from
	// configuration, never from the request), or "".
	Canonical string
	// Languages lists the language switch links; empty hides the switch.
	Languages []LanguageLink
	Body      any
}

// Brand is what a page shows of its tenant.
type Brand struct {
	Name        string
	SupportText string
	LogoURL     string // "" when the tenant has no logo to serve
	ThemeURL    string
}

// LanguageLink is one entry of the language switch.
type LanguageLink struct {
	Lang    string
	Name    string // the language's name in itself ("Deutsch")
	URL     string
	Current bool
}
