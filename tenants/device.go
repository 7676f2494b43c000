package tenants

import "time"

// Device is an enrolled authenticator (the mobile app or the reference
// authenticator): the public half of the P-256 key it made at enrollment and
// its FCM registration token. The private key never leaves the device.
type Device struct {
	TenantID ID
	ID       string // random UUID, chosen by the server at enrollment
	UserID   string
	Name     string // the user's name for it ("Ann's Pixel")
	Platform string // "android", "ios" or "cli"
	// KeyID names the key in signed answers; PublicKey is its PKIX DER
	// encoding (P-256).
	KeyID     string
	PublicKey []byte
	// PushToken is the FCM registration token ("" when the device polls
	// only, or after FCM reported it unregistered).
	PushToken          string
	PushTokenUpdatedAt time.Time
	CreatedAt          time.Time
	LastSeenAt         time.Time
}

// PushChallenge is a stored push challenge (push/challenge.Challenge).
type PushChallenge struct {
	TenantID ID
	CID      string // 32 lower-case hex digits
	UserID   string
	DeviceID string
	Purpose  string
	// Context is the JSON of push/challenge.Context: what the phone shows.
	Context    []byte
	Number     int
	State      string // pending, approved, denied, expired, reported
	Reason     string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AnsweredAt time.Time
}

// TOTPEnrollment is a user's authenticator-app secret (RFC 6238). Seed is
// sealed with the process's configuration key, never stored in clear (R26).
type TOTPEnrollment struct {
	Seed []byte `json:"seed"`
	// LastCounter is the time step of the last accepted code: a code of
	// that step or an earlier one is refused (replay).
	LastCounter int64     `json:"last_counter,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}
