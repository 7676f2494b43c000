// Package fcm delivers push challenges (push/challenge.Message) through
// Firebase Cloud Messaging's HTTP v1 API with the Firebase Admin SDK
// (firebase.google.com/go/v4/messaging). It implements challenge.Sender.
//
// What goes over the wire is exactly challenge.BuildMessage's: a data-only
// message carrying the challenge id, high priority on Android, a TTL equal to
// the challenge's remaining life, a collapse key, and a background APNs push —
// never a notification block, a user name, the number to match or an IP (R33).
//
// Failures:
//   - UNREGISTERED (404) → ErrUnregistered: the app was uninstalled or the token
//     rotated; the caller clears the device's token (polling still works).
//   - 503 and network errors are retried by the SDK (up to 4 times, honouring
//     Retry-After, exponential backoff).
//   - 429 (quota) is retried here at most MaxQuotaRetries times, after the
//     Retry-After it names (capped at MaxQuotaWait) and only while the caller's
//     deadline allows; otherwise the error is returned and the app finds the
//     challenge by polling.
package fcm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"

	"github.com/latchkey/latchkey/push/challenge"
)

// ErrUnregistered means FCM no longer knows the device's token.
var ErrUnregistered = errors.New("fcm: the device's push token is no longer registered")

// Limits on retrying a 429.
const (
	MaxQuotaRetries = 2
	MaxQuotaWait    = 5 * time.Second
)

// Config configures a Sender.
type Config struct {
	// ProjectID is the Firebase project. Required.
	ProjectID string
	// CredentialsFile is a service-account JSON key; empty: Application
	// Default Credentials (GOOGLE_APPLICATION_CREDENTIALS and friends).
	CredentialsFile string
	// Endpoint replaces https://fcm.googleapis.com/v1 (tests: a local fake
	// FCM server); it also turns authentication off.
	Endpoint string
	// HTTPClient, when set, carries the requests as is (its transport must
	// authenticate, or Endpoint must be a test server).
	HTTPClient *http.Client
	// Sleep waits between quota retries (default: a timer honouring ctx).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Sender sends challenge messages through FCM.
type Sender struct {
	client *messaging.Client
	sleep  func(ctx context.Context, d time.Duration) error
}

var _ challenge.Sender = (*Sender)(nil)

// New returns a Sender for cfg's project.
func New(ctx context.Context, cfg Config) (*Sender, error) {
	if cfg.ProjectID == "" {
		return nil, errors.New("fcm: a Firebase project id is required")
	}
	var opts []option.ClientOption
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.Endpoint))
	}
	switch {
	case cfg.HTTPClient != nil:
		opts = append(opts, option.WithHTTPClient(cfg.HTTPClient))
	case cfg.Endpoint != "":
		opts = append(opts, option.WithoutAuthentication())
	case cfg.CredentialsFile != "":
		opts = append(opts, option.WithCredentialsFile(cfg.CredentialsFile))
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: cfg.ProjectID}, opts...)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("fcm: messaging client: %w", err)
	}
	s := &Sender{client: client, sleep: cfg.Sleep}
	if s.sleep == nil {
		s.sleep = sleepCtx
	}
	return s, nil
}

// Send delivers m (see the package comment for failures).
func (s *Sender) Send(ctx context.Context, m challenge.Message) error {
	msg, err := toFCM(m)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		_, err := s.client.Send(ctx, msg)
		switch {
		case err == nil:
			return nil
		case messaging.IsUnregistered(err):
			return fmt.Errorf("%w: %v", ErrUnregistered, err)
		case messaging.IsQuotaExceeded(err) && attempt < MaxQuotaRetries:
			wait := retryAfter(err)
			if wait > MaxQuotaWait || !fits(ctx, wait) {
				return fmt.Errorf("fcm: quota exceeded, retry after %s: %w", wait, err)
			}
			if err := s.sleep(ctx, wait); err != nil {
				return fmt.Errorf("fcm: %w", err)
			}
		default:
			return fmt.Errorf("fcm: send: %w", err)
		}
	}
}

// toFCM maps the challenge's message onto the SDK's types, field for field.
func toFCM(m challenge.Message) (*messaging.Message, error) {
	ttl, err := time.ParseDuration(m.Android.TTL)
	if err != nil || ttl <= 0 {
		return nil, fmt.Errorf("fcm: message TTL %q is not a positive duration", m.Android.TTL)
	}
	return &messaging.Message{
		Token: m.Token,
		Data:  map[string]string{"cid": m.Data.CID},
		Android: &messaging.AndroidConfig{
			Priority:    m.Android.Priority,
			TTL:         &ttl,
			CollapseKey: m.Android.CollapseKey,
		},
		APNS: &messaging.APNSConfig{
			Headers: map[string]string{
				"apns-push-type":   m.APNS.Headers.PushType,
				"apns-priority":    m.APNS.Headers.Priority,
				"apns-expiration":  m.APNS.Headers.Expiration,
				"apns-collapse-id": m.APNS.Headers.CollapseID,
			},
			Payload: &messaging.APNSPayload{Aps: &messaging.Aps{ContentAvailable: m.APNS.Payload.APS.ContentAvailable == 1}},
		},
	}, nil
}

// retryAfter reads the Retry-After (seconds) of an FCM error answer; 1 s when
// it names none.
func retryAfter(err error) time.Duration {
	if resp := errorutils.HTTPResponse(err); resp != nil {
		if s, e := strconv.Atoi(resp.Header.Get("Retry-After")); e == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
	}
	return time.Second
}

// fits reports whether waiting d still leaves time before ctx's deadline.
func fits(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d+500*time.Millisecond
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
