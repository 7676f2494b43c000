package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/approve"
	"github.com/latchkey/latchkey/push/challenge"
)

type waitOptions struct {
	Poll       time.Duration
	PushListen string
	Once       bool
	Auto       string
	Number     int
}

func newWaitCmd(g *globals, env *Env) *cobra.Command {
	var o waitOptions
	cmd := &cobra.Command{
		Use:   "wait",
		Short: "Wait for requests to approve (polling, and pushed messages with --push-listen) and answer them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("poll") && o.Poll <= 0 && o.PushListen == "" {
				return errors.New("--poll 0 turns polling off: give --push-listen too")
			}
			return wait(cmd, g, env, o)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.Poll, "poll", 5*time.Second, "how often to ask for pending requests (when not given: the server's poll_interval_seconds); 0 turns polling off")
	f.StringVar(&o.PushListen, "push-listen", "", "also receive pushed data messages {\"cid\": …} as HTTP POSTs on this address (e.g. 127.0.0.1:8089)")
	f.BoolVar(&o.Once, "once", false, "exit after answering one request (exit status 1 if the answer was refused)")
	f.StringVar(&o.Auto, "auto", "", "answer without asking: approve, deny or report (for scripts and tests)")
	f.IntVar(&o.Number, "number", 0, "with --auto approve: the number shown in the browser")
	return cmd
}

func (o waitOptions) decider(env *Env) (approve.Decider, error) {
	switch o.Auto {
	case "":
		if o.Number != 0 {
			return nil, errors.New("--number goes with --auto approve")
		}
		return approve.Prompt{In: stdinReader(env), Out: env.Stdout}, nil
	case "approve":
		if o.Number < 0 || o.Number > 99 {
			return nil, errors.New("--number is the two-digit number shown in the browser")
		}
		return approve.Fixed{Decision: challenge.DecisionApprove, Number: o.Number}, nil
	case "deny", "report":
		if o.Number != 0 {
			return nil, errors.New("--number goes with --auto approve only")
		}
		return approve.Fixed{Decision: challenge.Decision(o.Auto)}, nil
	}
	return nil, fmt.Errorf("--auto %q: want approve, deny or report", o.Auto)
}

func wait(cmd *cobra.Command, g *globals, env *Env, o waitOptions) error {
	dec, err := o.decider(env)
	if err != nil {
		return err
	}
	c, st, err := g.client(env)
	if err != nil {
		return err
	}
	poll := o.Poll
	if !cmd.Flags().Changed("poll") {
		poll = 5 * time.Second
		if n := st.Device.PollIntervalSeconds; n > 0 {
			poll = time.Duration(n) * time.Second
		}
	}
	out := cmd.OutOrStdout()
	w := &approve.Waiter{
		API: c, Decider: dec, Poll: poll, Once: o.Once, Out: out, Now: env.Now,
		Log: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)),
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	if o.PushListen != "" {
		ln, err := net.Listen("tcp", o.PushListen)
		if err != nil {
			return fmt.Errorf("--push-listen: %w", err)
		}
		pushes := make(chan string, 16)
		srv := &http.Server{Handler: approve.PushHandler(pushes), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		w.Pushes = pushes
		fmt.Fprintf(out, "Listening for pushed messages on http://%s/\n", ln.Addr())
		if env.Listening != nil {
			env.Listening(ln.Addr().String())
		}
	}
	mode := fmt.Sprintf("polling every %s", poll)
	if poll <= 0 {
		mode = "pushes only"
	}
	fmt.Fprintf(out, "Waiting for requests for %s at %s (%s; Ctrl-C to stop)…\n", st.Device.Username, st.Device.TenantName, mode)
	return w.Run(ctx)
}
