package cli

import (
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/state"
	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/totpcodes"
)

func newTOTPCmd(g *globals, env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "totp",
		Aliases: []string{"codes"},
		Short:   "Show the current TOTP codes and how long each stays valid",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := state.Load(g.State)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(st.TOTP) == 0 {
				fmt.Fprintln(out, "No TOTP accounts: add one with `latchkey-authenticator totp add <otpauth URI>`.")
				return nil
			}
			now := env.Now()
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			for _, e := range st.TOTP {
				code, left, err := e.Code(now)
				if err != nil {
					return err
				}
				fmt.Fprintf(tw, "%s\t%s\t%d s left\n", e.Label, code, int(left.Seconds()))
			}
			return tw.Flush()
		},
	}
	var label string
	add := &cobra.Command{
		Use:   "add URI",
		Short: "Add a TOTP account from the otpauth://totp/… URI the enrollment page shows",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := totpcodes.ParseURI(args[0], label)
			if err != nil {
				return err
			}
			st, err := state.Load(g.State)
			if err != nil {
				return err
			}
			if slices.ContainsFunc(st.TOTP, func(x totpcodes.Entry) bool { return x.Label == e.Label }) {
				return fmt.Errorf("there is already a TOTP account labelled %q: choose another --label", e.Label)
			}
			st.TOTP = append(st.TOTP, e)
			if err := state.Save(g.State, st); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Added TOTP account %q.\n", e.Label)
			return nil
		},
	}
	add.Flags().StringVar(&label, "label", "", "the account's name here (default: issuer (account) from the URI)")
	remove := &cobra.Command{
		Use:   "remove LABEL",
		Short: "Delete a TOTP account",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := state.Load(g.State)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(st.TOTP, func(x totpcodes.Entry) bool { return x.Label == args[0] })
			if i < 0 {
				return fmt.Errorf("no TOTP account labelled %q", args[0])
			}
			st.TOTP = slices.Delete(st.TOTP, i, i+1)
			if err := state.Save(g.State, st); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted TOTP account %q.\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(add, remove)
	return cmd
}
