package protocol

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Op is a directory operation a command may ask for.
type Op string

// The allow-list of operations (R55). Writes: reset, change, unlock,
// force_change. Reads the self-service flows need: read_status, lookup,
// verify_password, read_policy.
const (
	OpReset          Op = "reset"
	OpChange         Op = "change"
	OpUnlock         Op = "unlock"
	OpForceChange    Op = "force_change"
	OpReadStatus     Op = "read_status"
	OpLookup         Op = "lookup"
	OpVerifyPassword Op = "verify_password"
	OpReadPolicy     Op = "read_policy"
)

var allowedOps = map[Op]bool{OpReset: true, OpChange: true, OpUnlock: true, OpForceChange: true,
	OpReadStatus: true, OpLookup: true, OpVerifyPassword: true, OpReadPolicy: true}

// Allowed reports whether op is on the allow-list.
func (op Op) Allowed() bool { return allowedOps[op] }

// Writes reports whether op changes the directory.
func (op Op) Writes() bool {
	return op == OpReset || op == OpChange || op == OpUnlock || op == OpForceChange
}

// CommandBody is what the control plane signs.
type CommandBody struct {
	V         int    `json:"v"`
	ID        string `json:"id"` // 128-bit random, hex
	Tenant    string `json:"tenant"`
	Connector string `json:"connector"`
	Seq       uint64 `json:"seq"`
	Op        Op     `json:"op"`
	// Target is the account's objectGUID (entryUUID on OpenLDAP); Login is used
	// only by lookup, to find it.
	Target string `json:"target,omitempty"`
	Login  string `json:"login,omitempty"`
	// Password and OldPassword are HPKE-sealed to the connector (see SealSecret).
	Password    *Sealed `json:"password,omitempty"`
	OldPassword *Sealed `json:"old_password,omitempty"`
	// Unlock and MustChange refine reset.
	Unlock     bool      `json:"unlock,omitempty"`
	MustChange bool      `json:"must_change,omitempty"`
	IssuedAt   time.Time `json:"iat"`
	ExpiresAt  time.Time `json:"exp"`
}

// SignedCommand is the payload of a command frame: the exact signed bytes and
// the signature.
type SignedCommand struct {
	Body      []byte `json:"body"`
	Signature []byte `json:"sig"`
}

// SignCommand serialises and signs b with the control plane's command key.
func SignCommand(key ed25519.PrivateKey, b CommandBody) (SignedCommand, error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return SignedCommand{}, fmt.Errorf("sign command: %w", err)
	}
	return SignedCommand{Body: raw, Signature: ed25519.Sign(key, raw)}, nil
}

// Refusal is why an agent refuses a command; it travels in the result.
type Refusal string

// The refusal reasons, in the order the agent checks them.
const (
	RefuseSignature  Refusal = "bad_signature"
	RefuseMalformed  Refusal = "malformed"
	RefuseTenant     Refusal = "wrong_tenant"
	RefuseConnector  Refusal = "wrong_connector"
	RefuseExpired    Refusal = "expired"
	RefuseReplay     Refusal = "replayed"
	RefuseOperation  Refusal = "operation_not_allowed"
	RefuseScope      Refusal = "out_of_scope"
	RefuseProtected  Refusal = "protected_account"
	RefuseRateLimit  Refusal = "rate_limited"
	RefuseBadPayload Refusal = "bad_payload"
)

// RefusedError is a command the agent will not run.
type RefusedError struct {
	Reason Refusal
	Detail string
}

func (e *RefusedError) Error() string {
	if e.Detail == "" {
		return "command refused: " + string(e.Reason)
	}
	return "command refused: " + string(e.Reason) + ": " + e.Detail
}

func refuse(r Refusal, format string, args ...any) error {
	return &RefusedError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the refusal reason of err, or "".
func ReasonOf(err error) Refusal {
	var r *RefusedError
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}

// VerifyCommand performs the agent's stateless checks in order — signature,
// shape, tenant, connector, expiry, operation — and returns the body. Replay,
// scope, protection and rate limits are the agent's stateful checks after it.
func VerifyCommand(key ed25519.PublicKey, sc SignedCommand, tenant, connector string, now time.Time) (CommandBody, error) {
	if len(key) != ed25519.PublicKeySize || !ed25519.Verify(key, sc.Body, sc.Signature) {
		return CommandBody{}, refuse(RefuseSignature, "signature does not verify with the pinned command key")
	}
	var b CommandBody
	if err := json.Unmarshal(sc.Body, &b); err != nil {
		return CommandBody{}, refuse(RefuseMalformed, "body: %v", err)
	}
	switch {
	case b.V != Version:
		return b, refuse(RefuseMalformed, "command version %d, agent speaks %d", b.V, Version)
	case len(b.ID) != 32 || !isHex(b.ID):
		return b, refuse(RefuseMalformed, "command id must be 32 hex digits")
	case b.Tenant != tenant:
		return b, refuse(RefuseTenant, "command for tenant %q", b.Tenant)
	case b.Connector != connector:
		return b, refuse(RefuseConnector, "command for connector %q", b.Connector)
	case b.IssuedAt.IsZero() || b.ExpiresAt.IsZero() || !b.ExpiresAt.After(b.IssuedAt):
		return b, refuse(RefuseMalformed, "issued-at and expiry missing or out of order")
	case b.ExpiresAt.Sub(b.IssuedAt) > MaxCommandTTL:
		return b, refuse(RefuseExpired, "lifetime %s is over %s", b.ExpiresAt.Sub(b.IssuedAt), MaxCommandTTL)
	case !now.Before(b.ExpiresAt):
		return b, refuse(RefuseExpired, "expired %s ago", now.Sub(b.ExpiresAt).Round(time.Millisecond))
	case b.IssuedAt.After(now.Add(ClockSkew)):
		return b, refuse(RefuseExpired, "issued %s in the future", b.IssuedAt.Sub(now).Round(time.Millisecond))
	case !b.Op.Allowed():
		return b, refuse(RefuseOperation, "operation %q", b.Op)
	}
	return b, b.checkFields()
}

// checkFields checks that the operation has what it needs and nothing it must not.
func (b CommandBody) checkFields() error {
	needTarget := b.Op != OpLookup
	switch {
	case needTarget && b.Target == "":
		return refuse(RefuseBadPayload, "%s needs a target", b.Op)
	case b.Op == OpLookup && b.Login == "":
		return refuse(RefuseBadPayload, "lookup needs a login")
	case (b.Op == OpReset || b.Op == OpChange || b.Op == OpVerifyPassword) && b.Password == nil:
		return refuse(RefuseBadPayload, "%s needs a sealed password", b.Op)
	case b.Op == OpChange && b.OldPassword == nil:
		return refuse(RefuseBadPayload, "change needs the sealed old password")
	case b.Op != OpReset && b.Op != OpChange && b.Op != OpVerifyPassword && (b.Password != nil || b.OldPassword != nil):
		return refuse(RefuseBadPayload, "%s carries no password", b.Op)
	case b.Op != OpReset && (b.Unlock || b.MustChange):
		return refuse(RefuseBadPayload, "unlock/must_change apply to reset only")
	}
	return nil
}

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// Status is the outcome of a command.
type Status string

// The outcomes. Every command gets exactly one.
const (
	StatusDone           Status = "done"
	StatusRefused        Status = "refused"         // the agent would not run it (Refusal in Reason)
	StatusDirectoryError Status = "directory_error" // the directory said no (Code)
)

// ResultBody is what the agent signs about a command.
type ResultBody struct {
	CommandID string          `json:"cmd_id"`
	Tenant    string          `json:"tenant"`
	Connector string          `json:"connector"`
	Status    Status          `json:"status"`
	Reason    Refusal         `json:"reason,omitempty"` // when refused
	Code      string          `json:"code,omitempty"`   // directory error code (connector/directory Code names)
	Data      json.RawMessage `json:"data,omitempty"`   // op-specific answer (lookup entry, status, policy)
	Time      time.Time       `json:"time"`
}

// SignedResult is the payload of a result frame.
type SignedResult struct {
	Body      []byte `json:"body"`
	Signature []byte `json:"sig"`
}

// SignResult serialises and signs r with the connector's key.
func SignResult(key ed25519.PrivateKey, r ResultBody) (SignedResult, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return SignedResult{}, fmt.Errorf("sign result: %w", err)
	}
	return SignedResult{Body: raw, Signature: ed25519.Sign(key, raw)}, nil
}

// VerifyResult checks a result's signature against the connector's registered
// key and that it speaks of the expected tenant and connector.
func VerifyResult(key ed25519.PublicKey, sr SignedResult, tenant, connector string) (ResultBody, error) {
	if len(key) != ed25519.PublicKeySize || !ed25519.Verify(key, sr.Body, sr.Signature) {
		return ResultBody{}, errors.New("result signature does not verify with the connector's key")
	}
	var r ResultBody
	if err := json.Unmarshal(sr.Body, &r); err != nil {
		return r, fmt.Errorf("result body: %w", err)
	}
	if r.Tenant != tenant || r.Connector != connector {
		return r, fmt.Errorf("result from tenant %q connector %q, expected %q/%q", r.Tenant, r.Connector, tenant, connector)
	}
	switch r.Status {
	case StatusDone, StatusRefused, StatusDirectoryError:
	default:
		return r, fmt.Errorf("result status %q unknown", r.Status)
	}
	return r, nil
}

// AuthMessage is what a connector signs to open a connection.
func AuthMessage(connectorID, timestamp, host string) []byte {
	return []byte("latchkey-connector-auth-v1\n" + connectorID + "\n" + timestamp + "\n" + host)
}
