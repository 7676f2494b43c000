package mobileclient

import "time"

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
