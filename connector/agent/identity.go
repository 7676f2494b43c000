package agent

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/latchkey/latchkey/connector/protocol"
)

// Identity is what enrollment produces: who this connector is, its keys, and the
// control plane key it trusts. It is stored in a file only its user can read.
type Identity struct {
	HubURL      string             `json:"hub_url"`
	TenantID    string             `json:"tenant_id"`
	ConnectorID string             `json:"connector_id"`
	SignKey     ed25519.PrivateKey `json:"sign_key"`    // the connector's own key (results, connection auth)
	SealKey     []byte             `json:"seal_key"`    // HPKE private key (passwords are sealed to it)
	CommandKey  ed25519.PublicKey  `json:"command_key"` // the control plane's command key, pinned at enrollment
	// HubCAPin is the hex SHA-256 of the SubjectPublicKeyInfo of the root CA
	// the hub's certificate chained to at enrollment (wss:// hubs); the hub
	// must keep chaining to it (see CAPin). Empty: not pinned (ws:// demo).
	HubCAPin string `json:"hub_ca_pin,omitempty"`
}

// Validate checks the identity is complete.
func (id Identity) Validate() error {
	var errs []error
	if id.HubURL == "" {
		errs = append(errs, errors.New("identity: hub_url missing"))
	}
	if id.TenantID == "" || id.ConnectorID == "" {
		errs = append(errs, errors.New("identity: tenant_id or connector_id missing"))
	}
	if len(id.SignKey) != ed25519.PrivateKeySize {
		errs = append(errs, errors.New("identity: sign_key missing or malformed"))
	}
	if len(id.CommandKey) != ed25519.PublicKeySize {
		errs = append(errs, errors.New("identity: command_key missing or malformed"))
	}
	if len(id.SealKey) == 0 {
		errs = append(errs, errors.New("identity: seal_key missing"))
	}
	return errors.Join(errs...)
}

// SavePrivate writes v as JSON to path, readable only by its owner, atomically.
func SavePrivate(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

// LoadIdentity reads an identity file, refusing one others can read.
func LoadIdentity(path string) (Identity, error) {
	var id Identity
	st, err := os.Stat(path)
	if err != nil {
		return id, fmt.Errorf("identity: %w (run `latchkey-connector enroll` first)", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return id, fmt.Errorf("identity %s is readable by others (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return id, fmt.Errorf("identity: %w", err)
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return id, fmt.Errorf("identity %s: %w", path, err)
	}
	return id, id.Validate()
}

// NewKeys makes the connector's key pairs for enrollment.
func NewKeys() (sign ed25519.PrivateKey, sealPriv, sealPub []byte, err error) {
	_, sign, err = ed25519.GenerateKey(nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("generate signing key: %w", err)
	}
	sealPriv, sealPub, err = protocol.GenerateSealKey()
	return sign, sealPriv, sealPub, err
}
