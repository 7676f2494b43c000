package challenge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/latchkey/latchkey/tenants"
)

// Rule names the push-fatigue limit that refused a push (security.md R29).
type Rule string

const (
	RuleFrozen    Rule = "frozen"     // self-service frozen after a "this wasn't me" report
	RuleDenials   Rule = "denials"    // too many denials in the window
	RuleMaxPushes Rule = "max_pushes" // too many pushes in the window
	RuleCooldown  Rule = "cooldown"   // too soon after the previous push
)

// ErrLimited is what every refusal by the Limiter wraps.
var ErrLimited = errors.New("push refused by the push-fatigue limits")

// RefusedError says which rule refused a push and when the next one is
// allowed. RetryAt is zero for RuleFrozen: pushes resume only when an admin
// lifts the freeze.
type RefusedError struct {
	Rule    Rule
	RetryAt time.Time
}

func (e *RefusedError) Error() string {
	if e.RetryAt.IsZero() {
		return fmt.Sprintf("%v: %s, until an admin lifts it", ErrLimited, e.Rule)
	}
	return fmt.Sprintf("%v: %s, next push at %s", ErrLimited, e.Rule, e.RetryAt.UTC().Format(time.RFC3339))
}

func (e *RefusedError) Unwrap() error { return ErrLimited }

// EventKind is what happened in a user's push history.
type EventKind string

const (
	EventPush     EventKind = "push"     // a push was allowed (and then sent)
	EventDenial   EventKind = "denial"   // denied, or approved with a wrong number
	EventApproval EventKind = "approval" // approved with the right number
	EventReport   EventKind = "report"   // "this wasn't me"
)

// Event is one entry of a user's push history.
type Event struct {
	Kind EventKind
	At   time.Time
}

// Record is a user's recent push history as History hands it to a guard.
type Record struct {
	Events []Event // oldest first, none before the since given to Append
	Frozen bool    // self-service frozen after a report
}

// History keeps each user's recent push events. A database backend runs
// Append in one transaction that locks the user's row, so two pushes
// decided at once cannot both pass a limit.
type History interface {
	// Append loads the user's record (events at or after since), calls guard
	// (when not nil) and, unless guard returns an error, appends ev. guard's
	// error is returned as is. It is atomic per user. Events before since
	// may be dropped.
	Append(ctx context.Context, tenant tenants.ID, user string, since time.Time, ev Event, guard func(Record) error) error
	// SetFrozen freezes or unfreezes the user's self-service.
	SetFrozen(ctx context.Context, tenant tenants.ID, user string, frozen bool) error
}

// Limits are the push-fatigue limits (security.md R29, recommendation 5).
type Limits struct {
	// Window is how far back pushes and denials count (default 10 min).
	// Only events after the user's last approval count.
	Window time.Duration
	// MaxPushes is the most pushes in the window (default 3).
	MaxPushes int
	// Cooldowns[k] is the wait after the previous push before the push
	// that has k earlier pushes in the window; the last entry repeats
	// (default 0, 30 s, 2 min).
	Cooldowns []time.Duration
	// MaxDenials stops pushes once this many denials are in the window
	// (default 2).
	MaxDenials int
}

// DefaultLimits returns the recommended limits.
func DefaultLimits() Limits {
	return Limits{Window: 10 * time.Minute, MaxPushes: 3, Cooldowns: []time.Duration{0, 30 * time.Second, 2 * time.Minute}, MaxDenials: 2}
}

// Limiter decides, before anything is sent, whether a user may get another
// push, and records the pushes it allows and the answers they got.
type Limiter struct {
	h   History
	l   Limits
	now func() time.Time
}

// NewLimiter returns a Limiter over h. Zero fields of l take their
// defaults; now defaults to time.Now.
func NewLimiter(h History, l Limits, now func() time.Time) (*Limiter, error) {
	if h == nil {
		return nil, errors.New("push limiter: missing history")
	}
	d := DefaultLimits()
	if l.Window == 0 {
		l.Window = d.Window
	}
	if l.MaxPushes == 0 {
		l.MaxPushes = d.MaxPushes
	}
	if l.Cooldowns == nil {
		l.Cooldowns = d.Cooldowns
	}
	if l.MaxDenials == 0 {
		l.MaxDenials = d.MaxDenials
	}
	if l.Window < 0 || l.MaxPushes < 1 || l.MaxDenials < 1 || len(l.Cooldowns) == 0 {
		return nil, fmt.Errorf("push limiter: invalid limits %+v", l)
	}
	for _, c := range l.Cooldowns {
		if c < 0 {
			return nil, fmt.Errorf("push limiter: negative cool-down %v", c)
		}
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{h: h, l: l, now: now}, nil
}

// Reserve decides whether the user may get a push now and, if so, records
// it, atomically. A refusal is a *RefusedError (wrapping ErrLimited). Call it
// before creating or sending anything; a push that then fails to send still
// counts.
func (l *Limiter) Reserve(ctx context.Context, tenant tenants.ID, user string) error {
	now := l.now()
	err := l.h.Append(ctx, tenant, user, now.Add(-l.l.Window), Event{Kind: EventPush, At: now}, func(r Record) error {
		return l.Decide(r, now)
	})
	var refused *RefusedError
	if err != nil && !errors.As(err, &refused) {
		return fmt.Errorf("reserve push: %w", err)
	}
	return err
}

// Decide applies the limits to r at now: nil if a push is allowed, else a
// *RefusedError with the first rule that refuses and the earliest time at
// which every rule allows a push again.
func (l *Limiter) Decide(r Record, now time.Time) error {
	rule, retry := l.evaluate(r, now)
	if rule == "" {
		return nil
	}
	if rule == RuleFrozen {
		return &RefusedError{Rule: rule}
	}
	// Another rule may still refuse at retry (a cool-down after the window
	// frees a slot); step forward until all allow. Each step passes at
	// least one event's deadline, so few steps are needed.
	at := retry
	for range 2*len(r.Events) + 2 {
		next, nextAt := l.evaluate(r, at)
		if next == "" {
			break
		}
		at = nextAt
	}
	return &RefusedError{Rule: rule, RetryAt: at}
}

// evaluate returns the first rule that refuses a push at t and when that
// rule alone would allow it, or "" when none refuses.
func (l *Limiter) evaluate(r Record, t time.Time) (Rule, time.Time) {
	if r.Frozen {
		return RuleFrozen, time.Time{}
	}
	var pushes, denials []time.Time
	for _, e := range r.Events {
		switch {
		case e.Kind == EventApproval:
			pushes, denials = pushes[:0], denials[:0] // a success starts afresh
		case !t.Before(e.At.Add(l.l.Window)) || e.At.After(t):
			// outside the window at t
		case e.Kind == EventPush:
			pushes = append(pushes, e.At)
		case e.Kind == EventDenial:
			denials = append(denials, e.At)
		}
	}
	if n := len(denials); n >= l.l.MaxDenials {
		return RuleDenials, denials[n-l.l.MaxDenials].Add(l.l.Window)
	}
	if n := len(pushes); n >= l.l.MaxPushes {
		return RuleMaxPushes, pushes[n-l.l.MaxPushes].Add(l.l.Window)
	}
	if n := len(pushes); n > 0 {
		wait := l.l.Cooldowns[min(n, len(l.l.Cooldowns)-1)]
		if next := pushes[n-1].Add(wait); t.Before(next) {
			return RuleCooldown, next
		}
	}
	return "", time.Time{}
}

// RecordOutcome notes how a challenge ended: an approval starts the limits
// afresh, a denial (also by a wrong number) counts towards the stop, a
// report records the event and freezes the user's self-service. Expiry
// records nothing. Alerting admins about a report is the caller's part.
func (l *Limiter) RecordOutcome(ctx context.Context, tenant tenants.ID, user string, s State) error {
	var kind EventKind
	switch s {
	case StateApproved:
		kind = EventApproval
	case StateDenied:
		kind = EventDenial
	case StateReported:
		kind = EventReport
	default:
		return nil
	}
	now := l.now()
	if err := l.h.Append(ctx, tenant, user, now.Add(-l.l.Window), Event{Kind: kind, At: now}, nil); err != nil {
		return fmt.Errorf("record push outcome: %w", err)
	}
	if kind == EventReport {
		if err := l.h.SetFrozen(ctx, tenant, user, true); err != nil {
			return fmt.Errorf("record push outcome: freeze: %w", err)
		}
	}
	return nil
}

// MemHistory is an in-memory History, safe for concurrent use, for tests
// and a single box.
type MemHistory struct {
	mu    sync.Mutex
	users map[histKey]*Record
}

type histKey struct {
	tenant tenants.ID
	user   string
}

var _ History = (*MemHistory)(nil)

// NewMemHistory returns an empty MemHistory.
func NewMemHistory() *MemHistory { return &MemHistory{users: map[histKey]*Record{}} }

// Append implements History.
func (h *MemHistory) Append(ctx context.Context, tenant tenants.ID, user string, since time.Time, ev Event, guard func(Record) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.user(tenant, user)
	i := 0
	for i < len(r.Events) && r.Events[i].At.Before(since) {
		i++
	}
	r.Events = r.Events[i:]
	if guard != nil {
		snapshot := Record{Events: append([]Event(nil), r.Events...), Frozen: r.Frozen}
		if err := guard(snapshot); err != nil {
			return err
		}
	}
	r.Events = append(r.Events, ev)
	return nil
}

// SetFrozen implements History.
func (h *MemHistory) SetFrozen(ctx context.Context, tenant tenants.ID, user string, frozen bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.user(tenant, user).Frozen = frozen
	return nil
}

func (h *MemHistory) user(tenant tenants.ID, user string) *Record {
	k := histKey{tenant, user}
	r, ok := h.users[k]
	if !ok {
		r = &Record{}
		h.users[k] = r
	}
	return r
}
