package approve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/mobileclient"
	"github.com/latchkey/latchkey/push/challenge"
)

// Answer is what the person decided about one challenge.
type Answer struct {
	Decision challenge.Decision
	// Number is the number typed for an approval (0 without number matching).
	Number int
}

// A Decider decides how to answer a challenge whose context was just shown.
type Decider interface {
	Decide(ctx context.Context, ch mobileclient.Challenge) (Answer, error)
}

// NumberPrompt is what the prompt asks when the challenge has number matching.
const NumberPrompt = "Type the number shown in your browser (or d to deny, r to report this wasn't me): "

// ApprovePrompt is what the prompt asks when it has not.
const ApprovePrompt = "Type a to approve (or d to deny, r to report this wasn't me): "

// ErrNoAnswer is returned when the input ends before an answer.
var ErrNoAnswer = errors.New("no answer: the input ended")

// maxTries is how many unreadable answers the prompt takes before giving up.
const maxTries = 5

// Prompt asks on a terminal (or any reader and writer).
type Prompt struct {
	In  *bufio.Reader
	Out io.Writer
}

// Decide asks until the answer is a number (or a with no number matching),
// d or r.
func (p Prompt) Decide(ctx context.Context, ch mobileclient.Challenge) (Answer, error) {
	for range maxTries {
		if err := ctx.Err(); err != nil {
			return Answer{}, err
		}
		q := NumberPrompt
		if !ch.NumberMatching {
			q = ApprovePrompt
		}
		fmt.Fprint(p.Out, q)
		line, err := readLine(ctx, p.In)
		if err != nil && (!errors.Is(err, io.EOF) || line == "") {
			if errors.Is(err, io.EOF) {
				return Answer{}, ErrNoAnswer
			}
			return Answer{}, fmt.Errorf("read the answer: %w", err)
		}
		a, ok := parseAnswer(strings.TrimSpace(line), ch.NumberMatching)
		if ok {
			return a, nil
		}
		if ch.NumberMatching {
			fmt.Fprintln(p.Out, "Please type the two-digit number, d or r.")
		} else {
			fmt.Fprintln(p.Out, "Please type a, d or r.")
		}
	}
	return Answer{}, errors.New("no answer after several tries")
}

// readLine reads one line, or returns when ctx ends (the read then goes on
// in the background; the caller is expected to stop).
func readLine(ctx context.Context, in *bufio.Reader) (string, error) {
	type result struct {
		line string
		err  error
	}
	c := make(chan result, 1)
	go func() {
		line, err := in.ReadString('\n')
		c <- result{line, err}
	}()
	select {
	case r := <-c:
		return r.line, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func parseAnswer(s string, numberMatching bool) (Answer, bool) {
	switch strings.ToLower(s) {
	case "d", "deny":
		return Answer{Decision: challenge.DecisionDeny}, true
	case "r", "report":
		return Answer{Decision: challenge.DecisionReport}, true
	case "a", "approve", "y", "yes":
		return Answer{Decision: challenge.DecisionApprove}, !numberMatching
	}
	if !numberMatching {
		return Answer{}, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 99 || len(s) > 2 {
		return Answer{}, false
	}
	return Answer{Decision: challenge.DecisionApprove, Number: n}, true
}

// Fixed answers every challenge the same way (--auto).
type Fixed struct {
	Decision challenge.Decision
	Number   int
}

// Decide returns the fixed answer; an approval of a challenge with number
// matching needs a number.
func (f Fixed) Decide(_ context.Context, ch mobileclient.Challenge) (Answer, error) {
	if f.Decision != challenge.DecisionApprove {
		return Answer{Decision: f.Decision}, nil
	}
	if !ch.NumberMatching {
		return Answer{Decision: f.Decision}, nil
	}
	if f.Number == 0 {
		return Answer{}, errors.New("this request needs the number shown in the browser: give --number")
	}
	return Answer{Decision: f.Decision, Number: f.Number}, nil
}

var actionNames = map[string]string{
	"reset":  "password reset",
	"unlock": "account unlock",
	"signin": "sign-in",
	"change": "password change",
	"enroll": "enrollment",
}

// Describe writes what a person needs to judge the challenge: the action,
// tenant, app, address, browser, time and how many seconds are left. Text
// from the server is shown without control or bidirectional-format
// characters, so it cannot rewrite the terminal.
func Describe(w io.Writer, ch mobileclient.Challenge, now time.Time) {
	c := ch.Context
	action := actionNames[c.Action]
	if action == "" {
		action = clean(c.Action)
	}
	fmt.Fprintf(w, "\nApprove this %s at %s?\n", action, clean(c.TenantName))
	if c.App != "" {
		fmt.Fprintf(w, "  App:       %s\n", clean(c.App))
	}
	from := clean(c.IP)
	if c.Geo != "" {
		from += " (" + clean(c.Geo) + ")"
	}
	fmt.Fprintf(w, "  From:      %s\n", from)
	fmt.Fprintf(w, "  Browser:   %s\n", clean(c.Browser))
	if !c.Time.IsZero() {
		fmt.Fprintf(w, "  Time:      %s\n", c.Time.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	fmt.Fprintf(w, "  Time left: %d s\n", SecondsLeft(ch, now))
}

// SecondsLeft is how many whole seconds ch can still be answered.
func SecondsLeft(ch mobileclient.Challenge, now time.Time) int {
	d := ch.ExpiresAt.Sub(now)
	if d <= 0 {
		return 0
	}
	return int(d / time.Second)
}

// clean replaces control and bidirectional-format characters with U+FFFD.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return '\uFFFD'
		}
		return r
	}, s)
}
