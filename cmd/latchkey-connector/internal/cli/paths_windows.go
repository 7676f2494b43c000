//go:build windows

package cli

import (
	"os"
	"path/filepath"
)

// dataDir is %ProgramData%\Latchkey\Connector.
func dataDir() string {
	pd := os.Getenv("ProgramData")
	if pd == "" {
		pd = `C:\ProgramData`
	}
	return filepath.Join(pd, "Latchkey", "Connector")
}

func defaultPaths() (config, identity, state string) {
	d := dataDir()
	return filepath.Join(d, "config.json"), filepath.Join(d, "identity.json"), filepath.Join(d, "state")
}
