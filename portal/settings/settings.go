// Package settings is what a signed-in user manages about their own
// self-service enrollment: registering and verifying a recovery email and
// mobile number ("prove it" with a code sent to the new address), choosing
// security questions, and removing factors. It is framework-free; the
// portal's handlers check the session and its step-up (R37) before calling a
// mutating method, and every change is notified on the old channel and
// audited (R14, R23).
package settings

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/portal/factor/passkey"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// Errors shown next to the form field they concern.
var (
	ErrBadEmail     = errors.New("settings: not an email address")
	ErrBadPhone     = errors.New("settings: not a usable mobile number")
	ErrWrongCode    = errors.New("settings: wrong code")
	ErrCodeExpired  = errors.New("settings: code expired or used up")
	ErrNotRemovable = errors.New("settings: this factor comes from the directory")
	ErrAdminNoQs    = errors.New("settings: security questions are not available to administrators")
	ErrLastFactor   = errors.New("settings: cannot remove the last verification method")
)

// Hasher hashes security answers (portal/factor/questions.Hasher).
type Hasher interface {
	Hash(ctx context.Context, answer string) (string, error)
}

// Service manages enrollment. Codes, Messenger and Phone are the flow
// engine's (shared configuration).
type Service struct {
	Store     store.Store
	Codes     flow.Codes
	Messenger flow.Messenger
	Phone     flow.PhoneChecker
	Hasher    Hasher
	// ValidateAnswers checks a question setup (portal/factor/questions.ValidateSetup).
	ValidateAnswers func(questions, answers []string, min int) error
	Now             func() time.Time
	Rand            io.Reader
	CodeTTL         time.Duration
	// TOTP and Devices enable authenticator apps and the mobile app; nil
	// leaves them out of the page.
	TOTP     TOTPMaker
	Devices  DeviceEnroller
	Passkeys *passkey.Service
}

// Overview is the settings page's data.
type Overview struct {
	User               tenants.User
	Questions          int // how many are set up
	QuestionsRequired  int
	QuestionList       []string
	AllowOwnQuestions  bool
	EmailFromDirectory bool
	PhoneFromDirectory bool
}

// Overview returns the user's enrollment.
func (s *Service) Overview(ctx context.Context, t *tenants.Tenant, userID string) (Overview, error) {
	u, err := s.Store.Tenant(t.ID).GetUser(ctx, userID)
	if err != nil {
		return Overview{}, fmt.Errorf("settings: user: %w", err)
	}
	return Overview{User: u, Questions: len(u.Enrollment.Questions), QuestionsRequired: required(t), QuestionList: flow.QuestionList(t),
		AllowOwnQuestions: t.SelfService.AllowOwnQuestions, EmailFromDirectory: u.Enrollment.EmailFromDirectory,
		PhoneFromDirectory: u.Enrollment.PhoneFromDirectory}, nil
}

func required(t *tenants.Tenant) int {
	if n := t.SelfService.QuestionsRequired; n > 0 {
		return n
	}
	return flow.DefaultQuestions
}

// pending is the state of a contact verification, kept as a flow row.
type pending struct {
	Kind      string    `json:"kind"` // "email" or "phone"
	Value     string    `json:"value"`
	Nonce     string    `json:"nonce"`
	MAC       []byte    `json:"mac"`
	ExpiresAt time.Time `json:"expires_at"`
	Attempts  int       `json:"attempts"`
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// StartContact sends a code to a new email address or mobile number and
// returns the token of the pending verification (kept in a cookie).
func (s *Service) StartContact(ctx context.Context, t *tenants.Tenant, userID, kind, value string, c flow.Client) (string, error) {
	var ch tenants.MessageChannel
	msgKind := "email_code"
	switch kind {
	case "email":
		addr, err := mail.ParseAddress(strings.TrimSpace(value))
		if err != nil || addr.Name != "" || len(addr.Address) > 254 {
			return "", ErrBadEmail
		}
		value, ch = strings.ToLower(addr.Address), tenants.MessageEmail
	case "phone":
		if s.Phone == nil {
			return "", ErrBadPhone
		}
		e164, region, err := s.Phone(value)
		if err != nil {
			return "", ErrBadPhone
		}
		if cs := t.SelfService.SMSCountries; len(cs) > 0 && !slices.ContainsFunc(cs, func(c string) bool { return strings.EqualFold(c, region) }) {
			return "", ErrBadPhone // R24: only numbers of allowed countries
		}
		value, ch, msgKind = e164, tenants.MessageSMS, "sms_code"
	default:
		return "", ErrBadEmail
	}
	ts := s.Store.Tenant(t.ID)
	u, err := ts.GetUser(ctx, userID)
	if err != nil {
		return "", fmt.Errorf("settings: user: %w", err)
	}
	token, id, err := flow.NewToken(s.Rand)
	if err != nil {
		return "", err
	}
	p := pending{Kind: kind, Value: value, Nonce: id[:16], ExpiresAt: s.now().Add(s.codeTTL())}
	code, mac, err := s.Codes.New(binding(t, id, p))
	if err != nil {
		return "", fmt.Errorf("settings: code: %w", err)
	}
	p.MAC = mac
	if err := s.savePending(ctx, t, id, u.ID, pendingContact, p.ExpiresAt, p); err != nil {
		return "", err
	}
	if err := s.Messenger.Send(ctx, t, flow.Message{Channel: ch, To: value, Kind: msgKind, Lang: c.Lang, Code: code, ExpiresIn: s.codeTTL(),
		Action: tenants.ActionEnroll, Username: u.Username, DisplayName: u.DisplayName, IP: c.IP, UserAgent: c.UserAgent, Time: s.now()}); err != nil {
		return "", fmt.Errorf("settings: queue code: %w", err)
	}
	return token, nil
}

func (s *Service) codeTTL() time.Duration {
	if s.CodeTTL > 0 {
		return s.CodeTTL
	}
	return flow.DefaultCodeTTL
}

func binding(t *tenants.Tenant, id string, p pending) string {
	return strings.Join([]string{string(t.ID), id, "enroll", p.Kind, p.Value, p.Nonce}, "|")
}

// Pending returns what a pending verification is for (kind and value).
func (s *Service) Pending(ctx context.Context, t *tenants.Tenant, userID, token string) (kind, value string, err error) {
	var p pending
	if _, err := s.loadPending(ctx, t, userID, token, pendingContact, &p); err != nil {
		return "", "", err
	}
	return p.Kind, p.Value, nil
}

// ConfirmContact checks the code sent to the new address and, when it
// matches, makes the address the user's verified recovery email or phone. The
// old address (if any) is told (R23).
func (s *Service) ConfirmContact(ctx context.Context, t *tenants.Tenant, userID, token, code string, c flow.Client) error {
	var p pending
	f, err := s.loadPending(ctx, t, userID, token, pendingContact, &p)
	if err != nil {
		return err
	}
	ts := s.Store.Tenant(t.ID)
	if !s.Codes.Check(binding(t, f.ID, p), code, p.MAC) {
		p.Attempts++
		if p.Attempts >= flow.DefaultMaxCodeAttempts {
			_ = ts.DeleteFlow(ctx, f.ID)
			return ErrCodeExpired
		}
		if f.State, err = encodePending(pendingContact, p); err != nil {
			return err
		}
		if _, err := ts.UpdateFlow(ctx, f); err != nil {
			return ErrCodeExpired // a concurrent attempt won: the page reloads
		}
		return ErrWrongCode
	}
	if err := ts.DeleteFlow(ctx, f.ID); err != nil {
		return ErrCodeExpired // used by a concurrent request (R5)
	}
	var old tenants.User
	u, err := ts.UpdateUser(ctx, userID, func(u *tenants.User) error {
		old = *u
		if p.Kind == "email" {
			u.Email, u.EmailVerified, u.Enrollment.EmailFromDirectory = p.Value, true, false
		} else {
			u.Phone, u.PhoneVerified, u.Enrollment.PhoneFromDirectory = p.Value, true, false
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("settings: save contact: %w", err)
	}
	s.audit(ctx, t, u, c, "contact."+p.Kind+".set")
	s.notifyOld(ctx, t, old, u, c)
	return nil
}

// notifyOld tells the user about a contact or factor change on the address
// they had before (falling back to the current one).
func (s *Service) notifyOld(ctx context.Context, t *tenants.Tenant, old, u tenants.User, c flow.Client) {
	to, ch := old.Email, tenants.MessageEmail
	if to == "" || !old.EmailVerified {
		to = u.Email
	}
	if to == "" && old.Phone != "" {
		to, ch = old.Phone, tenants.MessageSMS
	}
	if to == "" {
		return
	}
	_ = s.Messenger.Send(ctx, t, flow.Message{Channel: ch, To: to, Kind: "contact_changed", Lang: c.Lang, Username: u.Username,
		DisplayName: u.DisplayName, IP: c.IP, UserAgent: c.UserAgent, Time: s.now()})
}

// SetQuestions replaces the user's security questions (answers hashed with
// argon2id; never for admins, R27).
func (s *Service) SetQuestions(ctx context.Context, t *tenants.Tenant, userID string, questions, answers []string, c flow.Client) error {
	ts := s.Store.Tenant(t.ID)
	u, err := ts.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("settings: user: %w", err)
	}
	if u.IsAdmin {
		return ErrAdminNoQs
	}
	if s.ValidateAnswers != nil {
		if err := s.ValidateAnswers(questions, answers, required(t)); err != nil {
			return err
		}
	}
	allowed := flow.QuestionList(t)
	var qa []tenants.QuestionAnswer
	for i, q := range questions {
		custom := !slices.Contains(allowed, q)
		if custom && !t.SelfService.AllowOwnQuestions {
			return fmt.Errorf("%w: question %d is not on the list", flow.ErrInvalidInput, i+1)
		}
		h, err := s.Hasher.Hash(ctx, answers[i])
		if err != nil {
			return fmt.Errorf("settings: hash answer: %w", err)
		}
		qa = append(qa, tenants.QuestionAnswer{Question: q, Custom: custom, Hash: h})
	}
	u, err = ts.UpdateUser(ctx, userID, func(u *tenants.User) error { u.Enrollment.Questions = qa; return nil })
	if err != nil {
		return fmt.Errorf("settings: save questions: %w", err)
	}
	s.audit(ctx, t, u, c, "factor.questions.set")
	s.notifyFactor(ctx, t, u, c)
	return nil
}

func (s *Service) notifyFactor(ctx context.Context, t *tenants.Tenant, u tenants.User, c flow.Client) {
	to, ch := u.Email, tenants.MessageEmail
	if to == "" {
		to, ch = u.Phone, tenants.MessageSMS
	}
	if to == "" {
		return
	}
	_ = s.Messenger.Send(ctx, t, flow.Message{Channel: ch, To: to, Kind: "factor_changed", Lang: c.Lang, Username: u.Username,
		DisplayName: u.DisplayName, IP: c.IP, UserAgent: c.UserAgent, Time: s.now()})
}

// Remove removes a factor the user registered: "email", "phone" or
// "questions". Addresses that come from the directory cannot be removed here.
func (s *Service) Remove(ctx context.Context, t *tenants.Tenant, userID, factor string, c flow.Client) error {
	ts := s.Store.Tenant(t.ID)
	var old tenants.User
	u, err := ts.UpdateUser(ctx, userID, func(u *tenants.User) error {
		old = *u
		switch factor {
		case "email":
			if u.Enrollment.EmailFromDirectory {
				return ErrNotRemovable
			}
			if u.Phone == "" {
				return ErrLastFactor
			}
			u.Email, u.EmailVerified = "", false
		case "phone":
			if u.Enrollment.PhoneFromDirectory {
				return ErrNotRemovable
			}
			if u.Email == "" {
				return ErrLastFactor
			}
			u.Phone, u.PhoneVerified = "", false
		case "questions":
			u.Enrollment.Questions = nil
		case "totp":
			u.Enrollment.TOTP = nil
		case "passkeys":
			u.Enrollment.Passkeys = nil
		default:
			return flow.ErrInvalidInput
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.audit(ctx, t, u, c, "factor."+factor+".removed")
	s.notifyOld(ctx, t, old, u, c)
	return nil
}

func (s *Service) audit(ctx context.Context, t *tenants.Tenant, u tenants.User, c flow.Client, action string) {
	_, _ = s.Store.Tenant(t.ID).AppendAudit(ctx, tenants.AuditEvent{Actor: "user:" + u.ID, Action: action, Target: "user:" + u.ID,
		IP: c.IP, UserAgent: c.UserAgent, Outcome: "success", CorrelationID: c.RequestID})
}
