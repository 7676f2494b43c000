package portal

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// StepError is a page other than the one a flow expected.
type StepError struct {
	Step   string // what the driver was doing
	Want   string // the page kind expected
	Got    Page
	Detail string
}

func (e *StepError) Error() string {
	s := fmt.Sprintf("portal: %s: got a %s page (HTTP %d), want %s", e.Step, e.Got.Kind, e.Got.Status, e.Want)
	if e.Got.Alert != "" {
		s += ": " + e.Got.Alert
	}
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Class is a short name of what went wrong, to count failures by.
func Class(err error) string {
	var se *StepError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se):
		return se.Step + ": " + se.Got.Kind + " " + strconv.Itoa(se.Got.Status)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "transport"
}

func expect(step string, p Page, want string) error {
	if p.Kind != want {
		return &StepError{Step: step, Want: want, Got: p}
	}
	return nil
}

// Codes returns the next verification code emailed to address at or after
// notBefore (mailsink.Sink.Take for the visitor's tenant).
type Codes func(ctx context.Context, address string, notBefore time.Time) (string, error)

// Account is a directory user as the flows need it.
type Account struct {
	Login, Mail, Mobile, Password string
	// Answers are the security answers by question, once enrolled.
	Answers map[string]string
}

// start posts the username form of an action and returns its first page.
func (v *Visitor) start(ctx context.Context, path, login string) (Page, error) {
	p, _, err := v.Submit(ctx, path, url.Values{"username": {login}})
	return p, err
}

// codeFactor picks factor (email or sms) on p, a choose page, waits for
// the code sent to to and submits it. It returns the page after the code
// and how long the code took to arrive from the moment the factor was
// chosen.
func (v *Visitor) codeFactor(ctx context.Context, p Page, factor, to string, codes Codes) (Page, time.Duration, error) {
	if !p.Offers(factor) {
		return p, 0, &StepError{Step: "choose " + factor, Want: factor + " offered", Got: p}
	}
	t0 := time.Now()
	p, _, err := v.Submit(ctx, "/flow/choose", url.Values{"step": {p.Step}, "factor": {factor}})
	if err != nil {
		return p, 0, err
	}
	if err := expect("choose "+factor, p, KindCode); err != nil {
		return p, 0, err
	}
	code, err := codes(ctx, to, t0)
	wait := time.Since(t0)
	if err != nil {
		return p, wait, fmt.Errorf("portal: %s code: %w", factor, err)
	}
	p, _, err = v.Submit(ctx, "/flow/code", url.Values{"step": {p.Step}, "code": {code}})
	return p, wait, err
}

// Enroll signs the account in at /enroll (its password, then an email
// code) and sets three security questions from the tenant's list with the
// given answers in the settings. It returns the answers by question.
func (v *Visitor) Enroll(ctx context.Context, a Account, codes Codes, answers []string) (map[string]string, error) {
	p, err := v.start(ctx, "/enroll", a.Login)
	if err != nil {
		return nil, err
	}
	if err := expect("enroll start", p, KindPassword); err != nil {
		return nil, err
	}
	p, _, err = v.Submit(ctx, "/flow/password", url.Values{"step": {p.Step}, "password": {a.Password}})
	if err != nil {
		return nil, err
	}
	if err := expect("enroll password", p, KindChoose); err != nil {
		return nil, err
	}
	if p, _, err = v.codeFactor(ctx, p, "email", a.Mail, codes); err != nil {
		return nil, err
	}
	if err := expect("enroll code", p, KindSettings); err != nil {
		return nil, err
	}
	if len(p.QuestionList) < len(answers) || p.CSRF == "" {
		return nil, &StepError{Step: "settings", Want: "a question list and a CSRF token", Got: p}
	}
	form := url.Values{"csrf": {p.CSRF}}
	out := map[string]string{}
	for i, ans := range answers {
		q := p.QuestionList[i]
		form.Set("q"+strconv.Itoa(i), q)
		form.Set("a"+strconv.Itoa(i), ans)
		out[q] = ans
	}
	p, _, err = v.Submit(ctx, "/settings/questions", form)
	if err != nil {
		return nil, err
	}
	if p.Kind != KindSettings || p.Status != 200 || p.Alert != "" {
		return nil, &StepError{Step: "save questions", Want: "settings saved", Got: p}
	}
	return out, nil
}

// answerQuestions picks the questions factor on p (a choose page) and
// answers them. It returns the page after the answers and the time of the
// POST that verified them.
func (v *Visitor) answerQuestions(ctx context.Context, p Page, a Account, asked *int) (Page, time.Duration, error) {
	if !p.Offers("questions") {
		return p, 0, &StepError{Step: "choose questions", Want: "questions offered", Got: p}
	}
	p, _, err := v.Submit(ctx, "/flow/choose", url.Values{"step": {p.Step}, "factor": {"questions"}})
	if err != nil {
		return p, 0, err
	}
	if err := expect("choose questions", p, KindQuestions); err != nil {
		return p, 0, err
	}
	form := url.Values{"step": {p.Step}}
	for _, q := range p.Questions {
		ans, ok := a.Answers[q.Text]
		if !ok {
			return p, 0, &StepError{Step: "questions", Want: "enrolled questions", Got: p, Detail: "asked " + strconv.Quote(q.Text)}
		}
		form.Set(q.Field, ans)
	}
	if len(p.Questions) == 0 {
		return p, 0, &StepError{Step: "questions", Want: "questions", Got: p}
	}
	*asked = len(p.Questions)
	p, took, err := v.Submit(ctx, "/flow/questions", form)
	return p, took, err
}

// QuestionsResult is the timing of one B1 flow.
type QuestionsResult struct {
	Answers  int           // answers verified (argon2id verifications)
	Verify   time.Duration // the POST of the answers
	Verified time.Time     // when that POST returned
}

// VerifyQuestions is the B1 flow: it starts a reset for the account, picks
// security questions and answers them; the flow, now one factor short of
// the two a reset needs, is left to expire.
func (v *Visitor) VerifyQuestions(ctx context.Context, a Account) (QuestionsResult, error) {
	p, err := v.start(ctx, "/reset", a.Login)
	if err != nil {
		return QuestionsResult{}, err
	}
	if err := expect("reset start", p, KindChoose); err != nil {
		return QuestionsResult{}, err
	}
	asked := 0
	p, took, err := v.answerQuestions(ctx, p, a, &asked)
	res := QuestionsResult{Verify: took, Verified: time.Now(), Answers: asked}
	if err != nil {
		return res, err
	}
	// Verified: the choose page again, for the second factor.
	if p.Kind != KindChoose || p.Offers("questions") || p.Alert != "" {
		return res, &StepError{Step: "answers", Want: "the choose page without questions", Got: p}
	}
	return res, nil
}

// ResetResult is the timing of one B2 flow.
type ResetResult struct {
	CodeWait  time.Duration // code factor chosen → code received (the first code factor)
	Questions time.Duration // POST of the answers (when asked)
	Act       time.Duration // POST of the new password: connector, DC, ack
	Done      time.Time     // when the done page was read
}

// Reset is the B2 flow: a whole self-service reset verified with factors
// in order ("email", "sms", "questions"; the tenant's policy decides how
// many are needed), then the new password, which the connector sets in the
// directory. codes has the code source of each code factor. The done page
// must say the password was changed.
func (v *Visitor) Reset(ctx context.Context, a Account, factors []string, codes map[string]Codes, newPassword string) (ResetResult, error) {
	var res ResetResult
	p, err := v.start(ctx, "/reset", a.Login)
	if err != nil {
		return res, err
	}
	if err := expect("reset start", p, KindChoose); err != nil {
		return res, err
	}
	for i, f := range factors {
		var took time.Duration
		switch f {
		case "email", "sms":
			to := a.Mail
			if f == "sms" {
				to = a.Mobile
			}
			if codes[f] == nil || to == "" {
				return res, fmt.Errorf("portal: no %s address or code source for %s", f, a.Login)
			}
			p, took, err = v.codeFactor(ctx, p, f, to, codes[f])
			if res.CodeWait == 0 {
				res.CodeWait = took
			}
		case "questions":
			var asked int
			p, res.Questions, err = v.answerQuestions(ctx, p, a, &asked)
		default:
			return res, fmt.Errorf("portal: factor %q is not driven", f)
		}
		if err != nil {
			return res, err
		}
		want := KindChoose
		if i == len(factors)-1 {
			want = KindNewPassword
		}
		if err := expect(f+" verified", p, want); err != nil {
			return res, err
		}
	}
	p, res.Act, err = v.Submit(ctx, "/flow/new-password", url.Values{"step": {p.Step}, "new_password": {newPassword}, "confirm_password": {newPassword}})
	res.Done = time.Now()
	if err != nil {
		return res, err
	}
	if p.Kind != KindDone || !strings.HasPrefix(p.Done, "Your password has been changed") {
		return res, &StepError{Step: "new password", Want: "done: password changed", Got: p, Detail: p.Done}
	}
	return res, nil
}
