//go:build windows

package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"

	"github.com/latchkey/latchkey/connector/agent"
)

// loadIdentity reads the identity. Windows file modes say nothing about who
// can read a file (agent.LoadIdentity's mode check would refuse every file),
// so access is restricted by the DACL protectPrivate sets at enrollment.
func loadIdentity(path string) (agent.Identity, error) {
	var id agent.Identity
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return id, fmt.Errorf("identity: %w (run `latchkey-connector enroll` first)", err)
		}
		return id, fmt.Errorf("identity: %w", err)
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return id, fmt.Errorf("identity %s: %w", path, err)
	}
	return id, id.Validate()
}

// protectPrivate gives path a protected DACL (no inherited entries, so not
// the Users read access of %ProgramData%) granting only SYSTEM and the
// Administrators full control; dir makes the entries inherit to children.
func protectPrivate(path string, dir bool) error {
	sddl := "D:P(A;;FA;;;SY)(A;;FA;;;BA)"
	if dir {
		sddl = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
	}
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("restrict access to %s: %w", path, err)
	}
	return nil
}
