// Package approval runs push approval for the self-service flows and the
// mobile API over the tenants store (security.md R28–R34):
//
//   - Approvals implements portal/flow's Pusher: it picks the user's
//     device, builds the context the phone shows, creates the challenge
//     within the push-fatigue limits (push/challenge, stored cluster-wide by
//     push/pushstore) and sends the data-only FCM message when the device
//     has a token and a Sender is configured; otherwise the app polls.
//     Respond applies a device's signed answer; a "this wasn't me" report
//     freezes the user's self-service (User.FrozenAt) and calls OnReport.
//   - Enrollments creates the one-time enrollment link of the settings page
//     (an id and a 256-bit secret valid for 10 minutes, of which only the
//     SHA-256 is stored) and redeems it once for the device's public key.
//
// It has no HTTP: the mobile API (package mobileapi) and the portal call it.
package approval

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/push/challenge"
	"github.com/latchkey/latchkey/push/pushstore"
	"github.com/latchkey/latchkey/tenants"
)

// Store is the part of store.TenantStore that this package and the mobile
// API use (one tenant's view).
type Store interface {
	pushstore.Store
	GetUser(ctx context.Context, id string) (tenants.User, error)

	CreateDevice(ctx context.Context, d tenants.Device) (tenants.Device, error)
	GetDevice(ctx context.Context, id string) (tenants.Device, error)
	ListDevices(ctx context.Context, userID string) ([]tenants.Device, error)
	UpdateDevice(ctx context.Context, id string, fn func(*tenants.Device) error) (tenants.Device, error)
	DeleteDevice(ctx context.Context, id string) error
	ListPendingChallenges(ctx context.Context, deviceID string, now time.Time) ([]tenants.PushChallenge, error)

	CreateFlow(ctx context.Context, f tenants.Flow) (tenants.Flow, error)
	GetFlow(ctx context.Context, id string) (tenants.Flow, error)
	DeleteFlow(ctx context.Context, id string) error

	Hit(ctx context.Context, key string, window time.Duration, now time.Time, n int64) (int64, error)
}

// Scope returns the Store of one tenant.
type Scope func(tenants.ID) Store

// Scoped adapts store.Store's Tenant method (or any function returning a
// type with Store's methods): approval.Scoped(st.Tenant).
func Scoped[S Store](tenant func(tenants.ID) S) Scope {
	return func(id tenants.ID) Store { return tenant(id) }
}

// pushScope is s seen as the narrower pushstore.Scope.
func (s Scope) pushScope() pushstore.Scope {
	return func(id tenants.ID) pushstore.Store { return s(id) }
}

// ErrBadKey: a public key that is not a PKIX-encoded P-256 ECDSA key.
var ErrBadKey = errors.New("not a P-256 public key")

// ParsePublicKey reads a device's PKIX DER public key and accepts only
// ECDSA P-256.
func ParsePublicKey(der []byte) (*ecdsa.PublicKey, error) {
	if len(der) == 0 || len(der) > 512 {
		return nil, ErrBadKey
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, ErrBadKey
	}
	return pub, nil
}

// DeviceOf returns the challenge package's view of a stored device.
func DeviceOf(d tenants.Device) (challenge.Device, error) {
	pub, err := ParsePublicKey(d.PublicKey)
	if err != nil {
		return challenge.Device{}, fmt.Errorf("device %s: %w", d.ID, err)
	}
	return challenge.Device{Tenant: d.TenantID, UserID: d.UserID, DeviceID: d.ID, KeyID: d.KeyID, PublicKey: pub,
		PushToken: d.PushToken}, nil
}
