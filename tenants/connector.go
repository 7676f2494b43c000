package tenants

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Connector is an on-prem connector enrolled for a tenant: the public halves
// of the keys it generated on its host, and what it reported about itself.
// The tenant of every connection it makes comes from this record.
type Connector struct {
	TenantID ID
	ID       string // random UUID, chosen by the control plane at enrollment
	Name     string // shown in the admin console, e.g. the host name
	// SignKey is the connector's Ed25519 public key: it verifies the
	// connector's connection proofs and signed results.
	SignKey []byte
	// SealKey is the connector's HPKE public key new passwords are sealed to.
	SealKey      []byte
	AgentVersion string
	Domains      []string // directory domains it serves, as reported
	CreatedAt    time.Time
	// LastSeenAt is when a hub last heard from it (zero: never connected).
	LastSeenAt time.Time
	// RevokedAt is when an operator revoked it (zero: not revoked). A revoked
	// connector is refused by the hub for good.
	RevokedAt time.Time
}

// Revoked reports whether the connector has been revoked.
func (c Connector) Revoked() bool { return !c.RevokedAt.IsZero() }

// JoinToken is a one-time credential an operator creates so that one
// connector can enroll for the tenant. Only the SHA-256 of the token is ever
// stored; the token itself is shown once, when it is created.
type JoinToken struct {
	TenantID  ID
	ID        string // random UUID, named in audit events instead of the token
	Hash      []byte // SHA-256 of the token
	CreatedBy string // actor, e.g. "operator" or "admin:<user id>"
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt and ConnectorID are set together, when the token is redeemed.
	UsedAt      time.Time
	ConnectorID string
}

// Limits on a connector's record (the enrollment protocol has the same).
const (
	MaxConnectorName    = 128
	MaxConnectorDomains = 32
	maxDomainLength     = 253
	maxSealKey          = 4096
	maxAgentVersion     = 64
	maxCreatedBy        = 200
)

// Validate checks what a stored connector record must hold: a name, a
// 32-byte Ed25519 key, a seal key, bounded version and domains.
func (c Connector) Validate() error {
	var errs []error
	bad := func(field, problem string) { errs = append(errs, &FieldError{Field: field, Problem: problem}) }
	if n := strings.TrimSpace(c.Name); n == "" || len(c.Name) > MaxConnectorName || !utf8.ValidString(c.Name) {
		bad("name", fmt.Sprintf("required, valid UTF-8, at most %d bytes", MaxConnectorName))
	}
	if len(c.SignKey) != 32 {
		bad("sign_key", "must be an Ed25519 public key (32 bytes)")
	}
	if len(c.SealKey) == 0 || len(c.SealKey) > maxSealKey {
		bad("seal_key", fmt.Sprintf("required, at most %d bytes", maxSealKey))
	}
	if len(c.AgentVersion) > maxAgentVersion || !utf8.ValidString(c.AgentVersion) {
		bad("agent_version", fmt.Sprintf("at most %d bytes of UTF-8", maxAgentVersion))
	}
	if len(c.Domains) > MaxConnectorDomains {
		bad("domains", fmt.Sprintf("at most %d", MaxConnectorDomains))
	}
	for _, d := range c.Domains {
		if d == "" || len(d) > maxDomainLength || !utf8.ValidString(d) {
			bad("domains", fmt.Sprintf("%q is not a domain name", d))
			break
		}
	}
	return errors.Join(errs...)
}

// Validate checks a join token about to be stored: a SHA-256 hash, an
// expiry, no redemption yet.
func (j JoinToken) Validate() error {
	var errs []error
	bad := func(field, problem string) { errs = append(errs, &FieldError{Field: field, Problem: problem}) }
	if len(j.Hash) != sha256.Size {
		bad("hash", "must be a SHA-256 (32 bytes)")
	}
	if j.ExpiresAt.IsZero() {
		bad("expires_at", "required")
	}
	if len(j.CreatedBy) > maxCreatedBy || !utf8.ValidString(j.CreatedBy) {
		bad("created_by", fmt.Sprintf("at most %d bytes of UTF-8", maxCreatedBy))
	}
	if !j.UsedAt.IsZero() || j.ConnectorID != "" {
		bad("used_at", "a new token is unused")
	}
	return errors.Join(errs...)
}
