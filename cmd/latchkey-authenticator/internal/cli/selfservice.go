package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/mobileclient"
	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/state"
)

// maxSteps bounds one self-service run (a flow has a handful of steps; a
// server answering the same step forever must not loop us forever).
const maxSteps = 40

// selfServiceOptions are the flags of reset and unlock.
type selfServiceOptions struct {
	Factor          string // pick this method without asking
	CodeFile        string // read the code from this file instead of asking
	NewPasswordFile string // read the new password from this file instead of asking
}

func newSelfServiceCmd(g *globals, env *Env, action, short string) *cobra.Command {
	var o selfServiceOptions
	cmd := deviceCmd(g, env, action, short, cobra.NoArgs,
		func(cmd *cobra.Command, c *mobileclient.Client, st *state.State, _ []string) error {
			r := &selfServiceRun{c: c, o: o, in: stdinReader(env), out: cmd.OutOrStdout()}
			return r.run(cmd.Context(), action, st.Device.TenantName)
		})
	f := cmd.Flags()
	f.StringVar(&o.Factor, "factor", "", "the verification method to use (email, sms, questions, totp) instead of asking")
	f.StringVar(&o.CodeFile, "code-from-file", "", "read the code that was sent (or the TOTP code) from the first line of this file instead of asking")
	if action == "reset" {
		f.StringVar(&o.NewPasswordFile, "new-password-file", "", "read the new password from the first line of this file instead of asking")
	}
	return cmd
}

// selfServiceRun drives one flow to its end.
type selfServiceRun struct {
	c   *mobileclient.Client
	o   selfServiceOptions
	in  *bufio.Reader
	out io.Writer
	// fromFile: the last answer came from a file. An inline error (a wrong
	// code) then ends the run, since the file would give the same answer;
	// a typed answer is asked again.
	fromFile bool
}

func (r *selfServiceRun) run(ctx context.Context, action, tenant string) error {
	v, err := r.c.StartSelfService(ctx, action)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.out, "Started a %s at %s; this device counts as one verification.\n", describeAction(action), tenant)
	for range maxSteps {
		if v.Error != "" {
			msg := inlineError(v)
			if r.fromFile {
				return errors.New(msg)
			}
			fmt.Fprintln(r.out, msg)
		}
		s := mobileclient.Step{Flow: v.Flow, StepToken: v.StepToken}
		switch v.Step {
		case "done":
			fmt.Fprintln(r.out, describeResult(v.Result))
			return nil
		case "failed", "locked":
			return fmt.Errorf("the %s did not succeed (%s); start again later or contact the help desk", describeAction(action), orStep(v.Result, v.Step))
		case "choose":
			s.Op, r.fromFile = mobileclient.OpChoose, r.o.Factor != ""
			if s.Factor, err = r.pick(v); err != nil {
				return err
			}
		case "code", "totp":
			s.Op = mobileclient.OpCode
			prompt := fmt.Sprintf("Type the code sent by %s (or r to send a new one): ", v.Factor)
			if v.Step == "totp" {
				s.Op, prompt = mobileclient.OpTOTP, "Type the code of your authenticator app: "
			}
			if s.Code, err = r.answer(r.o.CodeFile, prompt); err != nil {
				return err
			}
			if v.Step == "code" && !r.fromFile && strings.EqualFold(s.Code, "r") {
				s.Op, s.Code = mobileclient.OpResend, ""
			}
		case "questions":
			s.Op, r.fromFile = mobileclient.OpAnswers, false
			for _, q := range v.Questions {
				a, err := r.line(q + " ")
				if err != nil {
					return err
				}
				s.Answers = append(s.Answers, a)
			}
		case "new_password":
			s.Op = mobileclient.OpNewPassword
			if s.NewPassword, s.ConfirmPassword, err = r.newPassword(v); err != nil {
				return err
			}
		case "unlock":
			if v.LockoutEnds != "" {
				fmt.Fprintf(r.out, "Your account is locked until %s; unlocking it.\n", v.LockoutEnds)
			}
			s.Op = mobileclient.OpUnlock
		case "acting":
			if err := sleep(ctx, time.Second); err != nil {
				return err
			}
			s = mobileclient.Step{Flow: v.Flow, Op: mobileclient.OpView}
		default:
			return fmt.Errorf("this client cannot answer the step %q; finish in the browser", v.Step)
		}
		if v, err = r.c.SelfServiceStep(ctx, s); err != nil {
			if mobileclient.HasCode(err, mobileclient.CodeExpired) {
				return errors.New("the self-service request ended or expired; run the command again")
			}
			return err
		}
	}
	return fmt.Errorf("the server asked more than %d steps; giving up", maxSteps)
}

// pick returns the method to verify with: --factor, the only option, or
// the user's choice.
func (r *selfServiceRun) pick(v mobileclient.FlowView) (string, error) {
	opts := slices.DeleteFunc(slices.Clone(v.Options), func(f string) bool { return f == "passkey" || f == "push" })
	if r.o.Factor != "" {
		if !slices.Contains(opts, r.o.Factor) {
			return "", fmt.Errorf("--factor %s is not one of the methods offered: %s", r.o.Factor, strings.Join(opts, ", "))
		}
		return r.o.Factor, nil
	}
	switch len(opts) {
	case 0:
		return "", errors.New("no verification method this client can use is set up for your account; finish in the browser")
	case 1:
		fmt.Fprintf(r.out, "Verifying by %s.\n", opts[0])
		return opts[0], nil
	}
	fmt.Fprintf(r.out, "%d more verification(s) needed. Methods:\n", v.Remaining)
	for i, o := range opts {
		fmt.Fprintf(r.out, "  %d. %s\n", i+1, o)
	}
	for {
		a, err := r.line("Pick a method (number or name): ")
		if err != nil {
			return "", err
		}
		if n, err := strconv.Atoi(a); err == nil && n >= 1 && n <= len(opts) {
			return opts[n-1], nil
		}
		if slices.Contains(opts, a) {
			return a, nil
		}
		fmt.Fprintln(r.out, "That is not one of the methods.")
	}
}

// newPassword returns the new password and its confirmation, from
// --new-password-file or typed twice.
func (r *selfServiceRun) newPassword(v mobileclient.FlowView) (string, string, error) {
	if r.fromFile = r.o.NewPasswordFile != ""; r.fromFile {
		pw, err := firstLine(r.o.NewPasswordFile)
		return pw, pw, err
	}
	if len(v.PasswordRules) > 0 {
		fmt.Fprintln(r.out, "The new password must follow these rules:")
		for _, rule := range v.PasswordRules {
			fmt.Fprintln(r.out, "  -", describeRule(rule))
		}
	}
	fmt.Fprintln(r.out, "Note: what you type is shown on the screen.")
	pw, err := r.line("New password: ")
	if err != nil {
		return "", "", err
	}
	confirm, err := r.line("New password again: ")
	return pw, confirm, err
}

// answer reads file's first line, or asks.
func (r *selfServiceRun) answer(file, prompt string) (string, error) {
	if r.fromFile = file != ""; r.fromFile {
		return firstLine(file)
	}
	return r.line(prompt)
}

// line prints prompt and reads one line (without its end).
func (r *selfServiceRun) line(prompt string) (string, error) {
	fmt.Fprint(r.out, prompt)
	s, err := r.in.ReadString('\n')
	if err != nil && (s == "" || !errors.Is(err, io.EOF)) {
		if errors.Is(err, io.EOF) {
			return "", errors.New("no answer: the input ended")
		}
		return "", fmt.Errorf("read the answer: %w", err)
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// firstLine returns the first line of file, without its end.
func firstLine(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", file, err)
	}
	s, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimRight(s, "\r"), nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func describeAction(action string) string {
	if action == "unlock" {
		return "account unlock"
	}
	return "password reset"
}

func orStep(result, step string) string {
	if result != "" {
		return result
	}
	return step
}

// describeResult is what a finished flow's result means.
func describeResult(result string) string {
	switch result {
	case "reset":
		return "Done: your password was changed (and your account unlocked)."
	case "unlocked":
		return "Done: your account was unlocked."
	case "not_locked":
		return "Done: your account was not locked."
	case "helpdesk":
		return "Your account cannot be changed here; contact the help desk."
	}
	return "Done: " + result + "."
}

// inlineError is what the server's inline error means.
func inlineError(v mobileclient.FlowView) string {
	switch v.Error {
	case "code.wrong":
		return "That code was wrong."
	case "code.expired":
		return "That code expired; ask for a new one."
	case "code.dead":
		return "That code no longer works."
	case "totp.wrong", "totp.reused":
		return "That authenticator code was not accepted."
	case "questions.wrong":
		return "The answers were not accepted."
	case "password.mismatch":
		return "The two passwords differ."
	case "password.rules":
		return "The new password breaks these rules: " + strings.Join(v.BrokenRules, ", ") + "."
	}
	return "The server did not accept that (" + v.Error + ")."
}

// describeRule is one password rule in words.
func describeRule(r mobileclient.PasswordRule) string {
	n := strconv.Itoa(r.Value)
	switch r.Code {
	case "min_length", "dir_min_length":
		return "at least " + n + " characters"
	case "max_length":
		return "at most " + n + " characters"
	case "classes":
		return n + " of upper case, lower case, digits and symbols"
	case "banned_word":
		return "no common words such as \"password\""
	case "context_word":
		return "not your name, user name or the organisation's name"
	case "history", "dir_history":
		return "not one of your last " + n + " passwords"
	case "dir_complexity":
		return "the directory's complexity rules"
	case "dir_min_age":
		return "not changed again within " + n + " hours"
	}
	return r.Code
}
