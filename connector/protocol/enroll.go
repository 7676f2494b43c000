package protocol

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Enrollment
//
// A connector enrolls once, with a join token an operator created for one
// tenant (≥128 bits, one use, short TTL, stored hashed):
//
//	POST https://<tenant host>/connector/v1/enroll
//	Content-Type: application/json
//	EnrollRequest  →  201 EnrollResponse
//
// The connector generates its Ed25519 signing key and its HPKE key pair
// locally and sends only the public halves. The control plane checks that the
// token is unused, unexpired and belongs to the tenant of the host the request
// came to, uses it up in the same transaction that registers the connector, and
// answers with the connector's id, its tenant, the hub URL to dial and the
// control plane's command-signing public key, which the connector pins. Every
// failure of the token (unknown, used, expired, another tenant's) gets the same
// 401 {"error":"invalid_token"}; a malformed body gets 400
// {"error":"bad_request","message":…}.
const EnrollPath = "/connector/v1/enroll"

// EnrollRequest is what the connector sends to enroll.
type EnrollRequest struct {
	Token        string   `json:"token"`
	Name         string   `json:"name"`          // shown in the admin console, e.g. the host name
	SignKey      []byte   `json:"sign_key"`      // Ed25519 public key (base64 in JSON)
	SealKey      []byte   `json:"seal_key"`      // HPKE public key (base64 in JSON)
	AgentVersion string   `json:"agent_version"` // the connector's build
	Domains      []string `json:"domains,omitempty"`
}

// EnrollResponse is the control plane's answer to a successful enrollment.
type EnrollResponse struct {
	TenantID    string `json:"tenant_id"`
	ConnectorID string `json:"connector_id"`
	HubURL      string `json:"hub_url"`     // wss://…/connector/v1/connect
	CommandKey  []byte `json:"command_key"` // Ed25519 public key that signs commands (base64 in JSON)
}

// Limits on enrollment fields.
const (
	MaxConnectorNameLen = 128
	MaxDomains          = 32
	MaxDomainLen        = 253
)

// Validate checks an enrollment request's shape (not the token's validity).
func (r EnrollRequest) Validate() error {
	var errs []error
	if r.Token == "" || len(r.Token) > 256 {
		errs = append(errs, errors.New("token: required, at most 256 characters"))
	}
	name := strings.TrimSpace(r.Name)
	if name == "" || len(name) > MaxConnectorNameLen || !utf8.ValidString(name) || strings.ContainsFunc(name, isControl) {
		errs = append(errs, fmt.Errorf("name: required, printable, at most %d bytes", MaxConnectorNameLen))
	}
	if len(r.SignKey) != ed25519.PublicKeySize {
		errs = append(errs, fmt.Errorf("sign_key: must be an Ed25519 public key (%d bytes)", ed25519.PublicKeySize))
	}
	if err := ValidSealPublicKey(r.SealKey); err != nil {
		errs = append(errs, fmt.Errorf("seal_key: %w", err))
	}
	if len(r.AgentVersion) > 64 || strings.ContainsFunc(r.AgentVersion, isControl) {
		errs = append(errs, errors.New("agent_version: at most 64 printable characters"))
	}
	if len(r.Domains) > MaxDomains {
		errs = append(errs, fmt.Errorf("domains: at most %d", MaxDomains))
	}
	for _, d := range r.Domains {
		if d == "" || len(d) > MaxDomainLen || strings.ContainsFunc(d, isControl) || strings.ContainsRune(d, ' ') {
			errs = append(errs, fmt.Errorf("domains: %q is not a domain name", d))
			break
		}
	}
	return errors.Join(errs...)
}

// Validate checks an enrollment response before the connector trusts it.
func (r EnrollResponse) Validate() error {
	var errs []error
	if r.TenantID == "" || r.ConnectorID == "" {
		errs = append(errs, errors.New("enroll response: tenant_id or connector_id missing"))
	}
	if !strings.HasPrefix(r.HubURL, "wss://") && !strings.HasPrefix(r.HubURL, "ws://") {
		errs = append(errs, fmt.Errorf("enroll response: hub_url %q is not a WebSocket URL", r.HubURL))
	}
	if len(r.CommandKey) != ed25519.PublicKeySize {
		errs = append(errs, errors.New("enroll response: command_key is not an Ed25519 public key"))
	}
	return errors.Join(errs...)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
