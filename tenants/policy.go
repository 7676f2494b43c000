package tenants

// Action is a self-service action a policy governs.
type Action string

// The actions.
const (
	ActionSignIn Action = "signin"
	ActionReset  Action = "reset"
	ActionUnlock Action = "unlock"
	ActionChange Action = "change"
	ActionEnroll Action = "enroll"
)

// Actions lists every action, in display order.
var Actions = []Action{ActionSignIn, ActionReset, ActionUnlock, ActionChange, ActionEnroll}

// Channel is where an action is started from.
type Channel string

// The channels.
const (
	ChannelWeb     Channel = "web"
	ChannelMobile  Channel = "mobile"
	ChannelDesktop Channel = "desktop"
)

// Channels lists every channel.
var Channels = []Channel{ChannelWeb, ChannelMobile, ChannelDesktop}

// Factor is a way for a user to prove who they are.
type Factor string

// The factors.
const (
	FactorEmail     Factor = "email"
	FactorSMS       Factor = "sms"
	FactorQuestions Factor = "questions"
	FactorTOTP      Factor = "totp"
	FactorPush      Factor = "push"
	FactorPasskey   Factor = "passkey"
)

// Factors lists every factor.
var Factors = []Factor{FactorEmail, FactorSMS, FactorQuestions, FactorTOTP, FactorPush, FactorPasskey}

// Policy is a tenant default or an organisation override. In an override every
// nil pointer or missing map entry means "inherit from the tenant".
// It is stored as JSON.
type Policy struct {
	Password *PasswordPolicy `json:"password,omitempty"`
	// Actions holds per-action options; a missing action inherits.
	Actions map[Action]*ActionPolicy `json:"actions,omitempty"`
	// SMSEnabled and EmailEnabled switch those channels off for every action.
	SMSEnabled   *bool `json:"sms_enabled,omitempty"`
	EmailEnabled *bool `json:"email_enabled,omitempty"`
}

// PasswordPolicy is shown to users before they type and checked before a
// password goes to the directory (which applies its own policy as well).
type PasswordPolicy struct {
	MinLength int `json:"min_length"`
	// RequiredClasses is how many of upper, lower, digit and symbol must appear (0–4).
	RequiredClasses int      `json:"required_classes"`
	BannedWords     []string `json:"banned_words,omitempty"`
	// History is how many previous passwords may not be reused (enforced by the
	// directory; shown to users).
	History int `json:"history"`
}

// ActionPolicy is what one action requires, per channel.
type ActionPolicy struct {
	Enabled  *bool                    `json:"enabled,omitempty"`
	Channels map[Channel]*ChannelRule `json:"channels,omitempty"`
}

// ChannelRule is which factors a user may pick from and how many distinct ones
// are required.
type ChannelRule struct {
	Allowed  []Factor `json:"allowed"`
	Required int      `json:"required"`
}
