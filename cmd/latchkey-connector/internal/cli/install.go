package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

type installOptions struct {
	Config, Identity, StateDir, UnitDir string
	// HubCAFile is passed on to run --ca-file.
	HubCAFile string
	NoStart   bool
	// Exe is the binary the service runs (default: this one).
	Exe string
}

func newInstallCmd() *cobra.Command {
	config, identity, state := defaultPaths()
	o := installOptions{}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install the connector as a service (systemd unit on Linux, Windows service)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.resolve(); err != nil {
				return err
			}
			// Catch a wrong configuration or identity now, not in the service's log.
			l, err := loadConfig(o.Config, "")
			if err != nil {
				return err
			}
			if _, err := loadIdentity(o.Identity); err != nil {
				return err
			}
			if _, err := hubTLS(o.HubCAFile); err != nil {
				return err
			}
			return installService(cmd.Context(), o, l, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Config, "config", config, "the local configuration the service uses")
	f.StringVar(&o.Identity, "identity", identity, "the identity the service uses")
	f.StringVar(&o.StateDir, "state-dir", state, "state directory (Windows; the systemd unit uses StateDirectory=)")
	f.StringVar(&o.UnitDir, "unit-dir", "/etc/systemd/system", "where to write the systemd unit (Linux)")
	f.StringVar(&o.HubCAFile, "ca-file", "", "PEM CA certificate(s) the service trusts for the hub (a private CA; as for enroll)")
	f.BoolVar(&o.NoStart, "no-start", false, "only install; do not enable and start the service")
	return cmd
}

func newUninstallCmd() *cobra.Command {
	o := installOptions{}
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Stop the service and remove it (the identity and configuration are kept)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return uninstallService(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.UnitDir, "unit-dir", "/etc/systemd/system", "where the systemd unit is (Linux)")
	cmd.Flags().BoolVar(&o.NoStart, "no-start", false, "do not call systemctl (only remove the unit file)")
	return cmd
}

// resolve makes every path absolute (a service has no working directory).
func (o *installOptions) resolve() error {
	if o.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("cannot find this program's path: %w", err)
		}
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		o.Exe = exe
	}
	for _, p := range []*string{&o.Exe, &o.Config, &o.Identity, &o.StateDir, &o.HubCAFile} {
		if *p == "" {
			continue
		}
		a, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = a
	}
	return nil
}
