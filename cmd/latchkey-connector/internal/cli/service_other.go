//go:build !windows

package cli

// runAsService is for Windows; elsewhere the service manager (systemd) runs
// `latchkey-connector run` as an ordinary process.
func runAsService(string, []string) (int, bool) { return 0, false }
