package tenants

import (
	"encoding/json"
	"time"
)

// Flow is one self-service flow in progress (reset, unlock, change, sign-in,
// enroll, report): the server-side state that lets any node continue it.
// The browser holds a random token; only its SHA-256 is the flow's ID (R4).
type Flow struct {
	TenantID ID
	// ID is the hex SHA-256 of the browser's flow token (64 hex digits).
	ID      string
	Action  Action
	Channel Channel
	// UserID is the enrollment record the flow is about; empty for a flow
	// started for an account that does not exist (it runs as a decoy, R1).
	UserID string
	// State is the flow engine's own JSON (portal/flow); the store keeps it
	// opaque.
	State []byte
	// Version is 1 after CreateFlow; UpdateFlow succeeds only when the
	// caller's Version equals the stored one and then bumps it, so that a
	// step is applied once even under concurrent or replayed requests (R5).
	Version   int64
	ExpiresAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Session is a signed-in user's browser session (R36). The cookie carries a
// random token; only its SHA-256 is the session's ID.
type Session struct {
	TenantID ID
	// ID is the hex SHA-256 of the cookie token (64 hex digits).
	ID     string
	UserID string
	// AuthAt is the last time the user fully authenticated (sign-in or
	// step-up); changes to recovery factors need a recent one (R37).
	AuthAt     time.Time
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute timeout.
	ExpiresAt time.Time
	// RevokedAt is set when the session was ended (sign-out, reset, admin).
	RevokedAt time.Time
	IP        string
	UserAgent string
}

// MessageChannel is how a notification travels.
type MessageChannel string

// The message channels.
const (
	MessageEmail MessageChannel = "email"
	MessageSMS   MessageChannel = "sms"
)

// OutboxState is where an outbox message is in its delivery.
type OutboxState string

// The outbox states.
const (
	OutboxPending OutboxState = "pending" // waiting for a (first or next) attempt
	OutboxSent    OutboxState = "sent"    // the provider accepted it
	OutboxDead    OutboxState = "dead"    // given up after the last attempt
)

// OutboxMessage is a notification waiting for, or past, delivery. Its content
// (subject, bodies) may carry a one-time code, so it is stored only sealed
// with a key from the process configuration (portal/notify seals it).
type OutboxMessage struct {
	TenantID ID
	ID       string // random UUID; also the Message-ID's local part
	Channel  MessageChannel
	// Kind names the template, e.g. "code", "reset_done" (see portal/notify).
	Kind string
	// To is the recipient: an email address or an E.164 number.
	To string
	// Sealed is the sealed content (AES-GCM, see portal/notify).
	Sealed []byte
	State  OutboxState
	// Attempts counts the delivery attempts made so far.
	Attempts int
	// NextAttemptAt is when the message is next due (pending only).
	NextAttemptAt time.Time
	// LeaseUntil is when a claim by a worker lapses (zero: not claimed).
	LeaseUntil time.Time
	LastError  string // the provider's last error, never message content
	CreatedAt  time.Time
	SentAt     time.Time
}

// Enrollment is what a user has set up for self-service beyond the directory
// attributes: stored as JSON on the user record.
type Enrollment struct {
	// Questions are the user's security questions and hashed answers.
	Questions []QuestionAnswer `json:"questions,omitempty"`
	// Preferred is the factor the user asked to be offered first ("use this
	// method next time").
	Preferred Factor `json:"preferred,omitempty"`
	// EmailFromDirectory and PhoneFromDirectory tell that User.Email and
	// User.Phone were taken from the directory's mail and mobile attributes
	// (automatic enrollment) rather than registered by the user.
	EmailFromDirectory bool `json:"email_from_directory,omitempty"`
	PhoneFromDirectory bool `json:"phone_from_directory,omitempty"`
	// Passkeys are the user's WebAuthn credentials, as portal/factor/passkey
	// stores them (a JSON array, opaque here).
	Passkeys json.RawMessage `json:"passkeys,omitempty"`
	// TOTP is the authenticator-app secret, when set up.
	TOTP *TOTPEnrollment `json:"totp,omitempty"`
	// DeviceReset is when the user asked to remove their devices after losing
	// one ("reset 2FA"): it takes effect after the waiting period.
	DeviceResetRequestedAt time.Time `json:"device_reset_requested_at,omitzero"`
	// HelpdeskDeviceReset is a help desk's pending removal of an admin's
	// devices: it takes a second operator to approve (R18).
	HelpdeskDeviceReset *HelpdeskRequest `json:"helpdesk_device_reset,omitempty"`
}

// HelpdeskRequest is a help-desk operation waiting for a second operator.
type HelpdeskRequest struct {
	By string    `json:"by"` // the audit actor of the operator who asked
	At time.Time `json:"at"`
}

// QuestionAnswer is one security question and the argon2id hash of its
// normalised answer (a PHC string). The answer itself is never stored.
type QuestionAnswer struct {
	Question string `json:"question"`
	// Custom is true for a question the user wrote themselves.
	Custom bool   `json:"custom,omitempty"`
	Hash   string `json:"hash"`
}

// SelfServiceSettings are a tenant's self-service options beyond the factor
// policy. Zero values mean the defaults portal/flow documents.
type SelfServiceSettings struct {
	// Questions is the tenant's list of security questions users pick from.
	Questions []string `json:"questions,omitempty"`
	// QuestionsRequired is how many questions a user sets up and answers.
	QuestionsRequired int `json:"questions_required,omitempty"`
	// AllowOwnQuestions lets users write their own questions.
	AllowOwnQuestions bool `json:"allow_own_questions,omitempty"`
	// Captcha is "off", "suspicious" (the default: after failures or
	// bursts) or "always".
	Captcha string `json:"captcha,omitempty"`
	// LockoutThreshold failed verifications lock self-service for the
	// account for LockoutDuration (separate from the directory's lockout).
	LockoutThreshold int           `json:"lockout_threshold,omitempty"`
	LockoutDuration  time.Duration `json:"lockout_duration,omitempty"`
	// SMS limits against SMS pumping (R24).
	SMSCountries      []string      `json:"sms_countries,omitempty"` // ISO 3166 alpha-2; empty: any
	SMSPerTenantDay   int           `json:"sms_per_tenant_day,omitempty"`
	SMSPerUserDay     int           `json:"sms_per_user_day,omitempty"`
	SMSNumberCooldown time.Duration `json:"sms_number_cooldown,omitempty"`
	// SMSProvider is how this tenant's SMS are sent; nil: the platform's.
	SMSProvider *SMSProvider `json:"sms_provider,omitempty"`
	// Messages are the tenant's own templates, by kind; missing kinds use
	// the built-in defaults.
	Messages map[string]MessageTemplate `json:"messages,omitempty"`
}

// SMSProvider is a tenant-configured SMS gateway. Secret is sealed with the
// process's configuration key (never stored in clear).
type SMSProvider struct {
	Kind       string `json:"kind"` // "twilio" or "webhook"
	URL        string `json:"url"`  // API base or webhook URL
	AccountSID string `json:"account_sid,omitempty"`
	From       string `json:"from,omitempty"`
	Secret     []byte `json:"secret,omitempty"` // sealed auth token / webhook signing key
}

// MessageTemplate is one message's templates (Go text/template and
// html/template syntax).
type MessageTemplate struct {
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text,omitempty"`
	HTML    string `json:"html,omitempty"`
}
