package i18n

import "context"

type ctxKey struct{}

// WithLang returns ctx carrying the language chosen for the request.
func WithLang(ctx context.Context, lang string) context.Context {
	return context.WithValue(ctx, ctxKey{}, lang)
}

// Lang returns the language carried by ctx, or Fallback.
func Lang(ctx context.Context) string {
	if l, ok := ctx.Value(ctxKey{}).(string); ok && l != "" {
		return l
	}
	return Fallback
}
