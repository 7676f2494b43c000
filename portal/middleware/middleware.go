// Package middleware holds the portal's Fiber middleware, applied in this
// order: Recover, RequestID, SecurityHeaders, AccessLog, Metrics, then (after
// the health endpoints) Tenant and Locale.
//
// Each middleware does one thing and keeps Fiber types at the edge: what later
// code needs (request id, tenant, client view, language) goes into the
// request's context (c.UserContext()), read with obs.RequestID, tenants.From,
// ClientFrom and i18n.Lang.
//
// AccessLog and Metrics observe the final status of a response. Fiber calls
// the app's ErrorHandler only after the whole chain has returned, so the
// innermost observer (Metrics) hands a returned error to the ErrorHandler
// itself, the way Fiber's own logger middleware does, and returns nil.
package middleware

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Locals keys this package uses.
const (
	localRoute       = "latchkey.route"
	localUnknownHost = "latchkey.unknown_host"
)

// RouteUnmatched is the route label of a request that reached no route (a
// 404 for a path nothing serves); RouteUnknownHost of one refused by Tenant.
const (
	RouteUnmatched   = "unmatched"
	RouteUnknownHost = "unknown_host"
)

// RouteLabel returns the route template that served c ("/static/:name"),
// never the raw path, so that logs and metric labels stay bounded.
func RouteLabel(c *fiber.Ctx) string {
	if v, ok := c.Locals(localRoute).(string); ok {
		return v
	}
	r := c.Route()
	// A "USE" route is a middleware: no handler matched (or a middleware
	// answered on its own). A nil-route fallback carries the raw path and
	// no handlers.
	if r == nil || r.Method == "USE" || len(r.Handlers) == 0 {
		return RouteUnmatched
	}
	return r.Path
}

// routerMiss reports whether err is the router's own answer when no handler
// route matched: 404 "Cannot GET /path" or 405. Fiber gives middleware and
// handler routes the same exported fields, so c.Route() alone cannot tell.
func routerMiss(err error) bool {
	var fe *fiber.Error
	if !errors.As(err, &fe) {
		return false
	}
	return fe.Code == fiber.StatusMethodNotAllowed || fe.Code == fiber.StatusNotFound && strings.HasPrefix(fe.Message, "Cannot ")
}

// IsUnknownHost reports whether Tenant refused the request's host.
func IsUnknownHost(c *fiber.Ctx) bool {
	v, _ := c.Locals(localUnknownHost).(bool)
	return v
}

// finish hands err to the app's ErrorHandler so the response is final when
// an observing middleware looks at it; a failing ErrorHandler leaves a bare 500.
func finish(c *fiber.Ctx, err error) {
	if err == nil {
		return
	}
	if routerMiss(err) {
		c.Locals(localRoute, RouteUnmatched)
	}
	if herr := c.App().ErrorHandler(c, err); herr != nil {
		_ = c.SendStatus(fiber.StatusInternalServerError)
	}
}

// methodLabel bounds the method label to the methods Fiber routes.
func methodLabel(m string) string {
	switch m {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
		fiber.MethodDelete, fiber.MethodOptions, fiber.MethodConnect, fiber.MethodTrace:
		return m
	}
	return "OTHER"
}
