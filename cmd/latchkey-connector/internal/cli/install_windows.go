//go:build windows

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// installService registers the Windows service (automatic start, restart on
// failure) and starts it unless --no-start.
func installService(_ context.Context, o installOptions, _ loaded, out io.Writer) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connect to the service manager (run from an elevated prompt): %w", err)
	}
	defer m.Disconnect()
	if s, err := m.OpenService(ServiceName); err == nil {
		s.Close()
		return fmt.Errorf("the %s service is already installed: run uninstall first", ServiceName)
	}
	s, err := m.CreateService(ServiceName, o.Exe, mgr.Config{
		DisplayName:      "Latchkey connector",
		Description:      "Runs Latchkey's self-service password reset commands against the local Active Directory.",
		StartType:        mgr.StartAutomatic,
		ErrorControl:     mgr.ErrorNormal,
		DelayedAutoStart: true,
	}, serviceArgs(o)...)
	if err != nil {
		return fmt.Errorf("create service: %w", err)
	}
	defer s.Close()
	if err := s.SetRecoveryActions([]mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 2 * time.Minute},
	}, uint32((24 * time.Hour).Seconds())); err != nil {
		return fmt.Errorf("set recovery actions: %w", err)
	}
	// A non-zero exit (e.g. a directory outage at start) counts as a failure too.
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("set recovery actions: %w", err)
	}
	fmt.Fprintf(out, "Installed the %s service (%s)\n", ServiceName, o.Exe)
	if o.NoStart {
		fmt.Fprintf(out, "Start it with: sc.exe start %s\n", ServiceName)
		return nil
	}
	if err := s.Start(); err != nil {
		return fmt.Errorf("start service: %w", err)
	}
	fmt.Fprintf(out, "Started %s. Logs: %s\n", ServiceName, serviceLogPath())
	return nil
}

func serviceArgs(o installOptions) []string {
	args := []string{"run", "--config", o.Config, "--identity", o.Identity, "--state-dir", o.StateDir}
	if o.HubCAFile != "" {
		args = append(args, "--ca-file", o.HubCAFile)
	}
	return args
}

// uninstallService stops and deletes the Windows service.
func uninstallService(_ context.Context, o installOptions, out io.Writer) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connect to the service manager (run from an elevated prompt): %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(ServiceName)
	if err != nil {
		if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
			fmt.Fprintf(out, "%s was not installed\n", ServiceName)
			return nil
		}
		return fmt.Errorf("open service: %w", err)
	}
	defer s.Close()
	if !o.NoStart {
		if st, err := s.Control(svc.Stop); err == nil {
			for deadline := time.Now().Add(2 * time.Minute); st.State != svc.Stopped && time.Now().Before(deadline); {
				time.Sleep(500 * time.Millisecond)
				if st, err = s.Query(); err != nil {
					break
				}
			}
		}
	}
	if err := s.Delete(); err != nil {
		return fmt.Errorf("delete service: %w", err)
	}
	fmt.Fprintf(out, "Removed the %s service\n", ServiceName)
	return nil
}
