// Package check holds the input checks of the self-service storage (flows,
// sessions, counters, outbox, devices, push challenges) that both backends
// apply before they write, so that SQLite and PostgreSQL refuse exactly the
// same input with store.ErrInvalid instead of one storing what the other's
// driver rejects.
package check

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// Limits of the self-service tables (the migrations hold the same CHECKs).
const (
	MaxFlowState  = 64 << 10 // bytes of a flow's State
	MaxCounterKey = 256      // bytes of a counter key
	MaxSealed     = 1 << 20  // bytes of a message's sealed content
	MaxLastError  = 1000     // bytes of LastError kept (longer is cut)
	maxShortText  = 64       // bytes of an action, channel or kind
	maxText       = 4096     // bytes of a recipient, IP or user agent
)

// invalidf returns an ErrInvalid with a reason.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), store.ErrInvalid)
}

// HexID reports whether id is 64 lowercase hex digits (a hex SHA-256), the
// form of flow and session ids.
func HexID(id string) bool {
	if len(id) != 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// UUID reports whether id is a UUID in canonical (lower-case, hyphenated)
// form, the form of the ids the stores hand out.
func UUID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// Text refuses s unless it is valid UTF-8 without NUL bytes (PostgreSQL's
// text cannot hold either) and at most max bytes long.
func Text(field, s string, max int) error {
	switch {
	case len(s) > max:
		return invalidf("%s is %d bytes long, at most %d allowed", field, len(s), max)
	case !utf8.ValidString(s):
		return invalidf("%s is not valid UTF-8", field)
	case strings.IndexByte(s, 0) >= 0:
		return invalidf("%s contains a NUL byte", field)
	}
	return nil
}

// userRef refuses a user id that cannot name one of the store's users.
func userRef(field, id string) error {
	if !UUID(id) {
		return invalidf("%s %q is not a user id", field, id)
	}
	return nil
}

// Flow checks a flow for CreateFlow (all fields) or UpdateFlow (full false:
// only the fields an update saves).
func Flow(f tenants.Flow, full bool) error {
	if full {
		if !HexID(f.ID) {
			return invalidf("flow id %q is not 64 lowercase hex digits", f.ID)
		}
		if f.Action == "" {
			return invalidf("flow has no action")
		}
		if err := Text("flow action", string(f.Action), maxShortText); err != nil {
			return err
		}
		if err := Text("flow channel", string(f.Channel), maxShortText); err != nil {
			return err
		}
	}
	if f.UserID != "" {
		if err := userRef("flow user", f.UserID); err != nil {
			return err
		}
	}
	if len(f.State) > MaxFlowState {
		return invalidf("flow state is %d bytes, at most %d allowed", len(f.State), MaxFlowState)
	}
	if f.ExpiresAt.IsZero() {
		return invalidf("flow has no expiry")
	}
	return nil
}

// NewSession checks a session for CreateSession and fills in its defaults:
// CreatedAt and LastSeenAt are now when zero.
func NewSession(s tenants.Session, now time.Time) (tenants.Session, error) {
	if err := session(s); err != nil {
		return tenants.Session{}, err
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	if s.LastSeenAt.IsZero() {
		s.LastSeenAt = now
	}
	return s, nil
}

func session(s tenants.Session) error {
	if !HexID(s.ID) {
		return invalidf("session id %q is not 64 lowercase hex digits", s.ID)
	}
	if err := userRef("session user", s.UserID); err != nil {
		return err
	}
	if s.ExpiresAt.IsZero() {
		return invalidf("session has no expiry")
	}
	if err := Text("session IP", s.IP, maxText); err != nil {
		return err
	}
	return Text("session user agent", s.UserAgent, maxText)
}

// Counter checks the arguments of Hit and Count (n only for Hit: pass 1 for
// Count). The window must be at least a microsecond, PostgreSQL's precision,
// so that consecutive windows never share a start.
func Counter(key string, window time.Duration, now time.Time, n int64) error {
	switch {
	case key == "":
		return invalidf("counter key is empty")
	case window < time.Microsecond:
		return invalidf("counter window %s is shorter than a microsecond", window)
	case now.IsZero():
		return invalidf("counter time is zero")
	case n < 1:
		return invalidf("counter increment %d is below 1", n)
	}
	return Text("counter key", key, MaxCounterKey)
}

// Window returns the fixed window [start, end) of the given length that
// contains now.
func Window(window time.Duration, now time.Time) (start, end time.Time) {
	start = now.UTC().Truncate(window)
	return start, start.Add(window)
}

// Message checks a message for EnqueueMessage (its ID only when set).
func Message(m tenants.OutboxMessage) error {
	if m.ID != "" && !UUID(m.ID) {
		return invalidf("message id %q is not a UUID", m.ID)
	}
	if m.Channel != tenants.MessageEmail && m.Channel != tenants.MessageSMS {
		return invalidf("message channel %q is neither email nor sms", m.Channel)
	}
	if m.Kind == "" || m.To == "" {
		return invalidf("message needs a kind and a recipient")
	}
	if err := Text("message kind", m.Kind, maxShortText); err != nil {
		return err
	}
	if err := Text("message recipient", m.To, maxText); err != nil {
		return err
	}
	if len(m.Sealed) > MaxSealed {
		return invalidf("sealed message is %d bytes, at most %d allowed", len(m.Sealed), MaxSealed)
	}
	return nil
}

// Claim checks the arguments of ClaimMessages.
func Claim(now time.Time, lease time.Duration, limit int) error {
	switch {
	case now.IsZero():
		return invalidf("claim time is zero")
	case lease <= 0:
		return invalidf("lease %s is not positive", lease)
	case limit <= 0:
		return invalidf("claim limit %d is not positive", limit)
	}
	return nil
}

// Limit refuses a non-positive page size.
func Limit(what string, limit int) error {
	if limit <= 0 {
		return invalidf("%s: limit %d is not positive", what, limit)
	}
	return nil
}

// Time refuses a zero time where the API needs one.
func Time(what string, t time.Time) error {
	if t.IsZero() {
		return invalidf("%s: time is zero", what)
	}
	return nil
}

// Failure checks the arguments of MarkMessageFailed (a retry needs a time;
// a dead message ignores it) and returns the error text to store.
func Failure(errText string, next time.Time, dead bool) (string, error) {
	if !dead {
		if err := Time("mark message failed", next); err != nil {
			return "", err
		}
	}
	return LastError(errText), nil
}

// NotNil returns b, or an empty slice for nil: the form of a NOT NULL
// bytes column (a flow's state, a message's sealed content).
func NotNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// LastError makes a provider's error text storable: valid UTF-8 without NUL
// bytes, cut to MaxLastError bytes at a rune boundary.
func LastError(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= MaxLastError {
		return s
	}
	cut := MaxLastError
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// User checks the self-service fields of a user record.
func User(u tenants.User) error {
	if u.FailedVerifications < 0 {
		return invalidf("failed verifications %d is negative", u.FailedVerifications)
	}
	if len(u.PushHistory) > MaxPushHistory {
		return invalidf("push history is %d bytes, at most %d allowed", len(u.PushHistory), MaxPushHistory)
	}
	return nil
}
