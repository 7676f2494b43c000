package approval

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// EnrollmentTTL is how long an enrollment link can be used (R32).
const EnrollmentTTL = 10 * time.Minute

// EnrollPath is the path of the enrollment link (the page behind it tells
// people who open it on a computer to use the app).
const EnrollPath = "/m/enroll"

// FlowAction is the Action of the flow rows that hold pending enrollments.
// It is no self-service action, so the flow engine never takes them for
// its own; their ids are also domain-separated (see flowID).
const FlowAction tenants.Action = "mobile_enroll"

const (
	idBytes     = 16 // 22 base64url characters
	secretBytes = 32 // 43 base64url characters, 256 bits
)

// ErrEnrollmentInvalid: the enrollment is unknown, used, expired, another
// tenant's, or the secret is wrong — one error for all (R32).
var ErrEnrollmentInvalid = errors.New("enrollment unknown, used or expired")

// ErrKeyIDTaken: the user already has a device with this key id.
var ErrKeyIDTaken = errors.New("the user already has a device with this key id")

// Enrollments creates and redeems one-time device enrollments.
type Enrollments struct {
	store Scope
	rand  io.Reader
	now   func() time.Time
}

// NewEnrollments returns Enrollments over st; r is the source of ids and
// secrets (nil: crypto/rand), now the clock (nil: time.Now).
func NewEnrollments(st Scope, r io.Reader, now func() time.Time) (*Enrollments, error) {
	if st == nil {
		return nil, errors.New("approval: enrollments need a store")
	}
	if r == nil {
		r = rand.Reader
	}
	if now == nil {
		now = time.Now
	}
	return &Enrollments{store: st, rand: r, now: now}, nil
}

// pendingEnrollment is the flow's state: the SHA-256 of the secret only.
type pendingEnrollment struct {
	SecretSHA256 string `json:"secret_sha256"`
}

var b64 = base64.RawURLEncoding.Strict()

// flowID is the flow row's id for an enrollment id: a SHA-256 with its own
// prefix, so no browser flow token (whose row id is its plain SHA-256) can
// ever name an enrollment or the other way round.
func flowID(id string) string {
	sum := sha256.Sum256([]byte("latchkey-mobile-enroll\x00" + id))
	return hex.EncodeToString(sum[:])
}

func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Start creates a one-time enrollment for the user and returns its link,
// baseURL (scheme://host[:port], from the tenant's tenants.LinkBuilder)
// followed by /m/enroll?id=…&secret=…, and when it expires. Call it only
// for a signed-in user who just re-authenticated.
func (e *Enrollments) Start(ctx context.Context, t *tenants.Tenant, userID, baseURL string) (string, time.Time, error) {
	if !strings.HasPrefix(baseURL, "https://") && !strings.HasPrefix(baseURL, "http://") {
		return "", time.Time{}, fmt.Errorf("approval: enrollment base URL %q is not http(s)", baseURL)
	}
	ts := e.store(t.ID)
	if _, err := ts.GetUser(ctx, userID); err != nil {
		return "", time.Time{}, fmt.Errorf("approval: enrollment for user %s: %w", userID, err)
	}
	var raw [idBytes + secretBytes]byte
	if _, err := io.ReadFull(e.rand, raw[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("approval: read random: %w", err)
	}
	id, secret := b64.EncodeToString(raw[:idBytes]), b64.EncodeToString(raw[idBytes:])
	clear(raw[:])
	state, err := json.Marshal(pendingEnrollment{SecretSHA256: secretHash(secret)})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("approval: %w", err)
	}
	expires := e.now().UTC().Add(EnrollmentTTL)
	if _, err := ts.CreateFlow(ctx, tenants.Flow{ID: flowID(id), Action: FlowAction, Channel: tenants.ChannelMobile, UserID: userID,
		State: state, ExpiresAt: expires}); err != nil {
		return "", time.Time{}, fmt.Errorf("approval: store enrollment: %w", err)
	}
	return strings.TrimRight(baseURL, "/") + EnrollPath + "?id=" + id + "&secret=" + secret, expires, nil
}

// ValidEnrollmentID and ValidSecret report whether s has the form Start
// gives ids (22 base64url characters) and secrets (43).
func ValidEnrollmentID(s string) bool { return validB64(s, idBytes) }

// ValidSecret: see ValidEnrollmentID.
func ValidSecret(s string) bool { return validB64(s, secretBytes) }

func validB64(s string, n int) bool {
	if len(s) != b64.EncodedLen(n) {
		return false
	}
	b, err := b64.DecodeString(s)
	return err == nil && len(b) == n
}

// NewDevice is what a device sends to enroll (checked by the caller).
type NewDevice struct {
	Name, Platform, KeyID string
	PublicKey             []byte // PKIX DER, P-256
	PushToken             string
}

// Redeem uses up the enrollment id once, when secret is its secret, and
// registers the device for the enrollment's user. Every failure to match
// is ErrEnrollmentInvalid; a wrong secret leaves the enrollment usable (the
// secret has 256 bits; the caller rate-limits attempts). The enrollment is
// used up before the device is stored, so of concurrent redemptions one
// wins.
func (e *Enrollments) Redeem(ctx context.Context, t *tenants.Tenant, id, secret string, nd NewDevice) (tenants.Device, tenants.User, error) {
	if !ValidEnrollmentID(id) || !ValidSecret(secret) {
		return tenants.Device{}, tenants.User{}, ErrEnrollmentInvalid
	}
	if _, err := ParsePublicKey(nd.PublicKey); err != nil {
		return tenants.Device{}, tenants.User{}, fmt.Errorf("approval: %w", err)
	}
	ts := e.store(t.ID)
	now := e.now().UTC()
	f, err := ts.GetFlow(ctx, flowID(id))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return tenants.Device{}, tenants.User{}, ErrEnrollmentInvalid
	case err != nil:
		return tenants.Device{}, tenants.User{}, fmt.Errorf("approval: load enrollment: %w", err)
	}
	var p pendingEnrollment
	if f.Action != FlowAction || f.UserID == "" || !now.Before(f.ExpiresAt) || json.Unmarshal(f.State, &p) != nil ||
		subtle.ConstantTimeCompare([]byte(p.SecretSHA256), []byte(secretHash(secret))) != 1 {
		return tenants.Device{}, tenants.User{}, ErrEnrollmentInvalid
	}
	devs, err := ts.ListDevices(ctx, f.UserID)
	if err != nil {
		return tenants.Device{}, tenants.User{}, fmt.Errorf("approval: devices: %w", err)
	}
	for _, d := range devs {
		if d.KeyID == nd.KeyID {
			return tenants.Device{}, tenants.User{}, ErrKeyIDTaken
		}
	}
	// Used up here: the one DeleteFlow that finds the row wins (R32).
	if err := ts.DeleteFlow(ctx, f.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return tenants.Device{}, tenants.User{}, ErrEnrollmentInvalid
		}
		return tenants.Device{}, tenants.User{}, fmt.Errorf("approval: use enrollment: %w", err)
	}
	d := tenants.Device{UserID: f.UserID, Name: nd.Name, Platform: nd.Platform, KeyID: nd.KeyID, PublicKey: nd.PublicKey,
		PushToken: nd.PushToken, LastSeenAt: now}
	if nd.PushToken != "" {
		d.PushTokenUpdatedAt = now
	}
	d, err = ts.CreateDevice(ctx, d)
	switch {
	case errors.Is(err, store.ErrAlreadyExists):
		return tenants.Device{}, tenants.User{}, ErrKeyIDTaken
	case err != nil:
		return tenants.Device{}, tenants.User{}, fmt.Errorf("approval: store device: %w", err)
	}
	u, err := ts.GetUser(ctx, f.UserID)
	if err != nil {
		return d, tenants.User{}, fmt.Errorf("approval: user: %w", err)
	}
	return d, u, nil
}
