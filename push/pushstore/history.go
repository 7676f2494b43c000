package pushstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/push/challenge"
	"github.com/latchkey/latchkey/tenants"
)

// MaxEvents bounds the events kept per user. The limits allow three pushes
// per window, so a window holds a dozen events at most; the bound only
// matters against a corrupted or hostile row.
const MaxEvents = 64

// History is a challenge.History over the users' PushHistory and FrozenAt.
type History struct {
	scope Scope
	now   func() time.Time
}

var _ challenge.History = (*History)(nil)

// NewHistory returns a challenge.History over scope; now stamps freezes
// (FrozenAt) and defaults to time.Now.
func NewHistory(scope Scope, now func() time.Time) *History {
	if now == nil {
		now = time.Now
	}
	return &History{scope: scope, now: now}
}

// historyJSON is the stored form of a user's push history.
type historyJSON struct {
	Events []eventJSON `json:"events"`
}

type eventJSON struct {
	Kind challenge.EventKind `json:"kind"`
	At   time.Time           `json:"at"`
}

// errNoUpdate carries a guard's refusal out of UpdateUser without saving.
type errNoUpdate struct{ err error }

func (e errNoUpdate) Error() string { return e.err.Error() }

// Append implements challenge.History: it loads the user's events at or
// after since, runs guard inside the user's atomic update and appends ev
// unless guard refuses, in which case nothing is written and guard's error
// is returned as is.
func (h *History) Append(ctx context.Context, tenant tenants.ID, user string, since time.Time, ev challenge.Event, guard func(challenge.Record) error) error {
	_, err := h.scope(tenant).UpdateUser(ctx, user, func(u *tenants.User) error {
		events, err := DecodeHistory(u.PushHistory)
		if err != nil {
			return err
		}
		i := 0
		for i < len(events) && events[i].At.Before(since) {
			i++
		}
		events = events[i:]
		if guard != nil {
			if err := guard(challenge.Record{Events: append([]challenge.Event(nil), events...), Frozen: !u.FrozenAt.IsZero()}); err != nil {
				return errNoUpdate{err}
			}
		}
		events = append(events, challenge.Event{Kind: ev.Kind, At: ev.At.UTC()})
		if len(events) > MaxEvents {
			events = events[len(events)-MaxEvents:]
		}
		u.PushHistory, err = EncodeHistory(events)
		return err
	})
	var refused errNoUpdate
	if errors.As(err, &refused) {
		return refused.err
	}
	if err != nil {
		return fmt.Errorf("push history of user %s: %w", user, err)
	}
	return nil
}

// SetFrozen implements challenge.History: freezing sets the user's FrozenAt
// (kept when already set), unfreezing clears it. The flow engine refuses
// self-service while FrozenAt is set, and the limiter refuses pushes.
func (h *History) SetFrozen(ctx context.Context, tenant tenants.ID, user string, frozen bool) error {
	now := h.now().UTC()
	_, err := h.scope(tenant).UpdateUser(ctx, user, func(u *tenants.User) error {
		switch {
		case !frozen:
			u.FrozenAt = time.Time{}
		case u.FrozenAt.IsZero():
			u.FrozenAt = now
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("freeze user %s: %w", user, err)
	}
	return nil
}

// DecodeHistory reads a stored push history (empty: no events). Events come
// back oldest first.
func DecodeHistory(b []byte) ([]challenge.Event, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var h historyJSON
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("decode push history: %w", err)
	}
	out := make([]challenge.Event, 0, len(h.Events))
	for _, e := range h.Events {
		switch e.Kind {
		case challenge.EventPush, challenge.EventDenial, challenge.EventApproval, challenge.EventReport:
		default:
			return nil, fmt.Errorf("decode push history: unknown event %q", e.Kind)
		}
		out = append(out, challenge.Event{Kind: e.Kind, At: e.At.UTC()})
	}
	return out, nil
}

// EncodeHistory returns the stored form of events.
func EncodeHistory(events []challenge.Event) ([]byte, error) {
	h := historyJSON{Events: make([]eventJSON, len(events))}
	for i, e := range events {
		h.Events[i] = eventJSON{Kind: e.Kind, At: e.At.UTC()}
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode push history: %w", err)
	}
	return b, nil
}
