// Package enroll is the control plane's side of a connector's enrollment
// life cycle: it issues one-time join tokens, redeems a token for the public
// keys a connector generated on its host (the body of POST
// /connector/v1/enroll, which portal/enrollapi serves), and lists and revokes
// a tenant's connectors. It knows nothing of HTTP.
//
// A join token is 256 bits from crypto/rand, written "lkj_" + base64url. It
// is returned once, by CreateToken; the store keeps only its SHA-256 (R4), and
// neither logs nor audit events ever carry it. Redemption is one conditional
// UPDATE in the transaction that registers the connector, so a token works
// exactly once (R5, R52). A token that is unknown, used, expired or another
// tenant's fails identically with ErrInvalidToken.
package enroll

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// Token lifetimes.
const (
	DefaultTTL = time.Hour
	MinTTL     = time.Minute
	MaxTTL     = 24 * time.Hour
)

// TokenPrefix starts every join token (it makes leaked tokens easy to scan for).
const TokenPrefix = "lkj_"

// tokenBytes is the token's entropy: 256 bits (at least 128 are required).
const tokenBytes = 32

// ErrInvalidToken is the one answer to every unusable token.
var ErrInvalidToken = errors.New("invalid join token")

// BadRequestError is a malformed enrollment request; Message says what is wrong
// and may be shown to the caller.
type BadRequestError struct{ Message string }

func (e *BadRequestError) Error() string { return "bad enrollment request: " + e.Message }

// Tenants is what the service needs of the store.
type Tenants interface {
	Tenant(id tenants.ID) store.TenantStore
}

// Service issues and redeems join tokens and manages enrolled connectors.
type Service struct {
	Store Tenants
	// HubURL is the WebSocket URL handed to connectors
	// (ws(s)://…/connector/v1/connect).
	HubURL string
	// CommandKey is the public half of the key that signs commands; the
	// connector pins it at enrollment.
	CommandKey ed25519.PublicKey
	// Now and Rand default to time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
	Log  *slog.Logger
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Issued is a join token as created: Token is shown to the operator once and
// never stored.
type Issued struct {
	Token     string
	ID        string
	ExpiresAt time.Time
}

// HashToken is what the store keeps of a token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CreateToken issues a one-time join token for the tenant, valid for ttl
// (DefaultTTL when 0; MinTTL..MaxTTL), and audits it as done by actor.
func (s *Service) CreateToken(ctx context.Context, tenantID tenants.ID, actor string, ttl time.Duration) (Issued, error) {
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < MinTTL || ttl > MaxTTL {
		return Issued{}, fmt.Errorf("join token lifetime %s is outside %s..%s", ttl, MinTTL, MaxTTL)
	}
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return Issued{}, fmt.Errorf("generate join token: %w", err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	ts := s.Store.Tenant(tenantID)
	tok, err := ts.CreateJoinToken(ctx, tenants.JoinToken{Hash: HashToken(token), CreatedBy: actor, ExpiresAt: s.now().Add(ttl)})
	if err != nil {
		return Issued{}, fmt.Errorf("store join token: %w", err)
	}
	if _, err := ts.AppendAudit(ctx, tenants.AuditEvent{Actor: actor, Action: "connector.token.create", Target: "join_token:" + tok.ID,
		Outcome: "success", Detail: map[string]string{"expires_at": tok.ExpiresAt.Format(time.RFC3339)}}); err != nil {
		return Issued{}, fmt.Errorf("audit join token: %w", err)
	}
	return Issued{Token: token, ID: tok.ID, ExpiresAt: tok.ExpiresAt}, nil
}

// DecodeRequest parses an enrollment request body: one JSON object (unknown
// fields are ignored, as everywhere in the protocol), which must pass
// protocol.EnrollRequest.Validate. Errors are *BadRequestError.
func DecodeRequest(body []byte) (protocol.EnrollRequest, error) {
	var req protocol.EnrollRequest
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return req, &BadRequestError{"the body must be a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&req); err != nil {
		return protocol.EnrollRequest{}, &BadRequestError{"malformed JSON: " + jsonProblem(err)}
	}
	if dec.More() {
		return protocol.EnrollRequest{}, &BadRequestError{"malformed JSON: data after the object"}
	}
	if err := req.Validate(); err != nil {
		return protocol.EnrollRequest{}, &BadRequestError{strings.ReplaceAll(err.Error(), "\n", "; ")}
	}
	return req, nil
}

// jsonProblem describes a decoding error without quoting the input.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Sprintf("field %q must be %s", typeErr.Field, typeName(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("syntax error at byte %d", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	}
	// base64 errors for the key fields, and the like.
	return "a field has the wrong type or encoding"
}

func typeName(kind string) string {
	switch kind {
	case "slice":
		return "a base64 string or an array"
	case "string":
		return "a string"
	}
	return "a " + kind
}

// Meta is what the request tells about its sender, for the audit log.
type Meta struct {
	IP, UserAgent, RequestID string
}

// Enroll redeems req.Token for the tenant of the host the request came to and
// registers the connector. Every unusable token gives ErrInvalidToken (and a
// failure audit event); the token itself is never logged or audited.
func (s *Service) Enroll(ctx context.Context, tenantID tenants.ID, req protocol.EnrollRequest, m Meta) (protocol.EnrollResponse, error) {
	if err := req.Validate(); err != nil {
		return protocol.EnrollResponse{}, &BadRequestError{strings.ReplaceAll(err.Error(), "\n", "; ")}
	}
	ts := s.Store.Tenant(tenantID)
	c, err := ts.RedeemJoinToken(ctx, HashToken(req.Token), tenants.Connector{
		Name: strings.TrimSpace(req.Name), SignKey: req.SignKey, SealKey: req.SealKey,
		AgentVersion: req.AgentVersion, Domains: req.Domains,
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.audit(ctx, ts, tenants.AuditEvent{Actor: "anonymous", Action: "connector.enroll", Target: "connector", Outcome: "failure",
			IP: m.IP, UserAgent: m.UserAgent, CorrelationID: m.RequestID, Detail: map[string]string{"reason": "invalid_token", "name": req.Name}})
		return protocol.EnrollResponse{}, ErrInvalidToken
	case errors.Is(err, store.ErrInvalid):
		return protocol.EnrollResponse{}, &BadRequestError{"the connector record is invalid"}
	case err != nil:
		return protocol.EnrollResponse{}, fmt.Errorf("enroll connector: %w", err)
	}
	s.audit(ctx, ts, tenants.AuditEvent{Actor: "connector:" + c.ID, Action: "connector.enroll", Target: "connector:" + c.ID, Outcome: "success",
		IP: m.IP, UserAgent: m.UserAgent, CorrelationID: m.RequestID,
		Detail: map[string]string{"name": c.Name, "agent_version": c.AgentVersion, "domains": strings.Join(c.Domains, ",")}})
	s.log().InfoContext(ctx, "connector enrolled", slog.String("connector_id", c.ID), slog.String("name", c.Name))
	return protocol.EnrollResponse{TenantID: string(c.TenantID), ConnectorID: c.ID, HubURL: s.HubURL, CommandKey: s.CommandKey}, nil
}

// audit appends e; a failure is logged, not returned: the enrollment itself
// has already been decided (and committed, on success).
func (s *Service) audit(ctx context.Context, ts store.TenantStore, e tenants.AuditEvent) {
	if _, err := ts.AppendAudit(ctx, e); err != nil {
		s.log().ErrorContext(ctx, "audit connector event", slog.String("action", e.Action), slog.String("error", err.Error()))
	}
}

// List returns the tenant's connectors, oldest first.
func (s *Service) List(ctx context.Context, tenantID tenants.ID) ([]tenants.Connector, error) {
	cs, err := s.Store.Tenant(tenantID).ListConnectors(ctx)
	if err != nil {
		return nil, fmt.Errorf("list connectors: %w", err)
	}
	return cs, nil
}

// Revoke revokes one of the tenant's connectors for good (store.ErrNotFound
// when it has no such connector) and audits it. Hubs close its connection
// within their recheck interval and refuse it from then on.
func (s *Service) Revoke(ctx context.Context, tenantID tenants.ID, connectorID, actor string) (tenants.Connector, error) {
	ts := s.Store.Tenant(tenantID)
	c, err := ts.RevokeConnector(ctx, connectorID)
	if err != nil {
		return tenants.Connector{}, fmt.Errorf("revoke connector: %w", err)
	}
	if _, err := ts.AppendAudit(ctx, tenants.AuditEvent{Actor: actor, Action: "connector.revoke", Target: "connector:" + c.ID,
		Outcome: "success", Detail: map[string]string{"name": c.Name}}); err != nil {
		return c, fmt.Errorf("audit revocation: %w", err)
	}
	return c, nil
}

// OnlineWindow is how recently a connector must have been seen by a hub to
// count as online to a process that holds no socket (hubs report live
// connectors at least every 30 s).
const OnlineWindow = 90 * time.Second

// Online reports whether c counts as online at now (see OnlineWindow).
func Online(c tenants.Connector, now time.Time) bool {
	return !c.Revoked() && !c.LastSeenAt.IsZero() && now.Sub(c.LastSeenAt) < OnlineWindow
}
