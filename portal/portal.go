// Package portal is the tenant web portal: the Fiber app every tenant's users
// reach on their own host, and the operator app (metrics and health).
//
// New wires the parts, each in its own package: middleware (recover, request
// id, security headers, access log, metrics, tenant by host, language), pages
// (thin handlers), view (embedded templates and assets), i18n (catalogs and
// language choice) and branding (per-tenant theme and logo). The portal
// reaches the tenant store only through the small interfaces in Deps; the
// command wires the real ones.
package portal

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/mobile-api"
	"github.com/latchkey/latchkey/portal/enrollapi"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/portal/i18n"
	"github.com/latchkey/latchkey/portal/middleware"
	"github.com/latchkey/latchkey/portal/pages"
	"github.com/latchkey/latchkey/portal/view"
	"github.com/latchkey/latchkey/push/approval"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/obs"
)

// Defaults for the zero values of Config.
const (
	DefaultBodyLimit    = 64 << 10
	DefaultReadTimeout  = 10 * time.Second
	DefaultWriteTimeout = 15 * time.Second
	DefaultIdleTimeout  = 60 * time.Second
	readyTimeout        = 3 * time.Second
)

// Config is the portal's process configuration.
type Config struct {
	// TrustedProxies are the peers whose forwarded headers are believed (R9).
	TrustedProxies tenants.TrustedProxies
	// TLS is true when browsers reach the portal over TLS (served with TLS or
	// behind a TLS-terminating proxy): it enables HSTS and Secure cookies.
	TLS bool
	// BodyLimit is the largest request body accepted (DefaultBodyLimit when 0);
	// a larger one is refused with 413.
	BodyLimit int
	// Links builds links from the tenant's configured host (never from the
	// request): canonical URLs now, links in messages later.
	Links tenants.LinkBuilder
	// Version is the build version, exported as latchkey_portal_build_info.
	Version string
	// ReadTimeout, WriteTimeout and IdleTimeout bound a connection's phases
	// (the Default… values when 0).
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
}

// TenantResolver finds the tenant that owns a host; see middleware.TenantResolver.
type TenantResolver = middleware.TenantResolver

// Deps are the portal's collaborators.
type Deps struct {
	// Resolver maps a host to its tenant. Required.
	Resolver TenantResolver
	// Ready reports whether the portal can serve (the store answers); /readyz
	// answers 503 while it fails. Nil means ready whenever the process is up.
	Ready func(ctx context.Context) error
	// Logger receives the access log and errors. Nil: slog.Default(). It is
	// wrapped with obs.NewHandler when it is not already, so every record
	// carries the request and tenant ids.
	Logger *slog.Logger
	// Registry receives the portal's metrics and is served by NewOps. Required.
	Registry *prometheus.Registry
	// Rand is the source of request ids. Nil: crypto/rand.
	Rand io.Reader
	// Enroller serves POST /connector/v1/enroll (connector/enroll.Service).
	// Nil: the endpoint is not mounted.
	Enroller enrollapi.Enroller
	// Dispatcher runs directory commands on the tenant's connectors (one
	// connector/hub.Dispatcher per process). The self-service flows will use
	// it; nil until a process has a hub.
	Dispatcher Dispatcher
	// Flow runs the self-service flows (portal/flow); nil: the action forms
	// answer that self-service is not enabled yet.
	Flow *flow.Engine
	// Account serves sessions and the settings pages.
	Account *pages.Account
	// DrawCaptcha draws a CAPTCHA's digits as PNG (portal/captcha).
	DrawCaptcha func(digits string) ([]byte, error)
	// Mobile serves the authenticator app's API under /api/mobile/v1 and
	// the enrollment link's page; nil: not mounted.
	Mobile *mobileapi.API
}

// Dispatcher sends one signed command to one of a tenant's connectors and
// returns its one definite outcome (connector/hub.Dispatcher).
type Dispatcher interface {
	Execute(ctx context.Context, tenantID string, req hub.Request) hub.Outcome
}

func (d *Deps) defaults() error {
	if d.Resolver == nil {
		return errors.New("portal: Deps.Resolver is required")
	}
	if d.Registry == nil {
		return errors.New("portal: Deps.Registry is required")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if _, ok := d.Logger.Handler().(*obs.Handler); !ok {
		d.Logger = slog.New(obs.NewHandler(d.Logger.Handler()))
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	return nil
}

func (c *Config) defaults() error {
	if c.BodyLimit < 0 {
		return fmt.Errorf("portal: Config.BodyLimit %d is negative", c.BodyLimit)
	}
	if c.BodyLimit == 0 {
		c.BodyLimit = DefaultBodyLimit
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return nil
}

// New builds the tenant portal app.
func New(cfg Config, deps Deps) (*fiber.App, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := deps.defaults(); err != nil {
		return nil, err
	}
	cat, err := i18n.Load(deps.Logger)
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	assets, err := view.LoadAssets()
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	renderer, err := view.NewRenderer(cat, assets)
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	metrics, err := middleware.NewMetrics(deps.Registry)
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	if err := registerBuildInfo(deps.Registry, cfg.Version); err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	errs := &errorPages{view: renderer, catalog: cat, log: deps.Logger, rand: deps.Rand, tls: cfg.TLS}

	app := fiber.New(fiber.Config{
		AppName:               "latchkey-portal",
		DisableStartupMessage: true,
		ErrorHandler:          errs.handle,
		BodyLimit:             cfg.BodyLimit,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		ReadBufferSize:        8 << 10,
		// Client IPs and hosts come from tenants.ClientView, which believes
		// forwarded headers only from cfg.TrustedProxies; Fiber's own proxy
		// support stays off (no ProxyHeader, no EnableTrustedProxyCheck).
	})

	h := &pages.Handlers{View: renderer, Assets: assets, Catalog: cat, Links: cfg.Links, Flow: deps.Flow, TLS: cfg.TLS,
		Account: deps.Account, DrawCaptcha: deps.DrawCaptcha}

	app.Use(middleware.Recover(deps.Logger))
	app.Use(middleware.RequestID(deps.Rand))
	app.Use(middleware.SecurityHeaders(cfg.TLS))
	app.Use(middleware.AccessLog(deps.Logger))
	app.Use(metrics.Handler())

	// Answered without a tenant: health for load balancers, and the static
	// assets, which are the same for every host.
	app.Get("/healthz", healthz)
	app.Get("/readyz", readyz(deps.Ready, deps.Logger))
	app.Get(pages.StaticRoute, h.Static)

	app.Use(middleware.Tenant(cfg.TrustedProxies, deps.Resolver, deps.Logger))
	// The connector API is JSON for machines: tenant by host, no language.
	if deps.Enroller != nil {
		enrollapi.Register(app, deps.Enroller, deps.Logger)
	}
	if deps.Mobile != nil {
		mobileapi.Register(app, deps.Mobile)
	}
	app.Use(middleware.Locale(cat, cfg.TLS))
	app.Use(middleware.SameOrigin(deps.Resolver, deps.Logger))
	h.Register(app)
	app.Get(approval.EnrollPath, h.MobileEnroll)
	return app, nil
}

// registerBuildInfo exports the version as a constant gauge.
func registerBuildInfo(reg prometheus.Registerer, version string) error {
	if version == "" {
		version = "unknown"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace:   "latchkey",
		Subsystem:   "portal",
		Name:        "build_info",
		Help:        "The portal's build version (always 1).",
		ConstLabels: prometheus.Labels{"version": version},
	})
	g.Set(1)
	if err := reg.Register(g); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return nil
		}
		return fmt.Errorf("register build info: %w", err)
	}
	return nil
}
