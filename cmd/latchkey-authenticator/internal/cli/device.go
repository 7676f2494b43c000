package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/approve"
	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/mobileclient"
	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/state"
)

// deviceCmd is a command that calls the API as the enrolled device.
func deviceCmd(g *globals, env *Env, use, short string, args cobra.PositionalArgs,
	run func(cmd *cobra.Command, c *mobileclient.Client, st *state.State, args []string) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: args,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, st, err := g.client(env)
			if err != nil {
				return err
			}
			return run(cmd, c, st, args)
		},
	}
}

func newListCmd(g *globals, env *Env) *cobra.Command {
	return deviceCmd(g, env, "list", "List the requests waiting for an answer", cobra.NoArgs,
		func(cmd *cobra.Command, c *mobileclient.Client, _ *state.State, _ []string) error {
			list, err := c.Challenges(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(list) == 0 {
				fmt.Fprintln(out, "No pending requests.")
			}
			for _, ch := range list {
				approve.Describe(out, ch, env.Now())
				fmt.Fprintf(out, "  Request:   %s\n", ch.CID)
			}
			return nil
		})
}

func newDeviceCmd(g *globals, env *Env) *cobra.Command {
	return deviceCmd(g, env, "device", "Show this device as the server knows it", cobra.NoArgs,
		func(cmd *cobra.Command, c *mobileclient.Client, st *state.State, _ []string) error {
			d, err := c.Device(cmd.Context())
			if err != nil {
				return err
			}
			push := "no (polling only)"
			if d.Push {
				push = "yes"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "User:     %s at %s (%s)\nDevice:   %s\nName:     %s\nPlatform: %s\nEnrolled: %s\nPush:     %s\n",
				st.Device.Username, st.Device.TenantName, st.Device.BaseURL,
				d.DeviceID, d.Name, d.Platform, d.CreatedAt.UTC().Format(time.RFC3339), push)
			return nil
		})
}

func newRenameCmd(g *globals, env *Env) *cobra.Command {
	return deviceCmd(g, env, "rename NAME", "Rename this device", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *mobileclient.Client, _ *state.State, args []string) error {
			if err := mobileclient.CheckName(args[0]); err != nil {
				return err
			}
			d, err := c.Rename(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Renamed this device to %q.\n", d.Name)
			return nil
		})
}

func newPushTokenCmd(g *globals, env *Env) *cobra.Command {
	return deviceCmd(g, env, "push-token TOKEN", `Set the FCM registration token the server pushes to ("" to poll only)`, cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *mobileclient.Client, _ *state.State, args []string) error {
			if err := c.SetPushToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			if args[0] == "" {
				fmt.Fprintln(cmd.OutOrStdout(), "Push token cleared: the server will not push; poll with `wait`.")
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), "Push token set.")
			}
			return nil
		})
}

func newRemoveCmd(g *globals, env *Env) *cobra.Command {
	var forget bool
	cmd := deviceCmd(g, env, "remove", "Remove this device from the tenant and delete its key here (TOTP accounts stay)", cobra.NoArgs,
		func(cmd *cobra.Command, c *mobileclient.Client, st *state.State, _ []string) error {
			if err := c.Remove(cmd.Context()); err != nil {
				if !forget {
					return hinted{err, "To delete the device here anyway, give --forget."}
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "The server did not remove the device (%s); deleting it here anyway.\n", mobileclient.Explain(err))
			}
			tenant := st.Device.TenantName
			st.Device = nil
			if err := state.Save(g.State, st); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed this device from %s and deleted its key.\n", tenant)
			return nil
		})
	cmd.Flags().BoolVar(&forget, "forget", false, "delete the device here even if the server does not answer or no longer knows it")
	return cmd
}
