package notify

import (
	"context"
	"errors"

	"github.com/latchkey/latchkey/tenants"
)

// Email is one email as the worker hands it to an EmailSender.
type Email struct {
	// MessageID is the full Message-ID header value, "<outbox-id@latchkey>",
	// so that a rare redelivery after a crash is recognisable.
	MessageID string
	To        string
	Subject   string
	Text      string
	HTML      string // empty: text only
}

// EmailSender hands an email to a provider. A nil error means the provider
// accepted it. Wrap errors that retrying cannot fix with Permanent.
type EmailSender interface {
	SendEmail(ctx context.Context, m Email) error
}

// SMSSender hands an SMS to a provider, for tenant. A nil error means the
// provider accepted it. Wrap errors that retrying cannot fix with Permanent.
// The worker puts the outbox message id in ctx (MessageIDFromContext).
type SMSSender interface {
	SendSMS(ctx context.Context, tenant tenants.ID, to, text string) error
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying cannot fix (a rejected recipient,
// an invalid number): the worker gives the message up at once. Permanent(nil)
// is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type messageIDKey struct{}

// WithMessageID returns ctx carrying the outbox message id being sent.
func WithMessageID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, messageIDKey{}, id)
}

// MessageIDFromContext returns the outbox message id the worker is sending,
// or "".
func MessageIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(messageIDKey{}).(string)
	return id
}
