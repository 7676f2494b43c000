package portal

import (
	"fmt"
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewOps builds the operator app, meant for a separate listener that only
// the operator's network reaches: /metrics (deps.Registry in the Prometheus
// text format), /healthz and /readyz.
func NewOps(deps Deps) *fiber.App {
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	app := fiber.New(fiber.Config{
		AppName:               "latchkey-ops",
		DisableStartupMessage: true,
		ReadTimeout:           DefaultReadTimeout,
		WriteTimeout:          DefaultWriteTimeout,
		IdleTimeout:           DefaultIdleTimeout,
	})
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slogErrorLog{log}})))
	app.Get("/healthz", healthz)
	app.Get("/readyz", readyz(deps.Ready, log))
	return app
}

// slogErrorLog lets promhttp report gathering errors through slog.
type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Println(v ...any) {
	l.log.Error("metrics", "error", fmt.Sprint(v...))
}
