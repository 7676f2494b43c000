package flow_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/portal/factor/totp"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/push/approval"
	"github.com/latchkey/latchkey/push/approval/approvaltest"
	"github.com/latchkey/latchkey/push/challenge"
	"github.com/latchkey/latchkey/tenants"
)

// strongHarness is a harness whose engine also has the real TOTP service
// (Deps.TOTP) and the real push approvals over the same SQLite store and
// clock (Deps.Pusher), with a recording FCM sender.
type strongHarness struct {
	*harness
	totp   *totp.Service
	push   *approval.Approvals
	sender *approvaltest.Sender

	mu      sync.Mutex
	reports []string // users OnReport was called for
}

func newStrongHarness(t *testing.T, opts ...option) *strongHarness {
	t.Helper()
	s := &strongHarness{sender: &approvaltest.Sender{}}
	wire := func(h *harness) {
		sealer, err := totp.NewSealer(bytes.Repeat([]byte{0x5a}, totp.KeySize), nil)
		if err != nil {
			t.Fatalf("totp sealer: %v", err)
		}
		s.totp = &totp.Service{Sealer: sealer, Now: h.clock.Now, Log: slog.New(slog.DiscardHandler)}
		s.push, err = approval.New(approval.Config{Store: approval.Scoped(h.store.Tenant), Sender: s.sender, Now: h.clock.Now,
			Logger: slog.New(slog.DiscardHandler), OnReport: func(_ context.Context, _ *tenants.Tenant, c *challenge.Challenge) {
				userID := c.UserID
				s.mu.Lock()
				defer s.mu.Unlock()
				s.reports = append(s.reports, userID)
			}})
		if err != nil {
			t.Fatalf("approval.New: %v", err)
		}
		h.deps.TOTP, h.deps.Pusher = s.totp, s.push
	}
	s.harness = newHarness(t, append([]option{wire}, opts...)...)
	return s
}

func (s *strongHarness) reported() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reports)
}

// enrollTOTP gives u an authenticator app: totp.Service.New, the sealed
// enrollment stored in User.Enrollment.TOTP. The seed derives from the
// username, so every run sees the same codes. It returns the base32 secret
// the app would keep (from the otpauth URI).
func (s *strongHarness) enrollTOTP(u tenants.User) string {
	s.t.Helper()
	seed := sha256.Sum256([]byte("totp-seed:" + u.Username))
	svc := *s.totp
	svc.Rand = bytes.NewReader(seed[:totp.SeedSize])
	e, uri, err := svc.New(s.ten, u.UPN)
	if err != nil {
		s.t.Fatalf("totp.New: %v", err)
	}
	if _, err := s.store.Tenant(s.ten.ID).UpdateUser(s.ctx, u.ID, func(u *tenants.User) error {
		u.Enrollment.TOTP = &e
		return nil
	}); err != nil {
		s.t.Fatalf("store TOTP enrollment: %v", err)
	}
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		s.t.Fatalf("parse otpauth URI: %v", err)
	}
	return key.Secret()
}

// totpCode is the code an authenticator app shows for secret at tm.
func totpCode(t *testing.T, secret string, tm time.Time) string {
	t.Helper()
	c, err := pqtotp.GenerateCodeCustom(secret, tm, pqtotp.ValidateOpts{Period: uint(totp.Period / time.Second),
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatalf("generate TOTP code: %v", err)
	}
	return c
}

// lastCounter is the time step of u's last accepted TOTP code.
func (s *strongHarness) lastCounter(userID string) int64 {
	s.t.Helper()
	u := s.user(userID)
	if u.Enrollment.TOTP == nil {
		s.t.Fatal("user has no TOTP enrollment")
	}
	return u.Enrollment.TOTP.LastCounter
}

// stepOf is the RFC 6238 time step of tm.
func stepOf(tm time.Time) int64 { return tm.Unix() / int64(totp.Period/time.Second) }

func (f *fl) totp(code string) flow.View {
	f.h.t.Helper()
	v, err := f.h.eng.SubmitTOTP(f.h.ctx, f.h.ten, f.token, f.v.StepToken, code, f.c)
	return f.must("SubmitTOTP", v, err)
}

// pushDone asks whether the flow's push wait is over and reloads its View.
func (f *fl) pushDone() bool {
	f.h.t.Helper()
	done, err := f.h.eng.PushDone(f.h.ctx, f.h.ten, f.token, f.c)
	if err != nil {
		f.h.t.Fatalf("PushDone: %v", err)
	}
	f.v = f.view()
	return done
}

// phone is an enrolled device and the key the app holds for it.
type phone struct {
	dev tenants.Device
	key approvaltest.Key
}

// phone enrolls a device for u, with a push token, as redeeming an
// enrollment link would.
func (s *strongHarness) phone(u tenants.User) phone {
	s.t.Helper()
	k := approvaltest.NewKey(s.t, "key-"+u.Username)
	now := s.clock.Now()
	d, err := s.store.Tenant(s.ten.ID).CreateDevice(s.ctx, tenants.Device{UserID: u.ID, Name: u.Username + "'s phone",
		Platform: "android", KeyID: k.KeyID, PublicKey: k.DER, PushToken: "fcm-" + u.Username, PushTokenUpdatedAt: now, LastSeenAt: now})
	if err != nil {
		s.t.Fatalf("create device: %v", err)
	}
	return phone{dev: d, key: k}
}

// pending returns the one pending challenge of p, as the app lists it.
func (s *strongHarness) pending(p phone) tenants.PushChallenge {
	s.t.Helper()
	cs, err := s.store.Tenant(s.ten.ID).ListPendingChallenges(s.ctx, p.dev.ID, s.clock.Now())
	if err != nil {
		s.t.Fatalf("list pending challenges: %v", err)
	}
	if len(cs) != 1 {
		s.t.Fatalf("%d pending challenges for the device, want 1", len(cs))
	}
	return cs[0]
}

// answer signs the device's decision on cid at the clock's time and applies
// it through Approvals.Respond, as the mobile API would.
func (s *strongHarness) answer(p phone, cid string, d challenge.Decision, number int) error {
	s.t.Helper()
	a, err := challenge.Sign(p.key.Priv, challenge.Response{CID: cid, Decision: d, Number: number, KeyID: p.key.KeyID,
		TS: s.clock.Now()})
	if err != nil {
		s.t.Fatalf("sign answer: %v", err)
	}
	_, err = s.push.Respond(s.ctx, s.ten, p.dev, cid, a)
	return err
}

// challenges counts every push challenge in the database, of any tenant,
// user or state (read from the file, as an operator would).
func (s *strongHarness) challenges() int {
	s.t.Helper()
	db, err := sql.Open("sqlite", "file:"+s.path+"?mode=ro")
	if err != nil {
		s.t.Fatalf("open database: %v", err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(s.ctx, `SELECT count(*) FROM push_challenges`).Scan(&n); err != nil {
		s.t.Fatalf("count challenges: %v", err)
	}
	return n
}

// pushMasked is masked(v) without the push number, which is random.
func pushMasked(v flow.View) flow.View {
	v = masked(v)
	v.PushNumber = 0
	return v
}
