// Package cli implements latchkey-authenticator's commands (see the
// command's package documentation).
package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/mobileclient"
	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/state"
)

// requestTimeout bounds each API request.
const requestTimeout = 30 * time.Second

// Env is what the commands run with: standard streams, clock and randomness.
// Zero fields take the process's own (time.Now, crypto/rand).
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Now            func() time.Time
	Rand           io.Reader
	// Listening, when set, is told the address of the push listener once
	// it accepts connections (tests use it; the address is also printed).
	Listening func(addr string)
}

func (e *Env) fill() {
	if e.Stdin == nil {
		e.Stdin = os.Stdin
	}
	if e.Stdout == nil {
		e.Stdout = os.Stdout
	}
	if e.Stderr == nil {
		e.Stderr = os.Stderr
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Rand == nil {
		e.Rand = rand.Reader
	}
}

// Main runs the command line until it ends or SIGINT/SIGTERM and returns
// the exit status.
func Main(version string, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Execute(ctx, version, args, Env{})
}

// Execute runs one command line in env and returns the exit status: 0, or 1
// after printing the error on env.Stderr.
func Execute(ctx context.Context, version string, args []string, env Env) int {
	env.fill()
	root := newRoot(version, &env)
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(env.Stderr, "latchkey-authenticator:", mobileclient.Explain(err))
		var h hinted
		if errors.As(err, &h) {
			fmt.Fprintln(env.Stderr, h.hint)
		}
		return 1
	}
	return 0
}

// hinted is an error with a line of advice printed after it.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() + " " + h.hint }
func (h hinted) Unwrap() error { return h.err }

// globals are the flags every command has.
type globals struct {
	State  string
	CAFile string
}

func newRoot(version string, env *Env) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "latchkey-authenticator",
		Short:         "Latchkey's reference authenticator: approve self-service requests and show TOTP codes",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.State, "state", state.DefaultPath(), "the state file (device key, TOTP seeds; mode 0600)")
	pf.StringVar(&g.CAFile, "ca-file", "", "PEM CA certificate(s) to trust for the tenant's host (a private CA)")
	totpCmd := newTOTPCmd(g, env)
	root.AddCommand(
		newEnrollCmd(g, env),
		newWaitCmd(g, env),
		newListCmd(g, env),
		newDeviceCmd(g, env),
		newRenameCmd(g, env),
		newRemoveCmd(g, env),
		newPushTokenCmd(g, env),
		newSelfServiceCmd(g, env, "reset", "Reset your password from this device (it counts as one verification)"),
		newSelfServiceCmd(g, env, "unlock", "Unlock your account from this device (it counts as one verification)"),
		totpCmd,
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run: func(cmd *cobra.Command, _ []string) {
				fmt.Fprintln(cmd.OutOrStdout(), "latchkey-authenticator", version)
			},
		},
	)
	return root
}

// client loads the enrolled device from the state file and returns a client
// for it.
func (g *globals) client(env *Env) (*mobileclient.Client, *state.State, error) {
	st, err := state.Load(g.State)
	if err != nil {
		return nil, nil, err
	}
	dev, err := st.RequireDevice()
	if err != nil {
		return nil, nil, err
	}
	key, err := mobileclient.ParsePrivateKeyPEM(dev.PrivateKeyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("state file %s: %w", g.State, err)
	}
	hc, err := mobileclient.NewHTTPClient(g.CAFile, requestTimeout)
	if err != nil {
		return nil, nil, err
	}
	return &mobileclient.Client{
		BaseURL: dev.BaseURL,
		HTTP:    hc,
		KeyID:   dev.KeyID,
		Signer:  mobileclient.Signer{DeviceID: dev.DeviceID, Key: key, Rand: env.Rand, Now: env.Now},
	}, st, nil
}

// stdinReader is shared by the prompts of one command.
func stdinReader(env *Env) *bufio.Reader {
	if br, ok := env.Stdin.(*bufio.Reader); ok {
		return br
	}
	return bufio.NewReader(env.Stdin)
}
