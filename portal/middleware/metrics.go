package middleware

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts requests and measures their duration, labelled by method,
// route template (never the raw path, to keep the label set bounded) and
// status.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the portal's HTTP metrics on reg. Registering on a
// registry that already has them reuses the registered collectors.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "latchkey",
		Subsystem: "portal",
		Name:      "http_requests_total",
		Help:      "HTTP requests served by the portal, by method, route template and status.",
	}, []string{"method", "route", "status"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "latchkey",
		Subsystem: "portal",
		Name:      "http_request_duration_seconds",
		Help:      "Time to serve portal HTTP requests, by method and route template.",
		Buckets:   prometheus.DefBuckets,
	}, []string{"method", "route"})
	var err error
	if requests, err = register(reg, requests); err != nil {
		return nil, err
	}
	if duration, err = register(reg, duration); err != nil {
		return nil, err
	}
	return &Metrics{requests: requests, duration: duration}, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("register portal metrics: %w", err)
	}
	return c, nil
}

// Handler is the middleware. As the innermost observer it hands errors to the
// app's ErrorHandler (see the package comment).
func (m *Metrics) Handler() fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		done := false
		defer func() {
			status := c.Response().StatusCode()
			if !done {
				status = fiber.StatusInternalServerError // panicking
			}
			method, route := methodLabel(c.Method()), RouteLabel(c)
			m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
			m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		}()
		finish(c, c.Next())
		done = true
		return nil
	}
}
