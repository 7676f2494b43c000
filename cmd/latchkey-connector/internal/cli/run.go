package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/connector/agent"
	"github.com/latchkey/latchkey/connector/directory"
)

type runOptions struct {
	Config, Identity, StateDir string
	// BindPasswordFile overrides directory.bind_password_file (the systemd
	// unit passes the credential systemd hands over).
	BindPasswordFile string
	// CAFile is a private CA for the control plane's hub.
	CAFile  string
	Version string
}

func newRunCmd(version string) *cobra.Command {
	o := runOptions{Version: version}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Connect to the control plane and serve directory commands until stopped",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runConnector(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	addRunFlags(cmd, &o)
	return cmd
}

func addRunFlags(cmd *cobra.Command, o *runOptions) {
	config, identity, state := defaultPaths()
	f := cmd.Flags()
	f.StringVar(&o.Config, "config", config, "the local configuration (JSON)")
	f.StringVar(&o.Identity, "identity", identity, "the identity written by enroll")
	f.StringVar(&o.StateDir, "state-dir", state, "directory for the replay journal")
	f.StringVar(&o.BindPasswordFile, "bind-password-file", "", "read the service account's password from this file instead of directory.bind_password_file")
	f.StringVar(&o.CAFile, "ca-file", "", "PEM CA certificate(s) to trust for the hub (a private CA)")
}

// loaded is what run, status and test-directory read before doing anything.
type loaded struct {
	cfg  agent.LocalConfig
	dcfg directory.Config
}

// loadConfig reads the local configuration and the directory settings it
// points to, with errors that name the file.
func loadConfig(path, bindPasswordFile string) (loaded, error) {
	cfg, err := agent.LoadLocalConfig(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return loaded{}, fmt.Errorf("%w (write the local configuration there, or give --config)", err)
		}
		return loaded{}, err
	}
	if bindPasswordFile != "" {
		cfg.Directory.BindPWFile, cfg.Directory.BindPWEnv = bindPasswordFile, ""
	}
	dcfg, err := cfg.DirectoryConfig()
	if err != nil {
		return loaded{cfg: cfg}, fmt.Errorf("connector config %s: %w", path, err)
	}
	return loaded{cfg: cfg, dcfg: dcfg}, nil
}

func hubTLS(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	pool, err := caPool(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// runConnector runs the agent until ctx ends. Logs go to logOut as JSON.
func runConnector(ctx context.Context, o runOptions, logOut io.Writer) error {
	l, err := loadConfig(o.Config, o.BindPasswordFile)
	if err != nil {
		return err
	}
	id, err := loadIdentity(o.Identity)
	if err != nil {
		return err
	}
	if o.StateDir == "" {
		return errors.New("--state-dir is empty")
	}
	tlsConf, err := hubTLS(o.CAFile)
	if err != nil {
		return err
	}
	base := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	log := base.With(slog.String("connector_id", id.ConnectorID))
	l.dcfg.Logger = log.With(slog.String("component", "directory"))
	dir, err := directory.New(l.dcfg)
	if err != nil {
		return fmt.Errorf("connector config %s: %w", o.Config, err)
	}
	defer dir.Close()
	a, err := agent.New(agent.Options{
		Identity:   id,
		Directory:  agent.FromDirectory(dir),
		Guardrails: l.cfg.Guardrails(),
		StateDir:   o.StateDir,
		Domains:    l.cfg.Domains,
		Version:    o.Version,
		Logger:     base, // the agent adds connector_id itself
		TLS:        tlsConf,
	})
	if err != nil {
		return err
	}
	defer a.Close()
	log.Info("connector starting", slog.String("version", o.Version), slog.String("tenant_id", id.TenantID),
		slog.String("hub_url", id.HubURL), slog.Any("directory_urls", l.cfg.Directory.URLs), slog.Any("ous", l.cfg.Scope.OUs))
	err = a.Run(ctx) // returns nil once ctx ends and the commands in flight are drained
	log.Info("connector stopped")
	if errors.Is(err, agent.ErrPermanent) {
		return fmt.Errorf("%w. The control plane no longer accepts connector %s (revoked or deleted): enroll again with a new join token", err, id.ConnectorID)
	}
	return err
}
