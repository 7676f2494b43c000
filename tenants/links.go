package tenants

import "strings"

// LinkBuilder builds the absolute URLs sent to users (reset links in emails,
// push context, QR codes). Links are always built from the tenant's own
// configuration and never from a request: the type takes no request, Host
// header or forwarded header at all, so a forged Host cannot poison a link
// (security.md R9).
type LinkBuilder struct {
	// PlatformDomain is the domain tenants' platform hosts live under
	// ("<slug>.<PlatformDomain>").
	PlatformDomain string
	// Scheme is "https" (the default when empty) or "http" for local demos.
	Scheme string
	// Port is added to every link unless empty or the scheme's default
	// ("443" for https, "80" for http). For local demos such as "8443".
	Port string
}

// Host returns the host a tenant's links use: its CanonicalHost, else its
// platform host.
func (b LinkBuilder) Host(t *Tenant) string {
	if t.CanonicalHost != "" {
		return t.CanonicalHost
	}
	return PlatformHost(t.Slug, b.PlatformDomain)
}

// URL returns "scheme://host[:port]/path" for t. path gets a leading '/' when
// it lacks one; it may carry a query ("/reset?flow=…") and is otherwise used
// as given, so callers escape what they put into it.
func (b LinkBuilder) URL(t *Tenant, path string) string {
	scheme := strings.ToLower(b.Scheme)
	if scheme == "" {
		scheme = "https"
	}
	host := b.Host(t)
	if b.Port != "" && !(scheme == "https" && b.Port == "443") && !(scheme == "http" && b.Port == "80") {
		host += ":" + b.Port
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return scheme + "://" + host + path
}
