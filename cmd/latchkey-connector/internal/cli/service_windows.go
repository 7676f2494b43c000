//go:build windows

package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows/svc"
)

func serviceLogPath() string { return filepath.Join(dataDir(), "connector.log") }

// runAsService runs the command line under the Windows service manager when
// it started this process: Stop and Shutdown cancel the context, which drains
// the agent. Logs go to %ProgramData%\Latchkey\Connector\connector.log.
func runAsService(version string, args []string) (int, bool) {
	inService, err := svc.IsWindowsService()
	if err != nil || !inService {
		return 0, false
	}
	logOut := io.Discard
	if err := os.MkdirAll(dataDir(), 0o700); err == nil {
		if f, err := os.OpenFile(serviceLogPath(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
			defer f.Close()
			logOut = f
		}
	}
	h := &handler{version: version, args: args, out: logOut}
	if err := svc.Run(ServiceName, h); err != nil {
		fmt.Fprintln(logOut, "latchkey-connector: service:", err)
		return 1, true
	}
	return h.code, true
}

type handler struct {
	version string
	args    []string
	out     io.Writer
	code    int
}

func (h *handler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- execute(ctx, h.version, h.args, h.out, h.out) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case code := <-done:
			h.code = code
			status <- svc.Status{State: svc.StopPending}
			// A non-zero exit code makes the service manager apply the
			// recovery actions (restart).
			return false, uint32(code)
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
				h.code = <-done
				return false, 0
			}
		}
	}
}
