//go:build !windows

package cli

// Default locations on Linux (and other Unix systems).
const (
	defaultConfigPath   = "/etc/latchkey-connector/config.json"
	defaultIdentityPath = "/etc/latchkey-connector/identity.json"
	defaultStateDir     = "/var/lib/latchkey-connector"
)

func defaultPaths() (config, identity, state string) {
	return defaultConfigPath, defaultIdentityPath, defaultStateDir
}
