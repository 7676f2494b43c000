package flow

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/portal/factor/questions"
	"github.com/latchkey/latchkey/tenants"
)

// DefaultQuestions is the question list of a tenant that has not set its own.
var DefaultQuestionList = []string{
	"What was the name of your first pet?",
	"In which city did your parents meet?",
	"What was the first concert you went to?",
	"What is the name of the street you grew up on?",
	"What was your childhood nickname?",
	"What was the make of your first car or bicycle?",
	"What is your oldest cousin's first name?",
	"In which town was your first job?",
}

// QuestionList returns the tenant's security questions.
func QuestionList(t *tenants.Tenant) []string {
	if len(t.SelfService.Questions) > 0 {
		return t.SelfService.Questions
	}
	return DefaultQuestionList
}

func questionsRequired(t *tenants.Tenant) int {
	if n := t.SelfService.QuestionsRequired; n > 0 {
		return n
	}
	return DefaultQuestions
}

func lockoutOf(t *tenants.Tenant) (int, time.Duration) {
	n, d := t.SelfService.LockoutThreshold, t.SelfService.LockoutDuration
	if n <= 0 {
		n = DefaultLockoutThreshold
	}
	if d <= 0 {
		d = DefaultLockoutDuration
	}
	return n, d
}

// step loads the flow of token, checks the step token and that the flow is at
// one of the steps want, and clears the previous inline error.
func (e *Engine) step(ctx context.Context, t *tenants.Tenant, token, stepToken string, want ...Step) (tenants.Flow, *state, error) {
	f, st, err := e.load(ctx, t, token)
	if err != nil {
		return f, st, err
	}
	if !e.checkStep(f, stepToken) || !slices.Contains(want, st.Step) {
		return f, st, ErrStale
	}
	st.Error, st.Field, st.Rules = "", "", nil
	return f, st, nil
}

func (e *Engine) nonce() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(e.Rand, b); err != nil {
		return "", fmt.Errorf("flow: read random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Choose answers the method page: the user picked factor (remembering it is
// the handler's business, in a cookie). Email and SMS send a code at once;
// the reply is the same whether or not a code could be sent (R1).
func (e *Engine) Choose(ctx context.Context, t *tenants.Tenant, token, stepToken string, factor tenants.Factor, c Client) (View, error) {
	started := e.Now()
	f, st, err := e.step(ctx, t, token, stepToken, StepChoose, StepCode, StepQuestions, StepTOTP, StepPush, StepPasskey)
	if err != nil {
		return View{}, err
	}
	if offered, _ := st.offered(); !slices.Contains(offered, factor) || st.verified(factor) {
		return View{}, ErrInvalidInput
	}
	st.Push, st.PasskeySession, st.PasskeyOptions = nil, nil, "" // another method replaces a pending one
	switch factor {
	case tenants.FactorEmail, tenants.FactorSMS:
		defer e.pad(ctx, started)
		if err := e.sendCode(ctx, t, f, st, factor, c); err != nil {
			return View{}, err
		}
		st.Step = StepCode
	case tenants.FactorQuestions:
		qs, err := e.questionsFor(ctx, t, f, st)
		if err != nil {
			return View{}, err
		}
		st.Questions, st.Code, st.Step = qs, nil, StepQuestions
	case tenants.FactorTOTP:
		st.Code, st.Push, st.Step = nil, nil, StepTOTP
	case tenants.FactorPasskey:
		if err := e.beginPasskey(t, f, st); err != nil {
			return View{}, err
		}
		st.Code, st.Push, st.Step = nil, nil, StepPasskey
	case tenants.FactorPush:
		defer e.pad(ctx, started)
		if err := e.startPush(ctx, t, f, st, c); err != nil {
			return View{}, err
		}
		st.Code, st.Step = nil, StepPush
	default:
		return View{}, ErrInvalidInput
	}
	return e.saveView(ctx, t, f, st)
}

// Resend replaces the pending code with a new one (the old one stops
// working, R20). Same reply whether or not it could be sent.
func (e *Engine) Resend(ctx context.Context, t *tenants.Tenant, token, stepToken string, c Client) (View, error) {
	started := e.Now()
	defer e.pad(ctx, started)
	f, st, err := e.step(ctx, t, token, stepToken, StepCode)
	if err != nil {
		return View{}, err
	}
	if st.Code == nil {
		return View{}, ErrStale
	}
	if err := e.sendCode(ctx, t, f, st, st.Code.Factor, c); err != nil {
		return View{}, err
	}
	return e.saveView(ctx, t, f, st)
}

// sendCode makes a new code for factor and queues it, unless the account
// cannot receive one (decoy, no verified address, limits) — then nothing is
// sent and nothing in the reply differs.
func (e *Engine) sendCode(ctx context.Context, t *tenants.Tenant, f tenants.Flow, st *state, factor tenants.Factor, c Client) error {
	now := e.Now()
	nonce, err := e.nonce()
	if err != nil {
		return err
	}
	sends := 1
	if st.Code != nil && st.Code.Factor == factor {
		sends = st.Code.Sends + 1
	}
	pc := &pendingCode{Factor: factor, Nonce: nonce, ExpiresAt: now.Add(e.cfg.CodeTTL), Sends: sends}
	st.Code = pc
	if st.Decoy || f.UserID == "" {
		return nil
	}
	ts := e.Store.Tenant(t.ID)
	u, err := ts.GetUser(ctx, f.UserID)
	if err != nil {
		return fmt.Errorf("flow: user: %w", err)
	}
	var to string
	var ch tenants.MessageChannel
	kind := "email_code"
	switch factor {
	case tenants.FactorEmail:
		if u.Email == "" || !u.EmailVerified {
			return nil
		}
		to, ch = u.Email, tenants.MessageEmail
	case tenants.FactorSMS:
		if u.Phone == "" || !u.PhoneVerified {
			return nil // R23: only verified numbers
		}
		to, ch, kind = u.Phone, tenants.MessageSMS, "sms_code"
		ok, err := e.smsAllowed(ctx, t, u, now)
		if err != nil || !ok {
			return err
		}
	}
	n, err := ts.Hit(ctx, "send:user:"+u.ID, time.Hour, now, 1)
	if err != nil {
		return fmt.Errorf("flow: count sends: %w", err)
	}
	if n > int64(e.cfg.MaxSends) {
		e.audit(ctx, t, c, "anonymous", "code.throttled", "user:"+u.ID, "denied", map[string]string{"factor": string(factor)})
		return nil // R3: the outbox holds at most MaxSends an hour
	}
	code, mac, err := e.Codes.New(e.codeBinding(t, f, factor, nonce))
	if err != nil {
		return fmt.Errorf("flow: new code: %w", err)
	}
	pc.MAC = mac
	err = e.Messenger.Send(ctx, t, Message{Channel: ch, To: to, Kind: kind, Lang: st.Lang, Code: code, ExpiresIn: e.cfg.CodeTTL,
		Action: f.Action, Username: u.Username, DisplayName: u.DisplayName, IP: c.IP, UserAgent: c.UserAgent, Time: now})
	if err != nil {
		return fmt.Errorf("flow: queue code: %w", err)
	}
	e.audit(ctx, t, c, "anonymous", "code.sent", "user:"+u.ID, "success", map[string]string{"factor": string(factor)})
	return nil
}

// smsAllowed applies the SMS-pumping limits (R24): the tenant's country
// allow-list, its daily budget, the user's daily budget and a cooldown per
// number. A refusal is audited (the alert) and looks like a send.
func (e *Engine) smsAllowed(ctx context.Context, t *tenants.Tenant, u tenants.User, now time.Time) (bool, error) {
	ss := t.SelfService
	deny := func(why string) (bool, error) {
		e.audit(ctx, t, Client{}, "system", "sms.blocked", "user:"+u.ID, "denied", map[string]string{"reason": why})
		e.Logger.WarnContext(ctx, "sms refused", "reason", why, "user", u.ID)
		return false, nil
	}
	if len(ss.SMSCountries) > 0 {
		region := ""
		if e.Phone != nil {
			_, region, _ = e.Phone(u.Phone)
		}
		if !slices.ContainsFunc(ss.SMSCountries, func(c string) bool { return strings.EqualFold(c, region) }) {
			return deny("country")
		}
	}
	ts := e.Store.Tenant(t.ID)
	perTenant, perUser, cool := ss.SMSPerTenantDay, ss.SMSPerUserDay, ss.SMSNumberCooldown
	if perTenant <= 0 {
		perTenant = DefaultSMSPerTenantDay
	}
	if perUser <= 0 {
		perUser = DefaultSMSPerUserDay
	}
	if cool <= 0 {
		cool = DefaultSMSCooldown
	}
	if n, err := ts.Hit(ctx, "sms:number:"+u.Phone, cool, now, 1); err != nil || n > 1 {
		if err != nil {
			return false, fmt.Errorf("flow: sms cooldown: %w", err)
		}
		return deny("cooldown")
	}
	if n, err := ts.Hit(ctx, "sms:tenant", 24*time.Hour, now, 1); err != nil || n > int64(perTenant) {
		if err != nil {
			return false, fmt.Errorf("flow: sms budget: %w", err)
		}
		return deny("tenant_budget")
	}
	if n, err := ts.Hit(ctx, "sms:user:"+u.ID, 24*time.Hour, now, 1); err != nil || n > int64(perUser) {
		if err != nil {
			return false, fmt.Errorf("flow: sms budget: %w", err)
		}
		return deny("user_budget")
	}
	return true, nil
}

// codeBinding ties a code to its tenant, flow, purpose, factor and send (R7).
func (e *Engine) codeBinding(t *tenants.Tenant, f tenants.Flow, factor tenants.Factor, nonce string) string {
	return strings.Join([]string{string(t.ID), f.ID, string(f.Action), string(factor), nonce}, "|")
}

// SubmitCode checks the code the user typed (R5, R6, R21).
func (e *Engine) SubmitCode(ctx context.Context, t *tenants.Tenant, token, stepToken, code string, c Client) (View, error) {
	// Padded like identify (R2): a real account's failure writes its
	// failure count, a decoy's does not; the floor hides the difference.
	defer e.pad(ctx, e.Now())
	f, st, err := e.step(ctx, t, token, stepToken, StepCode)
	if err != nil {
		return View{}, err
	}
	pc := st.Code
	if pc == nil {
		return View{}, ErrStale
	}
	now := e.Now()
	switch {
	case pc.Dead:
		st.Error, st.Field = "code.dead", "code"
		return e.saveView(ctx, t, f, st)
	case !now.Before(pc.ExpiresAt):
		pc.Dead = true
		st.Error, st.Field = "code.expired", "code"
		return e.saveView(ctx, t, f, st)
	}
	if pc.MAC != nil && e.Codes.Check(e.codeBinding(t, f, pc.Factor, pc.Nonce), code, pc.MAC) {
		st.Code = nil
		return e.verifiedFactor(ctx, t, f, st, pc.Factor, c)
	}
	pc.Attempts++
	if pc.Attempts >= e.cfg.MaxCodeAttempts {
		pc.Dead = true
	}
	st.Error, st.Field = "code.wrong", "code"
	return e.failed(ctx, t, f, st, c, "code")
}

// questionsFor picks the questions to ask: the user's own when they set up
// enough, else decoys derived from the username (the same every time, and
// the same as for an unknown account). A real account running as a decoy
// (locked, frozen, throttled) is still asked its own questions, which then
// never verify: a switch to other questions would tell that it is locked.
func (e *Engine) questionsFor(ctx context.Context, t *tenants.Tenant, f tenants.Flow, st *state) ([]string, error) {
	n := questionsRequired(t)
	if f.UserID != "" {
		u, err := e.Store.Tenant(t.ID).GetUser(ctx, f.UserID)
		if err != nil {
			return nil, fmt.Errorf("flow: user: %w", err)
		}
		if len(u.Enrollment.Questions) >= n {
			qs := make([]string, 0, n)
			for _, q := range u.Enrollment.Questions[:n] {
				qs = append(qs, q.Question)
			}
			return qs, nil
		}
	}
	// The key is per tenant, so the same username gets other questions
	// elsewhere; the name is the account part only, so that "zed",
	// "zed@corp.example" and "CORP\zed" get the same questions, as the
	// aliases of a real account do.
	return questions.Decoy(e.mac("decoy", string(t.ID)), accountPart(st.Username), QuestionList(t), n), nil
}

// accountPart is the name in a username without its domain: "CORP\zed" and
// "zed@corp.example" are "zed".
func accountPart(username string) string {
	if i := strings.LastIndexByte(username, '\\'); i >= 0 {
		username = username[i+1:]
	}
	if i := strings.IndexByte(username, '@'); i > 0 {
		username = username[:i]
	}
	return username
}

// SubmitAnswers checks the answers to the questions asked, all of which must
// match (R27). Each answer costs one argon2id verification, decoys included.
func (e *Engine) SubmitAnswers(ctx context.Context, t *tenants.Tenant, token, stepToken string, answers []string, c Client) (View, error) {
	defer e.pad(ctx, e.Now()) // R2, as SubmitCode
	f, st, err := e.step(ctx, t, token, stepToken, StepQuestions)
	if err != nil {
		return View{}, err
	}
	if len(answers) != len(st.Questions) || len(st.Questions) == 0 {
		return View{}, ErrInvalidInput
	}
	for _, a := range answers {
		if len(a) > maxAnswerBytes { // the form allows 200 characters; no answer set up is longer
			return View{}, ErrInvalidInput
		}
	}
	// Shed load instead of queueing without bound (performance.md B1): the
	// whole submission gets AnswerWait for its argon2id verifications, then
	// ErrBusy (503 with Retry-After); nothing is counted against the user.
	hctx, cancel := context.WithTimeout(ctx, e.cfg.AnswerWait)
	defer cancel()
	var hashes map[string]string
	if !st.Decoy && f.UserID != "" {
		u, err := e.Store.Tenant(t.ID).GetUser(ctx, f.UserID)
		if err != nil {
			return View{}, fmt.Errorf("flow: user: %w", err)
		}
		hashes = map[string]string{}
		for _, q := range u.Enrollment.Questions {
			hashes[q.Question] = q.Hash
		}
	}
	ok := true
	for i, q := range st.Questions {
		h, real := hashes[q]
		if !real {
			ok = false
			if h, err = e.dummyHash(hctx); err != nil {
				return View{}, answerErr(err)
			}
		}
		match, err := e.Answers.Verify(hctx, h, answers[i])
		if err != nil {
			return View{}, answerErr(err)
		}
		ok = ok && match && real
	}
	if ok && !slices.Contains(st.Allowed, tenants.FactorQuestions) {
		// An admin who chose questions from the list every account sees
		// (Offered): right answers, but they never count for an admin
		// (R15). Only now, after the answers, does the page say so.
		st.Offered, st.Questions, st.Step = nil, nil, StepChoose
		st.Error, st.Field = "questions.not_for_admins", ""
		return e.saveView(ctx, t, f, st)
	}
	if ok {
		return e.verifiedFactor(ctx, t, f, st, tenants.FactorQuestions, c)
	}
	st.Error, st.Field = "questions.wrong", "answers"
	return e.failed(ctx, t, f, st, c, "questions")
}

// maxAnswerBytes bounds a submitted answer (800 bytes: 200 characters of
// up to 4 bytes), before any hashing.
const maxAnswerBytes = 800

// answerErr maps a hashing failure: load shedding and ended requests are
// ErrBusy (try again), anything else an internal error.
func answerErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "busy") {
		return ErrBusy
	}
	return fmt.Errorf("flow: verify answer: %w", err)
}

// dummyHash is an argon2id hash that no answer matches, verified in place of
// a missing one so every account costs the same (R2). It is made on first
// use and kept only once made: a failure (a busy hasher, an ended request)
// is returned, and the next call tries again.
func (e *Engine) dummyHash(ctx context.Context) (string, error) {
	e.dummyMu.Lock()
	defer e.dummyMu.Unlock()
	if e.dummy == "" {
		h, err := e.Answers.Hash(ctx, base64.RawURLEncoding.EncodeToString(e.mac("dummy")))
		if err != nil {
			return "", fmt.Errorf("flow: dummy answer hash: %w", err)
		}
		e.dummy = h
	}
	return e.dummy, nil
}

// CaptchaDigits returns the digits the flow's CAPTCHA image shows.
func (e *Engine) CaptchaDigits(ctx context.Context, t *tenants.Tenant, token string) (string, error) {
	f, st, err := e.load(ctx, t, token)
	if err != nil {
		return "", err
	}
	if st.Step != StepCaptcha || st.CaptchaNonce == "" {
		return "", ErrStale
	}
	return e.captchaDigits(f, st), nil
}

func (e *Engine) captchaDigits(f tenants.Flow, st *state) string {
	m := e.mac("captcha", string(f.TenantID), f.ID, st.CaptchaNonce)
	var b strings.Builder
	for i := range 6 {
		b.WriteByte('0' + m[i]%10)
	}
	return b.String()
}

// SubmitCaptcha checks the CAPTCHA; a wrong answer draws a new one.
func (e *Engine) SubmitCaptcha(ctx context.Context, t *tenants.Tenant, token, stepToken, answer string, c Client) (View, error) {
	f, st, err := e.step(ctx, t, token, stepToken, StepCaptcha)
	if err != nil {
		return View{}, err
	}
	answer = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, answer)
	if answer == e.captchaDigits(f, st) {
		st.CaptchaNeeded, st.Step, st.After = false, st.After, ""
		return e.saveView(ctx, t, f, st)
	}
	if st.CaptchaNonce, err = e.nonce(); err != nil {
		return View{}, err
	}
	st.Error, st.Field = "captcha.wrong", "captcha"
	if _, err := e.Store.Tenant(t.ID).Hit(ctx, "fail:ip:"+c.IP, time.Hour, e.Now(), 1); err != nil {
		return View{}, fmt.Errorf("flow: count failure: %w", err)
	}
	return e.saveView(ctx, t, f, st)
}

// SubmitCurrentPassword checks sign-in's current password through the
// connector (a bind). Any failure reads the same; only a correct password
// that must be changed is told apart (the bind proved the user knows it).
func (e *Engine) SubmitCurrentPassword(ctx context.Context, t *tenants.Tenant, token, stepToken, password string, c Client) (View, error) {
	started := e.Now()
	defer e.pad(ctx, started)
	f, st, err := e.step(ctx, t, token, stepToken, StepCurrentPassword)
	if err != nil {
		return View{}, err
	}
	if password == "" || len(password) > 1024 {
		st.Error, st.Field = "password.required", "password"
		return e.saveView(ctx, t, f, st)
	}
	if st.Decoy {
		st.Error, st.Field = "signin.invalid", "password"
		return e.failed(ctx, t, f, st, c, "password")
	}
	out := e.Dispatcher.Execute(ctx, string(t.ID), hub.Request{Op: protocol.OpVerifyPassword, Target: st.GUID, Domain: st.Domain, Password: []byte(password)})
	switch {
	case out.Status == hub.Done:
		st.PasswordOK = true
		st.Step = StepChoose
		if st.satisfied() {
			return e.complete(ctx, t, f, st, c)
		}
		return e.saveView(ctx, t, f, st)
	case out.Status == hub.DirectoryError && (out.Code == "MustChange" || out.Code == "Expired"):
		st.Step, st.Result = StepDone, "must_change"
		e.audit(ctx, t, c, "user:"+f.UserID, "signin.must_change", "user:"+f.UserID, "denied", nil)
		return e.saveView(ctx, t, f, st)
	case out.Status == hub.DirectoryError:
		st.Error, st.Field = "signin.invalid", "password"
		return e.failed(ctx, t, f, st, c, "password")
	}
	st.Error = "directory.unavailable"
	return e.saveView(ctx, t, f, st)
}

// verifiedFactor records a verified factor and moves on: to the next factor,
// or to the action once enough are verified.
func (e *Engine) verifiedFactor(ctx context.Context, t *tenants.Tenant, f tenants.Flow, st *state, factor tenants.Factor, c Client) (View, error) {
	if !slices.Contains(st.Allowed, factor) {
		// Only the rule counts, not what the page offered (see Offered).
		return View{}, ErrInvalidInput
	}
	if !st.verified(factor) {
		st.Verified = append(st.Verified, factor)
	}
	// Save first: the versioned update is what makes the code or answers
	// count once (R5). A concurrent submission of the same step loses here
	// with ErrStale, before it audits or reads anything more.
	st.Step = StepChoose
	nf, err := e.save(ctx, f, st)
	if err != nil {
		return View{}, err
	}
	e.audit(ctx, t, c, "user:"+f.UserID, "factor.verified", "user:"+f.UserID, "success", map[string]string{"factor": string(factor), "flow": f.ID[:12]})
	if !st.satisfied() {
		return e.view(ctx, t, nf, st), nil
	}
	return e.complete(ctx, t, nf, st, c)
}

// failed counts a failed verification against the flow, the IP and the
// account; at the tenant's threshold self-service locks for the account
// (R21) — decoys show the same page at the same count.
func (e *Engine) failed(ctx context.Context, t *tenants.Tenant, f tenants.Flow, st *state, c Client, what string) (View, error) {
	now := e.Now()
	st.Failures++
	ts := e.Store.Tenant(t.ID)
	if _, err := ts.Hit(ctx, "fail:ip:"+c.IP, time.Hour, now, 1); err != nil {
		return View{}, fmt.Errorf("flow: count failure: %w", err)
	}
	threshold, lockFor := lockoutOf(t)
	if !st.Decoy && f.UserID != "" {
		u, err := ts.UpdateUser(ctx, f.UserID, func(u *tenants.User) error {
			u.FailedVerifications++
			if u.FailedVerifications >= threshold {
				u.SelfServiceLockedUntil, u.FailedVerifications = now.Add(lockFor), 0
			}
			return nil
		})
		if err != nil {
			return View{}, fmt.Errorf("flow: count failure: %w", err)
		}
		if now.Before(u.SelfServiceLockedUntil) {
			// Locked now. The page does not say so (an unknown account could
			// never get there across flows: R1); the owner is told on their
			// own channel, and nothing in this flow can verify any more.
			e.audit(ctx, t, c, "system", "selfservice.locked", "user:"+f.UserID, "locked", map[string]string{"until": u.SelfServiceLockedUntil.UTC().Format(time.RFC3339)})
			st.Decoy = true
			if st.Code != nil {
				st.Code.MAC = nil
			}
			if st.Push != nil {
				st.Push.CID = ""
			}
			if u.Email != "" && u.EmailVerified {
				if err := e.Messenger.Send(ctx, t, Message{Channel: tenants.MessageEmail, To: u.Email, Kind: "selfservice_locked", Lang: c.Lang,
					Username: u.Username, DisplayName: u.DisplayName, IP: c.IP, UserAgent: c.UserAgent, Time: now}); err != nil {
					e.Logger.ErrorContext(ctx, "notify lockout", "err", err)
				}
			}
		}
	}
	// The page shows the lockout when this flow alone reached the threshold,
	// the same for every account (a decoy has no earlier failures to count).
	locked := st.Failures >= threshold
	e.audit(ctx, t, c, "anonymous", "factor.failed", "user:"+f.UserID, "failure", map[string]string{"what": what, "flow": f.ID[:12]})
	switch {
	case locked:
		st.Step, st.Code, st.Error = StepLocked, nil, ""
	case st.Failures >= e.cfg.MaxFlowFailures:
		st.Step, st.Code, st.Error = StepFailed, nil, ""
		st.Result = "too_many_failures"
	}
	return e.saveView(ctx, t, f, st)
}
