//go:build !windows

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

func unitPath(dir string) string { return filepath.Join(dir, ServiceName+".service") }

// installService writes the systemd unit, then reloads, enables and starts it.
func installService(ctx context.Context, o installOptions, l loaded, out io.Writer) error {
	p := unitParams{Exe: o.Exe, Config: o.Config, Identity: o.Identity, EnvFile: filepath.Join(filepath.Dir(o.Config), "environment"),
		HubCAFile: o.HubCAFile}
	if f := l.cfg.Directory.BindPWFile; f != "" {
		abs, err := filepath.Abs(f)
		if err != nil {
			return err
		}
		p.BindPasswordFile = abs
	}
	unit, err := renderUnit(p)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.UnitDir, 0o755); err != nil {
		return fmt.Errorf("unit dir: %w", err)
	}
	path := unitPath(o.UnitDir)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, unit, 0o644); err != nil {
		return fmt.Errorf("write unit: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write unit: %w", err)
	}
	fmt.Fprintf(out, "Wrote %s\n", path)
	if o.NoStart {
		fmt.Fprintf(out, "Start it with: systemctl daemon-reload && systemctl enable --now %s\n", ServiceName)
		return nil
	}
	if err := systemctl(ctx, out, "daemon-reload"); err != nil {
		return err
	}
	if err := systemctl(ctx, out, "enable", "--now", ServiceName); err != nil {
		return err
	}
	fmt.Fprintf(out, "Started %s. Logs: journalctl -u %s\n", ServiceName, ServiceName)
	return nil
}

// uninstallService stops and disables the unit and removes its file.
func uninstallService(ctx context.Context, o installOptions, out io.Writer) error {
	path := unitPath(o.UnitDir)
	if !o.NoStart {
		if err := systemctl(ctx, out, "disable", "--now", ServiceName); err != nil {
			fmt.Fprintf(out, "warning: %v\n", err)
		}
	}
	err := os.Remove(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(out, "%s was not installed (no %s)\n", ServiceName, path)
		return nil
	case err != nil:
		return fmt.Errorf("remove unit: %w", err)
	}
	fmt.Fprintf(out, "Removed %s\n", path)
	if !o.NoStart {
		return systemctl(ctx, out, "daemon-reload")
	}
	return nil
}

func systemctl(ctx context.Context, out io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, "systemctl", args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("systemctl %v: %w", args, err)
	}
	return nil
}
