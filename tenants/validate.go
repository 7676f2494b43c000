package tenants

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// FieldError is one problem with one field of a Tenant, Organisation or Policy.
// Field is a dotted path as in the JSON form, e.g.
// "policy.actions.reset.channels.web.required". Validate methods return all
// problems found, joined with errors.Join; use errors.As to get the first.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Limits checked by the Validate methods.
const (
	MinPasswordLength = 8   // floor for PasswordPolicy.MinLength (R11)
	MaxPasswordLength = 256 // longest password accepted, and ceiling for MinLength
	maxHistory        = 24  // AD's own maximum for password history
	maxBannedWords    = 1000
	maxNameLength     = 100 // tenant and organisation names, display name (runes)
	maxSupportText    = 1000
	maxRuleValue      = 1024
	// MaxLogoSize is the largest logo a tenant may upload.
	MaxLogoSize = 256 << 10
)

// Locales the portal has message catalogs for ("" means "en").
var supportedLocales = []string{"", "en", "de"}

// fieldErrors collects problems under a path prefix.
type fieldErrors struct {
	errs []error
}

func (v *fieldErrors) add(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (v *fieldErrors) err() error { return errors.Join(v.errs...) }

// Validate checks p. With complete=true (a tenant's default policy) every
// action with every channel, the password policy and both channel switches
// must be present and every action must say whether it is enabled; with
// complete=false (an organisation's override) anything may be missing. In both
// cases: no unknown actions, channels or factors, no null entries, no
// duplicate factors, Required between 1 and the number of allowed factors,
// MinLength between 8 and 256, RequiredClasses 0–4, History 0–24.
func (p Policy) Validate(complete bool) error {
	var v fieldErrors
	p.validate(&v, "", complete)
	return v.err()
}

func (p Policy) validate(v *fieldErrors, prefix string, complete bool) {
	if pp := p.Password; pp != nil {
		f := prefix + "password."
		if pp.MinLength < MinPasswordLength || pp.MinLength > MaxPasswordLength {
			v.add(f+"min_length", "must be between %d and %d, is %d", MinPasswordLength, MaxPasswordLength, pp.MinLength)
		}
		if pp.RequiredClasses < 0 || pp.RequiredClasses > 4 {
			v.add(f+"required_classes", "must be between 0 and 4, is %d", pp.RequiredClasses)
		}
		if pp.History < 0 || pp.History > maxHistory {
			v.add(f+"history", "must be between 0 and %d, is %d", maxHistory, pp.History)
		}
		if len(pp.BannedWords) > maxBannedWords {
			v.add(f+"banned_words", "at most %d words, has %d", maxBannedWords, len(pp.BannedWords))
		}
		for i, w := range pp.BannedWords {
			if strings.TrimSpace(w) == "" || !utf8.ValidString(w) || utf8.RuneCountInString(w) > MaxPasswordLength {
				v.add(fmt.Sprintf("%sbanned_words[%d]", f, i), "must be non-empty UTF-8 text of at most %d characters", MaxPasswordLength)
			}
		}
	} else if complete {
		v.add(prefix+"password", "missing")
	}
	if complete && p.SMSEnabled == nil {
		v.add(prefix+"sms_enabled", "missing")
	}
	if complete && p.EmailEnabled == nil {
		v.add(prefix+"email_enabled", "missing")
	}

	for _, a := range sortedKeys(p.Actions) {
		f := prefix + "actions." + string(a)
		ap := p.Actions[a]
		switch {
		case !slices.Contains(Actions, a):
			v.add(f, "unknown action")
			continue
		case ap == nil:
			v.add(f, "null")
			continue
		}
		if complete && ap.Enabled == nil {
			v.add(f+".enabled", "missing")
		}
		for _, c := range sortedKeys(ap.Channels) {
			cf := f + ".channels." + string(c)
			r := ap.Channels[c]
			switch {
			case !slices.Contains(Channels, c):
				v.add(cf, "unknown channel")
				continue
			case r == nil:
				v.add(cf, "null")
				continue
			}
			for i, fa := range r.Allowed {
				switch {
				case !slices.Contains(Factors, fa):
					v.add(fmt.Sprintf("%s.allowed[%d]", cf, i), "unknown factor %q", fa)
				case slices.Contains(r.Allowed[:i], fa):
					v.add(fmt.Sprintf("%s.allowed[%d]", cf, i), "duplicate factor %q", fa)
				}
			}
			if r.Required < 1 || r.Required > len(r.Allowed) {
				v.add(cf+".required", "must be between 1 and the number of allowed factors (%d), is %d", len(r.Allowed), r.Required)
			}
		}
		if complete {
			for _, c := range Channels {
				if _, ok := ap.Channels[c]; !ok {
					v.add(f+".channels."+string(c), "missing")
				}
			}
		}
	}
	if complete {
		for _, a := range Actions {
			if _, ok := p.Actions[a]; !ok {
				v.add(prefix+"actions."+string(a), "missing")
			}
		}
	}
}

// sortedKeys returns a map's keys in order, so errors come out the same every time.
func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// Validate checks a tenant before it is stored: the slug (ValidateSlug), a
// name of 1–100 characters, the canonical host (a normalised DNS name, not an
// IP literal), the branding (colours "#rrggbb" or empty, a logo of at most
// 256 KiB that is a PNG or an SVG and says so), the default locale ("", "en"
// or "de") and the default policy, which must be complete.
func (t Tenant) Validate() error {
	var v fieldErrors
	if err := ValidateSlug(t.Slug); err != nil {
		v.add("slug", "%v", err)
	}
	checkName(&v, "name", t.Name, true)
	if t.CanonicalHost != "" {
		h, err := NormalizeHost(t.CanonicalHost)
		switch {
		case err != nil:
			v.add("canonical_host", "%v", err)
		case h != t.CanonicalHost:
			v.add("canonical_host", "not in normal form (want %q)", h)
		case isIPLiteral(h):
			v.add("canonical_host", "must be a DNS name, not an IP address")
		}
	}
	b := t.Branding
	checkName(&v, "branding.display_name", b.DisplayName, false)
	checkColor(&v, "branding.primary_color", b.PrimaryColor)
	checkColor(&v, "branding.accent_color", b.AccentColor)
	if !utf8.ValidString(b.SupportText) || utf8.RuneCountInString(b.SupportText) > maxSupportText {
		v.add("branding.support_text", "must be UTF-8 text of at most %d characters", maxSupportText)
	}
	checkLogo(&v, b.Logo, b.LogoContentType)
	if !slices.Contains(supportedLocales, t.DefaultLocale) {
		v.add("default_locale", "must be one of \"en\", \"de\" or empty, is %q", t.DefaultLocale)
	}
	t.Policy.validate(&v, "policy.", true)
	return v.err()
}

// Validate checks an organisation before it is stored: a name of 1–100
// characters, rules of known kinds with usable values (a DN for dn_suffix and
// group, a domain for upn_domain), and a policy override (which may be partial).
func (o Organisation) Validate() error {
	var v fieldErrors
	checkName(&v, "name", o.Name, true)
	for i, r := range o.Rules {
		f := fmt.Sprintf("rules[%d]", i)
		val := strings.TrimSpace(r.Value)
		if val == "" {
			v.add(f+".value", "empty")
			continue
		}
		if len(r.Value) > maxRuleValue || !utf8.ValidString(r.Value) {
			v.add(f+".value", "must be UTF-8 text of at most %d bytes", maxRuleValue)
			continue
		}
		switch r.Kind {
		case MatchDNSuffix, MatchGroup:
			if _, ok := parseDN(val); !ok {
				v.add(f+".value", "not a distinguished name (attr=value,attr=value…)")
			}
		case MatchUPNDomain:
			d := strings.TrimPrefix(val, "@")
			if h, err := NormalizeHost(d); err != nil || h != strings.TrimSuffix(strings.ToLower(d), ".") || isIPLiteral(h) {
				v.add(f+".value", "not a domain name")
			}
		default:
			v.add(f+".kind", "unknown kind %q (want %q, %q or %q)", r.Kind, MatchDNSuffix, MatchGroup, MatchUPNDomain)
		}
	}
	o.Policy.validate(&v, "policy.", false)
	return v.err()
}

func checkName(v *fieldErrors, field, s string, required bool) {
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		v.add(field, "not valid UTF-8")
	case required && strings.TrimSpace(s) == "":
		v.add(field, "empty")
	case n > maxNameLength:
		v.add(field, "longer than %d characters", maxNameLength)
	case strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }):
		v.add(field, "contains control characters")
	}
}

func checkColor(v *fieldErrors, field, c string) {
	if c == "" {
		return
	}
	ok := len(c) == 7 && c[0] == '#'
	for i := 1; ok && i < len(c); i++ {
		ok = strings.IndexByte("0123456789abcdefABCDEF", c[i]) >= 0
	}
	if !ok {
		v.add(field, "must be \"#rrggbb\" or empty, is %q", c)
	}
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

func checkLogo(v *fieldErrors, logo []byte, contentType string) {
	if len(logo) == 0 {
		if contentType != "" {
			v.add("branding.logo_content_type", "set without a logo")
		}
		return
	}
	if len(logo) > MaxLogoSize {
		v.add("branding.logo", "larger than %d KiB", MaxLogoSize>>10)
	}
	switch contentType {
	case "image/png":
		if !bytes.HasPrefix(logo, pngSignature) {
			v.add("branding.logo", "not a PNG image")
		}
	case "image/svg+xml":
		if !utf8.Valid(logo) || !bytes.Contains(logo, []byte("<svg")) {
			v.add("branding.logo", "not an SVG image")
		}
	default:
		v.add("branding.logo_content_type", "must be \"image/png\" or \"image/svg+xml\", is %q", contentType)
	}
}

// isIPLiteral reports whether a normalised host is an IP address.
func isIPLiteral(h string) bool {
	if strings.HasPrefix(h, "[") {
		return true
	}
	_, ok := parseNode(h)
	return ok
}
