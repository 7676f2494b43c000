package notify

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"regexp"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// ErrRecipient is returned (wrapped) by Enqueue for a malformed recipient or
// channel.
var ErrRecipient = errors.New("notify: invalid recipient")

// e164 is an E.164 phone number: +, country code, up to 15 digits.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Outbox queues messages durably. Enqueue only writes to the store: it never
// waits for a provider, so a flow is never held up (or made to fail) by
// email or SMS delivery (R14, R60). A Worker delivers what is queued.
type Outbox struct {
	Store  store.Store
	Sealer *Sealer
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Wake, when set, is called after a message is queued (Worker.Wake), so
	// delivery starts at once instead of at the next poll.
	Wake func()
	// Rand is the source of message ids (nil: crypto/rand).
	Rand io.Reader
	// Logger receives Notify's template warnings (nil: slog.Default()).
	Logger *slog.Logger
}

// Enqueue seals c and stores it as a pending message of tenantID for to (an
// email address for MessageEmail, an E.164 number for MessageSMS), due now.
// It returns the message id.
func (o *Outbox) Enqueue(ctx context.Context, tenantID tenants.ID, ch tenants.MessageChannel, kind, to string, c Content) (string, error) {
	if err := checkRecipient(ch, to); err != nil {
		return "", err
	}
	if kind == "" {
		return "", errors.New("notify: enqueue: empty kind")
	}
	r := o.Rand
	if r == nil {
		r = rand.Reader
	}
	u, err := uuid.NewRandomFromReader(r)
	if err != nil {
		return "", fmt.Errorf("notify: message id: %w", err)
	}
	id := u.String()
	sealed, err := o.Sealer.Seal(tenantID, id, c)
	if err != nil {
		return "", err
	}
	now := clock(o.Now)()
	m, err := o.Store.Tenant(tenantID).EnqueueMessage(ctx, tenants.OutboxMessage{
		TenantID: tenantID, ID: id, Channel: ch, Kind: kind, To: to, Sealed: sealed,
		State: tenants.OutboxPending, NextAttemptAt: now, CreatedAt: now,
	})
	if err != nil {
		return "", fmt.Errorf("notify: enqueue %s %s: %w", ch, kind, err)
	}
	if o.Wake != nil {
		o.Wake()
	}
	return m.ID, nil
}

// Notify renders kind for tenant t in lang — Render for email, RenderSMS for
// SMS — and enqueues it for to. A *TemplateWarning (the tenant's template
// was broken, the default went out) is logged to Logger, not returned.
func (o *Outbox) Notify(ctx context.Context, t *tenants.Tenant, ch tenants.MessageChannel, kind, lang, to string, d Data) (string, error) {
	var c Content
	var err error
	if ch == tenants.MessageSMS {
		c.Text, err = RenderSMS(t, kind, lang, d)
	} else {
		c, err = Render(t, kind, lang, d)
	}
	var warn *TemplateWarning
	if errors.As(err, &warn) {
		o.log().WarnContext(ctx, "notify: tenant template not used", "tenant", string(t.ID), "kind", warn.Kind,
			"field", warn.Field, "err", warn.Err)
		err = nil
	}
	if err != nil {
		return "", err
	}
	return o.Enqueue(ctx, t.ID, ch, kind, to, c)
}

func (o *Outbox) log() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

func checkRecipient(ch tenants.MessageChannel, to string) error {
	switch ch {
	case tenants.MessageEmail:
		a, err := mail.ParseAddress(to)
		if err != nil || a.Address != to {
			return fmt.Errorf("%w: %q is not a plain email address", ErrRecipient, to)
		}
	case tenants.MessageSMS:
		if !e164.MatchString(to) {
			return fmt.Errorf("%w: %q is not an E.164 number", ErrRecipient, to)
		}
	default:
		return fmt.Errorf("%w: unknown channel %q", ErrRecipient, ch)
	}
	return nil
}

func clock(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}
