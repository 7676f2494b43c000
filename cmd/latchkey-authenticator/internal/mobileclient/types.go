package mobileclient

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The API's paths (docs/mobile-api.md).
const (
	APIPrefix      = "/api/mobile/v1"
	PathEnroll     = APIPrefix + "/enroll"
	PathChallenges = APIPrefix + "/challenges"
	PathDevice     = APIPrefix + "/device"
	PathPushToken  = APIPrefix + "/device/push-token"
)

// PlatformCLI is the platform the reference client enrolls as.
const PlatformCLI = "cli"

// MaxNameLen is the most characters a device name has.
const MaxNameLen = 64

// CheckName reports why name cannot be a device's name: 1–64 characters
// without control or bidirectional-format characters.
func CheckName(name string) error {
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name):
		return errors.New("the device name is not UTF-8")
	case n < 1 || n > MaxNameLen:
		return fmt.Errorf("the device name must be 1–%d characters (it has %d)", MaxNameLen, n)
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }):
		return errors.New("the device name must not contain control characters")
	}
	return nil
}

// EnrollRequest is the body of POST /enroll.
type EnrollRequest struct {
	EnrollmentID string `json:"enrollment_id"`
	Secret       string `json:"secret"`
	PublicKey    string `json:"public_key"`
	KeyID        string `json:"key_id"`
	Platform     string `json:"platform"`
	Name         string `json:"name"`
	PushToken    string `json:"push_token"`
}

// User is whose device it is.
type User struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

// Tenant is the organisation the device is enrolled with.
type Tenant struct {
	Name string `json:"name"`
}

// Enrolled is the 201 answer of POST /enroll.
type Enrolled struct {
	DeviceID            string `json:"device_id"`
	KeyID               string `json:"key_id"`
	User                User   `json:"user"`
	Tenant              Tenant `json:"tenant"`
	PollIntervalSeconds int    `json:"poll_interval_seconds"`
}

// Challenge is a push challenge as the API shows it.
type Challenge struct {
	CID            string    `json:"cid"`
	Purpose        string    `json:"purpose"`
	State          string    `json:"state"`
	NumberMatching bool      `json:"number_matching"`
	ExpiresAt      time.Time `json:"expires_at"`
	Context        Context   `json:"context"`
}

// Context is what the app shows about the request being verified.
type Context struct {
	Action     string    `json:"action"`
	TenantName string    `json:"tenant_name"`
	App        string    `json:"app"`
	IP         string    `json:"ip"`
	Geo        string    `json:"geo"`
	Browser    string    `json:"browser"`
	Time       time.Time `json:"time"`
}

// StatePending is the state of a challenge that can be answered.
const StatePending = "pending"

// ChallengeList is the answer of GET /challenges.
type ChallengeList struct {
	Challenges []Challenge `json:"challenges"`
}

// Device is the answer of GET and PATCH /device.
type Device struct {
	DeviceID  string    `json:"device_id"`
	Name      string    `json:"name"`
	Platform  string    `json:"platform"`
	CreatedAt time.Time `json:"created_at"`
	Push      bool      `json:"push"`
}

// AnswerResult is the 200 answer of POST /challenges/{cid}/answer.
type AnswerResult struct {
	State string `json:"state"` // approved, denied or reported
}

// ErrorBody is every error answer's body.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}
