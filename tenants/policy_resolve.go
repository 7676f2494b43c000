package tenants

import "slices"

// DefaultPolicy returns the policy a new tenant starts with. It is complete
// (Validate(true) passes): every action and channel is present.
//
//   - Passwords: at least 12 characters, 3 of the 4 character classes (what
//     AD's "complexity" setting enforces anyway), a short banned-word list,
//     history of 12 shown to users.
//   - Reset and unlock: 2 distinct factors out of email, SMS, security
//     questions, TOTP, push and passkey, on every channel.
//   - Change (the user knows the old password): 1 of push, TOTP, passkey, email.
//   - Sign-in to the portal (to enroll or change): 1 of passkey, push, TOTP,
//     email, SMS. Enroll: 1 of the same, so a user with only a directory email
//     or phone can bootstrap.
//   - SMS and email switched on.
func DefaultPolicy() Policy {
	on := func() *bool { b := true; return &b }
	all := func(allowed []Factor, required int) *ActionPolicy {
		ap := &ActionPolicy{Enabled: on(), Channels: map[Channel]*ChannelRule{}}
		for _, c := range Channels {
			ap.Channels[c] = &ChannelRule{Allowed: slices.Clone(allowed), Required: required}
		}
		return ap
	}
	recovery := []Factor{FactorEmail, FactorSMS, FactorQuestions, FactorTOTP, FactorPush, FactorPasskey}
	signin := []Factor{FactorPasskey, FactorPush, FactorTOTP, FactorEmail, FactorSMS}
	return Policy{
		Password: &PasswordPolicy{
			MinLength:       12,
			RequiredClasses: 3,
			BannedWords:     []string{"password", "passwort", "welcome", "willkommen", "qwerty", "letmein"},
			History:         12,
		},
		Actions: map[Action]*ActionPolicy{
			ActionSignIn: all(signin, 1),
			ActionReset:  all(recovery, 2),
			ActionUnlock: all(recovery, 2),
			ActionChange: all([]Factor{FactorPush, FactorTOTP, FactorPasskey, FactorEmail}, 1),
			ActionEnroll: all(signin, 1),
		},
		SMSEnabled:   on(),
		EmailEnabled: on(),
	}
}

// Clone returns a deep copy of p: nothing in the copy aliases p.
func (p Policy) Clone() Policy {
	out := Policy{
		SMSEnabled:   cloneBool(p.SMSEnabled),
		EmailEnabled: cloneBool(p.EmailEnabled),
	}
	out.Password = p.Password.clone()
	if p.Actions != nil {
		out.Actions = make(map[Action]*ActionPolicy, len(p.Actions))
		for a, ap := range p.Actions {
			out.Actions[a] = ap.clone()
		}
	}
	return out
}

func (pp *PasswordPolicy) clone() *PasswordPolicy {
	if pp == nil {
		return nil
	}
	out := *pp
	out.BannedWords = slices.Clone(pp.BannedWords)
	return &out
}

func (ap *ActionPolicy) clone() *ActionPolicy {
	if ap == nil {
		return nil
	}
	out := &ActionPolicy{Enabled: cloneBool(ap.Enabled)}
	if ap.Channels != nil {
		out.Channels = make(map[Channel]*ChannelRule, len(ap.Channels))
		for c, r := range ap.Channels {
			out.Channels[c] = r.clone()
		}
	}
	return out
}

func (r *ChannelRule) clone() *ChannelRule {
	if r == nil {
		return nil
	}
	return &ChannelRule{Allowed: slices.Clone(r.Allowed), Required: r.Required}
}

func cloneBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	v := *b
	return &v
}

// Effective applies an organisation's override to the tenant default, field by
// field: the override's non-nil pointers win (the password policy as a whole,
// SMSEnabled, EmailEnabled); for each action the override has, its Enabled wins
// when set and each of its channel rules replaces the default's rule for that
// channel alone. Nil map entries count as absent. The result shares no memory
// with either argument.
func Effective(tenantDefault, override Policy) Policy {
	out := tenantDefault.Clone()
	if override.Password != nil {
		out.Password = override.Password.clone()
	}
	if override.SMSEnabled != nil {
		out.SMSEnabled = cloneBool(override.SMSEnabled)
	}
	if override.EmailEnabled != nil {
		out.EmailEnabled = cloneBool(override.EmailEnabled)
	}
	for a, ov := range override.Actions {
		if ov == nil {
			continue
		}
		base := out.Actions[a]
		if base == nil {
			base = &ActionPolicy{}
		}
		if ov.Enabled != nil {
			base.Enabled = cloneBool(ov.Enabled)
		}
		for c, r := range ov.Channels {
			if r == nil {
				continue
			}
			if base.Channels == nil {
				base.Channels = map[Channel]*ChannelRule{}
			}
			base.Channels[c] = r.clone()
		}
		if out.Actions == nil {
			out.Actions = map[Action]*ActionPolicy{}
		}
		out.Actions[a] = base
	}
	return out
}

// Requirement is what a user must present for one action on one channel.
type Requirement struct {
	// Enabled is false when the action is off, or when what is left after
	// filtering cannot be satisfied; then nobody may perform the action.
	Enabled bool
	// Allowed lists the factors that count, in policy order, without duplicates.
	Allowed []Factor
	// Required is how many distinct allowed factors must be used.
	Required int
	// Admin is set for a tenant administrator (security.md R15, R25, R27): no
	// security questions, at least two factors, and email only next to a
	// factor that is neither email nor questions. Satisfied applies it.
	Admin bool
}

// Requirement returns what p (an effective policy, see Effective) asks of a user
// for action a on channel c. SMS and email are dropped when switched off (a
// nil switch counts as off), as are unknown and repeated factors. For admins
// (R15, R25, R27) security questions are dropped and Required is raised to 2.
// A missing action or channel, or an action not explicitly enabled, is
// disabled. So is a requirement that cannot be met with what is left: fewer
// allowed factors than required, or only factors that may not stand alone
// (questions for anyone, email as well for admins).
func (p Policy) Requirement(a Action, c Channel, admin bool) Requirement {
	req := Requirement{Admin: admin}
	ap := p.Actions[a]
	if ap == nil || ap.Enabled == nil || !*ap.Enabled {
		return req
	}
	rule := ap.Channels[c]
	if rule == nil {
		return req
	}
	smsOn := p.SMSEnabled != nil && *p.SMSEnabled
	emailOn := p.EmailEnabled != nil && *p.EmailEnabled
	for _, f := range rule.Allowed {
		switch {
		case !slices.Contains(Factors, f), slices.Contains(req.Allowed, f):
		case f == FactorSMS && !smsOn, f == FactorEmail && !emailOn:
		case f == FactorQuestions && admin:
		default:
			req.Allowed = append(req.Allowed, f)
		}
	}
	req.Required = rule.Required
	if req.Required < 1 {
		req.Required = 1
	}
	if admin && req.Required < 2 {
		req.Required = 2
	}
	strong := slices.ContainsFunc(req.Allowed, func(f Factor) bool { return canStandAlone(f, admin) })
	req.Enabled = req.Required <= len(req.Allowed) && strong
	return req
}

// canStandAlone reports whether f may be the factor that makes a set of used
// factors acceptable: security questions never may (R27: an extra factor
// only), and for admins email may not either (R25).
func canStandAlone(f Factor, admin bool) bool {
	return f != FactorQuestions && !(admin && f == FactorEmail)
}

// Satisfied reports whether the factors a user has passed in this flow meet r.
// It counts distinct factors that are in Allowed (using the same factor twice,
// e.g. two SMS codes, counts once: R15) and requires at least one of them to
// be able to stand alone: never only security questions (R27), and for admins
// never only email (R25); admins' questions never count at all (R15).
func (r Requirement) Satisfied(used []Factor) bool {
	if !r.Enabled {
		return false
	}
	var counted []Factor
	strong := false
	for _, f := range used {
		if !slices.Contains(r.Allowed, f) || slices.Contains(counted, f) {
			continue
		}
		if r.Admin && f == FactorQuestions {
			continue // never for admins (R15, R27), even if a caller built r by hand
		}
		counted = append(counted, f)
		if canStandAlone(f, r.Admin) {
			strong = true
		}
	}
	return len(counted) >= r.Required && strong
}
