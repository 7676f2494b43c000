package approve

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/mobileclient"
	"github.com/latchkey/latchkey/push/challenge"
)

var now = time.Date(2026, 12, 2, 10, 0, 5, 0, time.UTC)

func sample(cid string) mobileclient.Challenge {
	return mobileclient.Challenge{
		CID: cid, Purpose: "reset", State: "pending", NumberMatching: true, ExpiresAt: now.Add(115 * time.Second),
		Context: mobileclient.Context{Action: "reset", TenantName: "Acme", App: "Self-service portal", IP: "203.0.113.7",
			Geo: "Berlin, DE", Browser: "Firefox on Windows", Time: now.Add(-5 * time.Second)},
	}
}

const cid1 = "000102030405060708090a0b0c0d0e0f"

func TestPromptReadsTheNumberDenyOrReport_R28(t *testing.T) {
	for in, want := range map[string]Answer{
		"42\n":           {Decision: challenge.DecisionApprove, Number: 42},
		" 17 \n":         {Decision: challenge.DecisionApprove, Number: 17},
		"d\n":            {Decision: challenge.DecisionDeny},
		"R\n":            {Decision: challenge.DecisionReport},
		"yes\n42":        {Decision: challenge.DecisionApprove, Number: 42}, // "yes" is not a number: asked again
		"x\n100\n\n07\n": {Decision: challenge.DecisionApprove, Number: 7},
		"deny":           {Decision: challenge.DecisionDeny}, // no newline before EOF
	} {
		var out strings.Builder
		got, err := Prompt{In: bufio.NewReader(strings.NewReader(in)), Out: &out}.Decide(context.Background(), sample(cid1))
		if err != nil || got != want {
			t.Errorf("input %q: %+v, %v; want %+v", in, got, err, want)
		}
		if !strings.HasPrefix(out.String(), "Type the number shown in your browser (or d to deny, r to report this wasn't me): ") {
			t.Errorf("input %q: prompt %q", in, out.String())
		}
	}
}

func TestPromptWithoutNumberMatching(t *testing.T) {
	ch := sample(cid1)
	ch.NumberMatching = false
	var out strings.Builder
	got, err := Prompt{In: bufio.NewReader(strings.NewReader("42\na\n")), Out: &out}.Decide(context.Background(), ch)
	if err != nil || got != (Answer{Decision: challenge.DecisionApprove}) {
		t.Fatalf("%+v, %v", got, err)
	}
	if strings.Count(out.String(), ApprovePrompt) != 2 {
		t.Errorf("a number was accepted without number matching: %q", out.String())
	}
}

func TestPromptEndsOnEOFAndAfterTooManyTries(t *testing.T) {
	_, err := Prompt{In: bufio.NewReader(strings.NewReader("")), Out: &strings.Builder{}}.Decide(context.Background(), sample(cid1))
	if !errors.Is(err, ErrNoAnswer) {
		t.Errorf("EOF: %v", err)
	}
	_, err = Prompt{In: bufio.NewReader(strings.NewReader(strings.Repeat("?\n", 10))), Out: &strings.Builder{}}.Decide(context.Background(), sample(cid1))
	if err == nil {
		t.Error("endless nonsense was accepted")
	}
}

func TestDescribeShowsTheContext_R30(t *testing.T) {
	var out strings.Builder
	Describe(&out, sample(cid1), now)
	for _, want := range []string{"password reset", "Acme", "Self-service portal", "203.0.113.7 (Berlin, DE)", "Firefox on Windows",
		"2026-12-02 10:00:00 UTC", "Time left: 115 s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in\n%s", want, out.String())
		}
	}
}

func TestDescribeNeutralisesTerminalControls(t *testing.T) {
	ch := sample(cid1)
	ch.Context.Browser = "Firefox\x1b[2J\u202eswodniW"
	var out strings.Builder
	Describe(&out, ch, now)
	if strings.ContainsAny(out.String(), "\x1b\u202e") {
		t.Errorf("control characters reached the terminal: %q", out.String())
	}
}

func TestFixed(t *testing.T) {
	if _, err := (Fixed{Decision: challenge.DecisionApprove}).Decide(context.Background(), sample(cid1)); err == nil {
		t.Error("auto approve without a number was accepted for a number-matching challenge")
	}
	a, err := Fixed{Decision: challenge.DecisionDeny, Number: 5}.Decide(context.Background(), sample(cid1))
	if err != nil || a != (Answer{Decision: challenge.DecisionDeny}) {
		t.Errorf("deny: %+v %v", a, err)
	}
}

func TestPushHandler(t *testing.T) {
	c := make(chan string, 1)
	h := PushHandler(c)
	post := func(method, body string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/", strings.NewReader(body)))
		return rec.Code
	}
	if code := post("POST", `{"cid":"`+cid1+`"}`); code != http.StatusAccepted || <-c != cid1 {
		t.Fatalf("valid push: %d", code)
	}
	for _, body := range []string{`{}`, `{"cid":"../device"}`, `{"cid":"` + strings.ToUpper(cid1) + `"}`, `not json`, strings.Repeat("x", 5000)} {
		if code := post("POST", body); code != http.StatusBadRequest {
			t.Errorf("body %.20q: %d", body, code)
		}
	}
	if code := post("GET", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", code)
	}
	c <- "full"
	if code := post("POST", `{"cid":"`+cid1+`"}`); code != http.StatusServiceUnavailable {
		t.Errorf("full queue: %d", code)
	}
}

// stubAPI serves fixed challenges and records answers.
type stubAPI struct {
	mu        sync.Mutex
	pending   []mobileclient.Challenge
	byID      map[string]mobileclient.Challenge
	answers   []Answer
	lists     int
	answerErr error
}

func (s *stubAPI) Challenges(context.Context) ([]mobileclient.Challenge, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	return s.pending, nil
}

func (s *stubAPI) Challenge(_ context.Context, cid string) (mobileclient.Challenge, error) {
	ch, ok := s.byID[cid]
	if !ok {
		return ch, &mobileclient.APIError{Status: 404, Code: mobileclient.CodeNotFound}
	}
	return ch, nil
}

func (s *stubAPI) Answer(_ context.Context, cid string, d challenge.Decision, n int) (mobileclient.AnswerResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = append(s.answers, Answer{d, n})
	if s.answerErr != nil {
		return mobileclient.AnswerResult{}, s.answerErr
	}
	return mobileclient.AnswerResult{State: "approved"}, nil
}

func TestWaiterOnceFromPolling(t *testing.T) {
	api := &stubAPI{pending: []mobileclient.Challenge{sample(cid1)}}
	var out strings.Builder
	w := &Waiter{API: api, Decider: Fixed{Decision: challenge.DecisionApprove, Number: 42}, Poll: time.Hour, Once: true, Out: &out, Now: func() time.Time { return now }}
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(api.answers) != 1 || api.answers[0] != (Answer{challenge.DecisionApprove, 42}) || !strings.Contains(out.String(), "Approved") {
		t.Fatalf("answers %+v, out %q", api.answers, out.String())
	}
}

func TestWaiterOnceReturnsTheRefusal(t *testing.T) {
	api := &stubAPI{pending: []mobileclient.Challenge{sample(cid1)}, answerErr: &mobileclient.APIError{Status: 422, Code: mobileclient.CodeWrongNumber}}
	w := &Waiter{API: api, Decider: Fixed{Decision: challenge.DecisionApprove, Number: 41}, Poll: time.Hour, Once: true, Out: &strings.Builder{}, Now: func() time.Time { return now }}
	if err := w.Run(context.Background()); !mobileclient.HasCode(err, mobileclient.CodeWrongNumber) {
		t.Fatalf("Run = %v", err)
	}
}

func TestWaiterFromPushesOnly(t *testing.T) {
	const cid2 = "ffeeddccbbaa99887766554433221100"
	done := sample(cid2)
	done.State = "approved"
	api := &stubAPI{byID: map[string]mobileclient.Challenge{cid1: sample(cid1), cid2: done}}
	pushes := make(chan string, 3)
	pushes <- "0123456789abcdef0123456789abcdef" // unknown: reported, not fatal
	pushes <- cid2                               // already answered: skipped
	pushes <- cid1
	var out strings.Builder
	w := &Waiter{API: api, Decider: Fixed{Decision: challenge.DecisionDeny}, Pushes: pushes, Once: true, Out: &out, Now: func() time.Time { return now }}
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if api.lists != 0 || len(api.answers) != 1 || api.answers[0].Decision != challenge.DecisionDeny {
		t.Fatalf("lists %d, answers %+v", api.lists, api.answers)
	}
	if !strings.Contains(out.String(), "already approved") || !strings.Contains(out.String(), "There is no such request") {
		t.Errorf("out %q", out.String())
	}
}

func TestWaiterNeedsSomethingToWaitOn(t *testing.T) {
	if err := (&Waiter{API: &stubAPI{}}).Run(context.Background()); err == nil {
		t.Fatal("Run with neither polling nor pushes did not fail")
	}
}
