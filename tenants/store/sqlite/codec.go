package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// Time is stored as nanoseconds since the Unix epoch, which covers the years
// 1678 to 2262.
var (
	minTime = time.Unix(0, -1<<63).UTC()
	maxTime = time.Unix(0, 1<<63-1).UTC()
)

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// normal returns t as it reads back: in UTC without a monotonic reading, the
// zero time unchanged.
func normal(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return fromNanos(t.UnixNano())
}

// toNanos converts t for storage; ErrInvalid when it does not fit.
func toNanos(what string, t time.Time) (int64, error) {
	if t.Before(minTime) || t.After(maxTime) {
		return 0, fmt.Errorf("%s: time %s outside 1678–2262: %w", what, t, store.ErrInvalid)
	}
	return t.UnixNano(), nil
}

// nullNanos converts a time that may be zero for a nullable column: zero is
// NULL.
func nullNanos(what string, t time.Time) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	n, err := toNanos(what, t)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// fromNullNanos is nullNanos backwards: NULL is the zero time.
func fromNullNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromNanos(n.Int64)
}

// jsonText encodes v as the text of a JSON column.
func jsonText(what string, v any) (string, error) {
	out, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", what, err)
	}
	return string(out), nil
}

// fromJSONText decodes the text of a JSON column into v.
func fromJSONText(what, s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// nullable stores "" as NULL (directory GUID, organisation id, logo).
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// brandingJSON is the branding column; the logo has columns of its own.
type brandingJSON struct {
	DisplayName  string `json:"display_name,omitempty"`
	PrimaryColor string `json:"primary_color,omitempty"`
	AccentColor  string `json:"accent_color,omitempty"`
	SupportText  string `json:"support_text,omitempty"`
}

func encodeBranding(b tenants.Branding) (string, error) {
	out, err := json.Marshal(brandingJSON{b.DisplayName, b.PrimaryColor, b.AccentColor, b.SupportText})
	if err != nil {
		return "", fmt.Errorf("encode branding: %w", err)
	}
	return string(out), nil
}

func decodeBranding(s string, logo []byte, contentType string) (tenants.Branding, error) {
	var j brandingJSON
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return tenants.Branding{}, fmt.Errorf("decode branding: %w", err)
	}
	if len(logo) == 0 {
		logo = nil
	}
	return tenants.Branding{
		DisplayName: j.DisplayName, PrimaryColor: j.PrimaryColor, AccentColor: j.AccentColor,
		Logo: logo, LogoContentType: contentType, SupportText: j.SupportText,
	}, nil
}

func encodePolicy(p tenants.Policy) (string, error) {
	out, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode policy: %w", err)
	}
	return string(out), nil
}

func decodePolicy(s string) (tenants.Policy, error) {
	var p tenants.Policy
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return p, fmt.Errorf("decode policy: %w", err)
	}
	return p, nil
}

func encodeRules(r []tenants.MatchRule) (string, error) {
	if r == nil {
		r = []tenants.MatchRule{}
	}
	out, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("encode rules: %w", err)
	}
	return string(out), nil
}

func decodeRules(s string) ([]tenants.MatchRule, error) {
	var r []tenants.MatchRule
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil, fmt.Errorf("decode rules: %w", err)
	}
	if len(r) == 0 {
		return nil, nil
	}
	return r, nil
}

func encodeDetail(d map[string]string) (string, error) {
	if d == nil {
		d = map[string]string{}
	}
	out, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encode detail: %w", err)
	}
	return string(out), nil
}

func decodeDetail(s string) (map[string]string, error) {
	var d map[string]string
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, fmt.Errorf("decode detail: %w", err)
	}
	if len(d) == 0 {
		return nil, nil
	}
	return d, nil
}
