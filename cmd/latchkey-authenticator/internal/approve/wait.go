package approve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/mobileclient"
	"github.com/latchkey/latchkey/push/challenge"
)

// API is the part of the mobile API the waiter uses
// (*mobileclient.Client implements it).
type API interface {
	Challenges(ctx context.Context) ([]mobileclient.Challenge, error)
	Challenge(ctx context.Context, cid string) (mobileclient.Challenge, error)
	Answer(ctx context.Context, cid string, d challenge.Decision, number int) (mobileclient.AnswerResult, error)
}

// Waiter waits for challenges and answers them one at a time.
type Waiter struct {
	API     API
	Decider Decider
	// Poll is how often the pending list is fetched; 0 turns polling off
	// (pushes only). The first poll is at once.
	Poll time.Duration
	// Pushes delivers challenge ids from pushed messages (nil: none).
	Pushes <-chan string
	// Once makes Run return after the first answered challenge.
	Once bool
	// Out receives the context of each challenge and the outcomes.
	Out io.Writer
	Now func() time.Time
	Log *slog.Logger
}

// Run waits until ctx ends (nil error) or, with Once, until one challenge
// was answered: then it returns nil for an accepted answer and the answer's
// error otherwise. It ends early with an error when the server no longer
// accepts the device or the Decider fails (e.g. the input ended).
func (w *Waiter) Run(ctx context.Context) error {
	if w.Poll <= 0 && w.Pushes == nil {
		return errors.New("nothing to wait on: polling is off and no push listener is set")
	}
	seen := map[string]bool{}
	var tick <-chan time.Time
	poll := make(chan time.Time, 1)
	if w.Poll > 0 {
		t := time.NewTicker(w.Poll)
		defer t.Stop()
		tick = t.C
		poll <- time.Time{} // at once
	}
	for {
		var found []mobileclient.Challenge
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-poll:
			found, err = w.poll(ctx)
		case <-tick:
			found, err = w.poll(ctx)
		case cid := <-w.Pushes:
			if !seen[cid] {
				found, err = w.pushed(ctx, cid)
			}
		}
		if err != nil {
			return err
		}
		for _, ch := range found {
			if seen[ch.CID] || ch.State != mobileclient.StatePending {
				continue
			}
			seen[ch.CID] = true
			err := w.handle(ctx, ch)
			switch {
			case errors.Is(err, errFatal) && ctx.Err() != nil:
				return nil // interrupted while asking
			case errors.Is(err, errFatal):
				return errors.Unwrap(err)
			case w.Once:
				return err
			case err != nil:
				fmt.Fprintln(w.Out, mobileclient.Explain(err))
			}
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// errFatal marks an error that ends Run whatever Once says.
var errFatal = errors.New("fatal")

type fatalError struct{ err error }

func (e fatalError) Error() string        { return e.err.Error() }
func (e fatalError) Unwrap() error        { return e.err }
func (e fatalError) Is(target error) bool { return target == errFatal }

// poll fetches the pending list. A failure is logged and the next tick
// tries again, unless the server no longer accepts the device: that error
// ends Run.
func (w *Waiter) poll(ctx context.Context) ([]mobileclient.Challenge, error) {
	list, err := w.API.Challenges(ctx)
	switch {
	case err == nil:
		return list, nil
	case mobileclient.HasCode(err, mobileclient.CodeUnauthenticated):
		return nil, err
	case ctx.Err() == nil:
		w.log().Warn("polling for requests failed", "err", err)
	}
	return nil, nil
}

// pushed fetches the challenge a push named over the signed channel: the
// push itself is only a hint, the details come from the server.
func (w *Waiter) pushed(ctx context.Context, cid string) ([]mobileclient.Challenge, error) {
	ch, err := w.API.Challenge(ctx, cid)
	switch {
	case err == nil && ch.State == mobileclient.StatePending:
		return []mobileclient.Challenge{ch}, nil
	case err == nil:
		fmt.Fprintf(w.Out, "Pushed request %s is already %s.\n", cid, clean(ch.State))
	case mobileclient.HasCode(err, mobileclient.CodeUnauthenticated):
		return nil, err
	case ctx.Err() == nil:
		fmt.Fprintf(w.Out, "Pushed request %s: %s\n", cid, mobileclient.Explain(err))
	}
	return nil, nil
}

// handle shows ch, asks the Decider and posts the answer.
func (w *Waiter) handle(ctx context.Context, ch mobileclient.Challenge) error {
	Describe(w.Out, ch, w.Now())
	a, err := w.Decider.Decide(ctx, ch)
	if err != nil {
		return fatalError{err}
	}
	res, err := w.API.Answer(ctx, ch.CID, a.Decision, a.Number)
	if err != nil {
		if mobileclient.HasCode(err, mobileclient.CodeUnauthenticated) {
			return fatalError{err}
		}
		return err
	}
	fmt.Fprintln(w.Out, Outcome(res.State))
	return nil
}

// Outcome is the line shown for the server's answer.
func Outcome(state string) string {
	switch state {
	case "approved":
		return "Approved: the request can go ahead in the browser."
	case "denied":
		return "Denied: the request was stopped."
	case "reported":
		return "Reported: the request was stopped, self-service is frozen for your account and your administrators were alerted."
	}
	return "The server answered: " + clean(state)
}

func (w *Waiter) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.New(slog.DiscardHandler)
}
