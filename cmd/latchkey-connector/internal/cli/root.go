// Package cli implements latchkey-connector's commands (see the command's
// package documentation).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/connector/agent"
)

// ServiceName is the systemd unit's and the Windows service's name.
const ServiceName = "latchkey-connector"

// Main runs the command line (or, when the Windows service manager started
// the process, the service) and returns the exit status.
func Main(version string, args []string, stdout, stderr io.Writer) int {
	if code, ok := runAsService(version, args); ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return execute(ctx, version, args, stdout, stderr)
}

func execute(ctx context.Context, version string, args []string, stdout, stderr io.Writer) int {
	return executeWithStdin(ctx, version, args, nil, stdout, stderr)
}

// executeWithStdin is execute with standard input from stdin (nil: the
// process's own).
func executeWithStdin(ctx context.Context, version string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := NewRoot(version, stdout, stderr)
	root.SetArgs(args)
	if stdin != nil {
		root.SetIn(stdin)
	}
	if err := root.ExecuteContext(ctx); err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(stderr, "latchkey-connector:", err)
		}
		if errors.Is(err, agent.ErrPermanent) {
			return ExitRefused
		}
		return 1
	}
	return 0
}

// ExitRefused is the exit status when the hub refused this connector for
// good (revoked, unknown): restarting cannot help, and the systemd unit does
// not (RestartPreventExitStatus).
const ExitRefused = 3

// errReported: the command already printed why it failed.
var errReported = errors.New("failed")

// NewRoot builds the command tree.
func NewRoot(version string, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "latchkey-connector",
		Short:         "Latchkey's on-premises connector to Active Directory / OpenLDAP",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newEnrollCmd(version),
		newRunCmd(version),
		newInstallCmd(),
		newUninstallCmd(),
		newStatusCmd(),
		newTestDirectoryCmd(),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run: func(cmd *cobra.Command, _ []string) {
				fmt.Fprintln(cmd.OutOrStdout(), "latchkey-connector", version)
			},
		},
	)
	return root
}
