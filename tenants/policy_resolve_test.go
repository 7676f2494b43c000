package tenants

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

func boolp(b bool) *bool { return &b }

func TestDefaultPolicyIsCompleteAndValid(t *testing.T) {
	p := DefaultPolicy()
	if err := p.Validate(true); err != nil {
		t.Fatalf("DefaultPolicy().Validate(true) = %v", err)
	}
	if p.Password.MinLength != 12 || p.Password.RequiredClasses != 3 || p.Password.History != 12 {
		t.Errorf("password policy %+v", *p.Password)
	}
	if !*p.SMSEnabled || !*p.EmailEnabled {
		t.Error("SMS and email should be on by default")
	}
	for _, a := range []Action{ActionReset, ActionUnlock} {
		r := p.Requirement(a, ChannelWeb, false)
		if !r.Enabled || r.Required != 2 || !slices.Equal(r.Allowed, Factors) {
			t.Errorf("%s/web = %+v, want 2 of %v", a, r, Factors)
		}
	}
	r := p.Requirement(ActionChange, ChannelWeb, false)
	if !r.Enabled || r.Required != 1 || !slices.Equal(r.Allowed, []Factor{FactorPush, FactorTOTP, FactorPasskey, FactorEmail}) {
		t.Errorf("change/web = %+v", r)
	}
	for _, a := range Actions {
		for _, c := range Channels {
			if r := p.Requirement(a, c, false); !r.Enabled {
				t.Errorf("%s/%s disabled by default", a, c)
			}
		}
	}
	// Each call returns a fresh policy.
	q := DefaultPolicy()
	q.Actions[ActionReset].Channels[ChannelWeb].Allowed[0] = FactorPush
	if DefaultPolicy().Actions[ActionReset].Channels[ChannelWeb].Allowed[0] != FactorEmail {
		t.Error("DefaultPolicy shares memory between calls")
	}
}

func TestPolicyJSONRoundTrip(t *testing.T) {
	p := DefaultPolicy()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var q Policy
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("round trip changed the policy:\n%s", b)
	}
}

func TestEffective(t *testing.T) {
	def := DefaultPolicy()
	override := Policy{
		Password:   &PasswordPolicy{MinLength: 16, RequiredClasses: 0, History: 5},
		SMSEnabled: boolp(false),
		Actions: map[Action]*ActionPolicy{
			ActionReset: {Channels: map[Channel]*ChannelRule{
				ChannelWeb: {Allowed: []Factor{FactorPush, FactorPasskey}, Required: 1},
				// a nil entry is "absent"
				ChannelDesktop: nil,
			}},
			ActionUnlock: {Enabled: boolp(false)},
			ActionEnroll: nil,
		},
	}
	eff := Effective(def, override)

	if eff.Password.MinLength != 16 || eff.Password.History != 5 || eff.Password.BannedWords != nil {
		t.Errorf("password: %+v (the override's password policy wins as a whole)", *eff.Password)
	}
	if *eff.SMSEnabled || !*eff.EmailEnabled {
		t.Errorf("switches: sms=%v email=%v", *eff.SMSEnabled, *eff.EmailEnabled)
	}
	reset := eff.Actions[ActionReset]
	if !*reset.Enabled {
		t.Error("reset.enabled not inherited")
	}
	if r := reset.Channels[ChannelWeb]; r.Required != 1 || !slices.Equal(r.Allowed, []Factor{FactorPush, FactorPasskey}) {
		t.Errorf("reset/web = %+v", r)
	}
	for _, c := range []Channel{ChannelMobile, ChannelDesktop} {
		if r := reset.Channels[c]; r == nil || r.Required != 2 {
			t.Errorf("reset/%s not inherited: %+v", c, r)
		}
	}
	unlock := eff.Actions[ActionUnlock]
	if *unlock.Enabled || unlock.Channels[ChannelWeb].Required != 2 {
		t.Errorf("unlock = %+v", unlock)
	}
	if eff.Actions[ActionEnroll] == nil || !*eff.Actions[ActionEnroll].Enabled {
		t.Error("nil action entry in the override removed the default")
	}
	if err := eff.Validate(true); err != nil {
		t.Errorf("effective policy invalid: %v", err)
	}

	// No aliasing in either direction.
	eff.Actions[ActionReset].Channels[ChannelWeb].Allowed[0] = FactorSMS
	eff.Actions[ActionSignIn].Channels[ChannelWeb].Required = 5
	*eff.EmailEnabled = false
	eff.Password.MinLength = 99
	if override.Actions[ActionReset].Channels[ChannelWeb].Allowed[0] != FactorPush ||
		def.Actions[ActionSignIn].Channels[ChannelWeb].Required != 1 || !*def.EmailEnabled ||
		override.Password.MinLength != 16 {
		t.Error("Effective's result aliases its arguments")
	}

	// An empty override is the default.
	if got := Effective(def, Policy{}); !reflect.DeepEqual(got, def) {
		t.Error("Effective(def, empty) != def")
	}
	// An override can add an action to an incomplete base.
	got := Effective(Policy{}, Policy{Actions: map[Action]*ActionPolicy{ActionChange: {Enabled: boolp(true)}}})
	if got.Actions[ActionChange] == nil || !*got.Actions[ActionChange].Enabled {
		t.Errorf("got %+v", got.Actions)
	}
}

func TestRequirementFiltersSwitchedOffChannels(t *testing.T) {
	p := Effective(DefaultPolicy(), Policy{SMSEnabled: boolp(false), EmailEnabled: boolp(false)})
	r := p.Requirement(ActionReset, ChannelWeb, false)
	if !r.Enabled || !slices.Equal(r.Allowed, []Factor{FactorQuestions, FactorTOTP, FactorPush, FactorPasskey}) {
		t.Errorf("got %+v", r)
	}
	// change allows push, totp, passkey, email; email is off.
	if r := p.Requirement(ActionChange, ChannelWeb, false); slices.Contains(r.Allowed, FactorEmail) {
		t.Errorf("email allowed while off: %+v", r)
	}
}

func TestRequirementDisabledWhenUnsatisfiable(t *testing.T) {
	tests := []struct {
		name     string
		override Policy
		a        Action
		admin    bool
	}{
		{"action off", Policy{Actions: map[Action]*ActionPolicy{ActionReset: {Enabled: boolp(false)}}}, ActionReset, false},
		{"required exceeds what is left after switches", Policy{
			SMSEnabled: boolp(false),
			Actions: map[Action]*ActionPolicy{ActionReset: {Channels: map[Channel]*ChannelRule{
				ChannelWeb: {Allowed: []Factor{FactorSMS, FactorTOTP}, Required: 2}}}},
		}, ActionReset, false},
		{"admin with one allowed factor", Policy{Actions: map[Action]*ActionPolicy{ActionReset: {Channels: map[Channel]*ChannelRule{
			ChannelWeb: {Allowed: []Factor{FactorTOTP}, Required: 1}}}}}, ActionReset, true},
		// R15, R27: questions are dropped for admins, so 2 of {questions, totp} cannot be met.
		{"R15 admin, questions dropped", Policy{Actions: map[Action]*ActionPolicy{ActionReset: {Channels: map[Channel]*ChannelRule{
			ChannelWeb: {Allowed: []Factor{FactorQuestions, FactorTOTP}, Required: 2}}}}}, ActionReset, true},
		// R25: an admin allowed only email (and questions, dropped) can never finish.
		{"R25 admin, email and questions only", Policy{Actions: map[Action]*ActionPolicy{ActionReset: {Channels: map[Channel]*ChannelRule{
			ChannelWeb: {Allowed: []Factor{FactorEmail, FactorQuestions, FactorEmail}, Required: 1}}}}}, ActionReset, true},
		// R27: questions may never stand alone, for anybody.
		{"R27 questions only", Policy{Actions: map[Action]*ActionPolicy{ActionReset: {Channels: map[Channel]*ChannelRule{
			ChannelWeb: {Allowed: []Factor{FactorQuestions}, Required: 1}}}}}, ActionReset, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Effective(DefaultPolicy(), tt.override)
			r := p.Requirement(tt.a, ChannelWeb, tt.admin)
			if r.Enabled {
				t.Errorf("got %+v, want disabled", r)
			}
			if r.Satisfied(Factors) {
				t.Error("a disabled requirement is satisfied")
			}
		})
	}
	// Missing action or channel in a hand-built policy: disabled, not a panic.
	var empty Policy
	if r := empty.Requirement(ActionReset, ChannelWeb, false); r.Enabled {
		t.Errorf("empty policy: %+v", r)
	}
	p := Policy{Actions: map[Action]*ActionPolicy{ActionReset: {Enabled: boolp(true)}}}
	if r := p.Requirement(ActionReset, ChannelWeb, false); r.Enabled {
		t.Errorf("missing channel: %+v", r)
	}
}

// TestRequirementAdmin covers R15, R25 and R27 for tenant administrators.
func TestRequirementAdmin(t *testing.T) {
	p := DefaultPolicy()
	// change requires 1 by default; admins need 2 and never questions.
	r := p.Requirement(ActionChange, ChannelWeb, true)
	if !r.Enabled || r.Required != 2 || !r.Admin {
		t.Fatalf("admin change = %+v", r)
	}
	r = p.Requirement(ActionReset, ChannelWeb, true)
	if !r.Enabled || r.Required != 2 || slices.Contains(r.Allowed, FactorQuestions) {
		t.Fatalf("admin reset = %+v", r)
	}

	tests := []struct {
		name string
		used []Factor
		want bool
	}{
		{"R15 security questions only is refused", []Factor{FactorQuestions}, false},
		{"R15 questions never count for admins", []Factor{FactorQuestions, FactorTOTP}, false},
		{"R15 the same factor twice is one factor", []Factor{FactorTOTP, FactorTOTP}, false},
		{"R25 email only is refused", []Factor{FactorEmail}, false},
		{"R25 email twice is refused", []Factor{FactorEmail, FactorEmail}, false},
		{"R25 email and questions are refused", []Factor{FactorEmail, FactorQuestions}, false},
		{"R25 email plus a strong factor", []Factor{FactorEmail, FactorTOTP}, true},
		{"sms plus push", []Factor{FactorSMS, FactorPush}, true},
		{"passkey plus totp", []Factor{FactorPasskey, FactorTOTP}, true},
		{"unknown factors do not count", []Factor{"fingerprint", "retina", FactorTOTP}, false},
		{"nothing", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Satisfied(tt.used); got != tt.want {
				t.Errorf("Satisfied(%v) = %v, want %v", tt.used, got, tt.want)
			}
		})
	}
	// A hand-built admin requirement that lists questions still never counts them.
	hand := Requirement{Enabled: true, Allowed: []Factor{FactorQuestions, FactorTOTP}, Required: 2, Admin: true}
	if hand.Satisfied([]Factor{FactorQuestions, FactorTOTP}) {
		t.Error("questions counted for an admin")
	}
}

func TestRequirementSatisfiedUser(t *testing.T) {
	p := DefaultPolicy()
	reset := p.Requirement(ActionReset, ChannelWeb, false)
	tests := []struct {
		name string
		used []Factor
		want bool
	}{
		{"two distinct factors", []Factor{FactorEmail, FactorSMS}, true},
		{"R15 two SMS codes are one factor", []Factor{FactorSMS, FactorSMS}, false},
		{"one factor is not enough", []Factor{FactorPasskey}, false},
		{"questions as the extra factor", []Factor{FactorQuestions, FactorEmail}, true},
		{"three is fine", []Factor{FactorQuestions, FactorEmail, FactorPush}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reset.Satisfied(tt.used); got != tt.want {
				t.Errorf("Satisfied(%v) = %v, want %v", tt.used, got, tt.want)
			}
		})
	}
	// R27: with one required factor, questions alone never suffice.
	one := Effective(p, Policy{Actions: map[Action]*ActionPolicy{ActionUnlock: {Channels: map[Channel]*ChannelRule{
		ChannelWeb: {Allowed: []Factor{FactorQuestions, FactorEmail}, Required: 1}}}}})
	r := one.Requirement(ActionUnlock, ChannelWeb, false)
	if !r.Enabled || r.Satisfied([]Factor{FactorQuestions}) || !r.Satisfied([]Factor{FactorEmail}) {
		t.Errorf("R27: %+v", r)
	}
	// Factors not allowed for this action do not count.
	change := p.Requirement(ActionChange, ChannelWeb, false)
	if change.Satisfied([]Factor{FactorSMS}) || !change.Satisfied([]Factor{FactorSMS, FactorPush}) {
		t.Errorf("change: %+v", change)
	}
}
