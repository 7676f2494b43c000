//go:build !windows

package cli

import "github.com/latchkey/latchkey/connector/agent"

// loadIdentity reads the identity, refusing a file others can read.
func loadIdentity(path string) (agent.Identity, error) { return agent.LoadIdentity(path) }

// protectPrivate is a no-op here: file modes (0600, 0700) already restrict
// the identity and its new directory.
func protectPrivate(string, bool) error { return nil }
