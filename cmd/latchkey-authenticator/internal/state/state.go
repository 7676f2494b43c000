// Package state keeps the reference authenticator's state file: the enrolled
// device (tenant URL, device id, key id, PKCS#8 private key, user and
// tenant) and the TOTP seeds. The file holds private keys and seeds, so it is
// written with mode 0600 (its directory 0700), replaced atomically, and
// refused when other users can read it.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/totpcodes"
)

// Version is the state file's format version.
const Version = 1

// State is the whole state file.
type State struct {
	Version int `json:"version"`
	// Device is the enrolled device, nil before enrollment or after remove.
	Device *Device `json:"device,omitempty"`
	// TOTP are the authenticator-app (RFC 6238) accounts.
	TOTP []totpcodes.Entry `json:"totp,omitempty"`
}

// Device is what enrollment leaves on this computer.
type Device struct {
	BaseURL  string `json:"base_url"`
	DeviceID string `json:"device_id"`
	KeyID    string `json:"key_id"`
	// PrivateKeyPEM is the device's P-256 key, PKCS#8 PEM.
	PrivateKeyPEM       string    `json:"private_key"`
	Username            string    `json:"username"`
	DisplayName         string    `json:"display_name,omitempty"`
	TenantName          string    `json:"tenant_name"`
	PollIntervalSeconds int       `json:"poll_interval_seconds,omitempty"`
	EnrolledAt          time.Time `json:"enrolled_at"`
}

// ErrNotEnrolled is returned by RequireDevice when there is no device.
var ErrNotEnrolled = errors.New("this computer is not enrolled: run `latchkey-authenticator enroll <link>` first")

// DefaultPath is <user config dir>/latchkey-authenticator/state.json.
func DefaultPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = "."
	}
	return filepath.Join(dir, "latchkey-authenticator", "state.json")
}

// Load reads the state file. A missing file is an empty state (and no
// error); a file that group or others can read is refused.
func Load(path string) (*State, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Version: Version}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("state file %s can be read by other users (mode %04o): it holds private keys; run chmod 600 on it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	if st.Version != Version {
		return nil, fmt.Errorf("state file %s: version %d, this program reads version %d", path, st.Version, Version)
	}
	return &st, nil
}

// RequireDevice returns the enrolled device or ErrNotEnrolled.
func (s *State) RequireDevice() (*Device, error) {
	if s.Device == nil {
		return nil, ErrNotEnrolled
	}
	return s.Device, nil
}

// Save writes s to path atomically with mode 0600, creating the directory
// with mode 0700 when it does not exist.
func Save(path string, s *State) error {
	s.Version = Version
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".state-*.json")
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing left to remove
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return fmt.Errorf("state file: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("state file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("state file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	return nil
}
