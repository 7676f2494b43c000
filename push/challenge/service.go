package challenge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/tenants"
)

// Sender delivers a push message (the FCM client implements it elsewhere).
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrSendFailed wraps a Sender's error. The challenge exists and stays
// pending: the app can still find it by polling.
var ErrSendFailed = errors.New("push message not sent")

// ServiceConfig holds a Service's parts.
type ServiceConfig struct {
	Issuer  *Issuer
	Store   Store
	Limiter *Limiter
	Sender  Sender
	Now     func() time.Time // default time.Now
}

// Service runs the push protocol over its parts: Push creates and sends a
// challenge within the limits, Respond applies a device's answer.
type Service struct {
	cfg ServiceConfig
}

// NewService checks cfg.
func NewService(cfg ServiceConfig) (*Service, error) {
	switch {
	case cfg.Issuer == nil:
		return nil, errors.New("push service: missing issuer")
	case cfg.Store == nil:
		return nil, errors.New("push service: missing store")
	case cfg.Limiter == nil:
		return nil, errors.New("push service: missing limiter")
	case cfg.Sender == nil:
		return nil, errors.New("push service: missing sender")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// Push asks the limits first and only then issues, stores and sends a
// challenge for req to dev. A refusal by the limits is a *RefusedError and
// nothing is created or sent. When the message cannot be sent (no push
// token, a Sender error) the challenge is still stored and returned, with an
// error wrapping ErrSendFailed: the app can answer it after polling.
func (s *Service) Push(ctx context.Context, req Request, dev Device) (*Challenge, error) {
	if dev.Tenant != req.Tenant || dev.UserID != req.UserID || dev.DeviceID != req.DeviceID {
		return nil, fmt.Errorf("push: %w", ErrWrongDevice)
	}
	if _, err := checkRequest(req, s.cfg.Now()); err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	if err := s.cfg.Limiter.Reserve(ctx, req.Tenant, req.UserID); err != nil {
		return nil, err
	}
	c, err := s.cfg.Issuer.Issue(req)
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	if err := s.cfg.Store.Create(ctx, c); err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	m, err := BuildMessage(c, dev.PushToken, s.cfg.Now())
	if err != nil {
		return c, fmt.Errorf("push: %w: %w", ErrSendFailed, err)
	}
	if err := s.cfg.Sender.Send(ctx, m); err != nil {
		return c, fmt.Errorf("push: %w: %w", ErrSendFailed, err)
	}
	return c, nil
}

// Respond applies a device's signed answer to the challenge cid of tenant.
// dev is the device record the caller loaded for the key id the answer
// names (see ParseResponse). It returns the challenge as it is afterwards,
// or nil when the answer was refused without a transition, so that the
// caller cannot hand an unauthenticated sender the challenge's state.
//
// Refused answers leave the challenge unchanged, except two: an approval
// with a wrong or missing number ends it denied (ErrWrongNumber), and an
// answer after expiry marks it expired (ErrExpired). Of concurrent answers
// only one wins; the others get ErrAlreadyAnswered. A reported challenge
// freezes the user's pushes; the caller alerts the tenant's admins and puts
// the account into review.
func (s *Service) Respond(ctx context.Context, tenant tenants.ID, cid string, dev Device, a SignedAnswer) (*Challenge, error) {
	c, err := s.cfg.Store.Get(ctx, tenant, cid)
	if err != nil {
		return nil, fmt.Errorf("respond: %w", err)
	}
	now := s.cfg.Now()
	v, verr := Verify(c, dev, a, now)
	if v.To == "" {
		return nil, fmt.Errorf("respond: %w", verr)
	}
	won, err := s.cfg.Store.Answer(ctx, tenant, cid, Transition{From: StatePending, To: v.To, Reason: v.Reason, At: now})
	if err != nil {
		return c, fmt.Errorf("respond: %w", err)
	}
	if !won {
		if c, err = s.cfg.Store.Get(ctx, tenant, cid); err != nil {
			return nil, fmt.Errorf("respond: %w", err)
		}
		if c.State == StateExpired {
			return c, fmt.Errorf("respond: %w", ErrExpired)
		}
		return c, fmt.Errorf("respond: %w", ErrAlreadyAnswered)
	}
	c.State, c.Reason, c.AnsweredAt = v.To, v.Reason, now.UTC()
	if err := s.cfg.Limiter.RecordOutcome(ctx, c.Tenant, c.UserID, v.To); err != nil {
		return c, fmt.Errorf("respond: %w", err)
	}
	if verr != nil {
		return c, fmt.Errorf("respond: %w", verr)
	}
	return c, nil
}
