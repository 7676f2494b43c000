package tenants

import (
	"context"
	"time"
)

// ID identifies a tenant. It is a random UUID in its canonical text form.
type ID string

// Tenant is one customer of the platform.
type Tenant struct {
	ID   ID
	Slug string // lower-case DNS label; the platform host is <slug>.<platform domain>
	Name string
	// CanonicalHost is the host every link sent to users is built from. Empty means
	// the platform host <slug>.<platform domain>.
	CanonicalHost string
	Branding      Branding
	// DefaultLocale is the message catalog language used when the browser asks for
	// none we have ("en" when empty).
	DefaultLocale string
	// Policy is the tenant-wide default policy; organisations override parts of it.
	Policy Policy
	// SelfService holds the self-service options beyond the factor policy
	// (questions, CAPTCHA, lockout, SMS limits and provider, templates).
	SelfService SelfServiceSettings
	// DefaultOrganisationID is the organisation a user falls into when no
	// organisation rule matches. Empty until the first organisation exists.
	DefaultOrganisationID string
	// ResourceVersion grows by one on every change; caches compare it.
	ResourceVersion int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Branding is what a tenant's users see of their company on the portal.
type Branding struct {
	DisplayName  string // shown in the header; defaults to the tenant's Name
	PrimaryColor string // "#rrggbb"
	AccentColor  string // "#rrggbb"
	// Logo is an image (PNG or SVG) served by the portal itself, never hot-linked.
	Logo            []byte
	LogoContentType string // "image/png" or "image/svg+xml"
	SupportText     string // e.g. "Call the help desk on 1234"
}

// Host is one host name that resolves to a tenant.
type Host struct {
	TenantID  ID
	Host      string // normalised (see NormalizeHost)
	Primary   bool   // the canonical host for links
	CreatedAt time.Time
}

type ctxKey struct{}

// With returns a context that carries t. The portal puts the tenant resolved from
// the Host header here; code below the handlers reads it with From.
func With(ctx context.Context, t *Tenant) context.Context {
	return context.WithValue(ctx, ctxKey{}, t)
}

// From returns the tenant carried by ctx, or nil when there is none. There is no
// default tenant: callers treat nil as "not found".
func From(ctx context.Context) *Tenant {
	t, _ := ctx.Value(ctxKey{}).(*Tenant)
	return t
}
