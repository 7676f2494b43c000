package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/mobileclient"
	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/state"
)

type enrollOptions struct {
	Name, PushToken string
	Force           bool
}

func newEnrollCmd(g *globals, env *Env) *cobra.Command {
	var o enrollOptions
	cmd := &cobra.Command{
		Use:   "enroll LINK",
		Short: "Enroll this computer as an authenticator with the link from Settings → Add the authenticator app",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return enroll(cmd, g, env, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Name, "name", "", "the device's name in the portal (default: latchkey-authenticator on <host name>)")
	f.StringVar(&o.PushToken, "push-token", "", "an FCM registration token to receive pushes on (default: none, poll only)")
	f.BoolVar(&o.Force, "force", false, "replace a device already enrolled in the state file (remove it in the portal)")
	return cmd
}

func enroll(cmd *cobra.Command, g *globals, env *Env, rawLink string, o enrollOptions) error {
	link, err := mobileclient.ParseLink(rawLink)
	if err != nil {
		return err
	}
	if o.Name == "" {
		o.Name = defaultName()
	}
	if err := mobileclient.CheckName(o.Name); err != nil {
		return fmt.Errorf("--name: %w", err)
	}
	st, err := state.Load(g.State)
	if err != nil {
		return err
	}
	if st.Device != nil && !o.Force {
		return fmt.Errorf("%s already holds a device enrolled as %s at %s: run `remove` first, or give --force", g.State, st.Device.Username, st.Device.TenantName)
	}
	// The link works once: make sure the key can be kept before using it.
	if err := state.Save(g.State, st); err != nil {
		return err
	}
	key, err := mobileclient.GenerateKey()
	if err != nil {
		return err
	}
	keyID, err := mobileclient.NewKeyID(env.Rand)
	if err != nil {
		return err
	}
	pub, err := mobileclient.EncodePublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	pemKey, err := mobileclient.MarshalPrivateKeyPEM(key)
	if err != nil {
		return err
	}
	hc, err := mobileclient.NewHTTPClient(g.CAFile, requestTimeout)
	if err != nil {
		return err
	}
	res, err := mobileclient.Enroll(cmd.Context(), hc, link.BaseURL, mobileclient.EnrollRequest{
		EnrollmentID: link.ID, Secret: link.Secret, PublicKey: pub, KeyID: keyID,
		Platform: mobileclient.PlatformCLI, Name: o.Name, PushToken: o.PushToken,
	})
	if err != nil {
		return err
	}
	st.Device = &state.Device{
		BaseURL: link.BaseURL, DeviceID: res.DeviceID, KeyID: res.KeyID, PrivateKeyPEM: pemKey,
		Username: res.User.Username, DisplayName: res.User.DisplayName, TenantName: res.Tenant.Name,
		PollIntervalSeconds: res.PollIntervalSeconds, EnrolledAt: env.Now().UTC().Truncate(1e9),
	}
	if err := state.Save(g.State, st); err != nil {
		return fmt.Errorf("enrolled as device %s, but the key could not be saved (remove the device in the portal): %w", res.DeviceID, err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Enrolled as %s at %s\n", res.User.Username, res.Tenant.Name)
	return nil
}

// defaultName is "latchkey-authenticator on <host name>", cut to the
// longest name the server accepts.
func defaultName() string {
	host, _ := os.Hostname()
	r := []rune("latchkey-authenticator on " + host)
	if len(r) > mobileclient.MaxNameLen {
		r = r[:mobileclient.MaxNameLen]
	}
	return string(r)
}
