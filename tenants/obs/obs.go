// Package obs carries request, tenant and connector ids through a context and
// adds them to every log record: wrap any slog.Handler with NewHandler and log
// with the *Context methods (slog.InfoContext, …).
package obs

import (
	"context"
	"log/slog"
)

type key int

const (
	requestIDKey key = iota
	tenantIDKey
	connectorIDKey
)

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string { s, _ := ctx.Value(requestIDKey).(string); return s }

// WithTenantID returns ctx carrying the tenant id (for logs only; the tenant
// itself travels with tenants.With).
func WithTenantID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, tenantIDKey, id)
}

// TenantID returns the tenant id in ctx, or "".
func TenantID(ctx context.Context) string { s, _ := ctx.Value(tenantIDKey).(string); return s }

// WithConnectorID returns ctx carrying a connector id.
func WithConnectorID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, connectorIDKey, id)
}

// ConnectorID returns the connector id in ctx, or "".
func ConnectorID(ctx context.Context) string { s, _ := ctx.Value(connectorIDKey).(string); return s }

// Handler adds request_id, tenant_id and connector_id from the context to each record.
type Handler struct{ next slog.Handler }

// NewHandler wraps next.
func NewHandler(next slog.Handler) *Handler { return &Handler{next: next} }

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if v := RequestID(ctx); v != "" {
			r.AddAttrs(slog.String("request_id", v))
		}
		if v := TenantID(ctx); v != "" {
			r.AddAttrs(slog.String("tenant_id", v))
		}
		if v := ConnectorID(ctx); v != "" {
			r.AddAttrs(slog.String("connector_id", v))
		}
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler { return &Handler{next: h.next.WithAttrs(as)} }

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler { return &Handler{next: h.next.WithGroup(name)} }
