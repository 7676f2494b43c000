package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

const (
	// Subprotocol is the WebSocket subprotocol of this protocol version.
	Subprotocol = "latchkey-connector.v1"
	// Version only goes up.
	Version = 1
	// MaxFrameBytes bounds one WebSocket message.
	MaxFrameBytes = 64 << 10
	// MaxCommandTTL is the longest a command may live (R54).
	MaxCommandTTL = 120 * time.Second
	// ClockSkew is how far clocks may disagree.
	ClockSkew = 60 * time.Second
	// ConnectPath is where the hub accepts connectors.
	ConnectPath = "/connector/v1/connect"
)

// Headers that authenticate a connection.
const (
	HeaderConnector = "X-Latchkey-Connector"
	HeaderTime      = "X-Latchkey-Time"
	HeaderSignature = "X-Latchkey-Signature"
)

// Type is a frame type.
type Type string

// The frame types.
const (
	TypeHello   Type = "hello"
	TypeConfig  Type = "config"
	TypeReject  Type = "reject"
	TypeCommand Type = "command"
	TypeResult  Type = "result"
	TypeDrain   Type = "drain"
)

var knownTypes = map[Type]bool{TypeHello: true, TypeConfig: true, TypeReject: true, TypeCommand: true, TypeResult: true, TypeDrain: true}

// Envelope is one frame.
type Envelope struct {
	Type    Type            `json:"type"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// ErrMalformed wraps every decoding failure.
var ErrMalformed = errors.New("malformed frame")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Decode parses one frame, refusing oversized frames, unknown types, bad ids and
// payloads that are not JSON objects.
func Decode(b []byte) (Envelope, error) {
	if len(b) > MaxFrameBytes {
		return Envelope{}, malformed("%d bytes is over the %d-byte limit", len(b), MaxFrameBytes)
	}
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return Envelope{}, malformed("not a JSON envelope: %v", err)
	}
	if !knownTypes[e.Type] {
		return Envelope{}, malformed("unknown frame type %q", e.Type)
	}
	if err := checkID(e.ID); err != nil {
		return Envelope{}, err
	}
	p := bytes.TrimSpace(e.Payload)
	if len(p) == 0 || p[0] != '{' {
		return Envelope{}, malformed("%s frame: payload must be a JSON object", e.Type)
	}
	return e, nil
}

func checkID(id string) error {
	if id == "" || len(id) > 64 {
		return malformed("frame id must be 1 to 64 characters")
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return malformed("frame id has a character outside [A-Za-z0-9_-]")
		}
	}
	return nil
}

// Encode builds a frame around payload.
func Encode(t Type, id string, payload any) ([]byte, error) {
	if !knownTypes[t] {
		return nil, fmt.Errorf("encode: unknown frame type %q", t)
	}
	if err := checkID(id); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	p, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", t, err)
	}
	b, err := json.Marshal(Envelope{Type: t, ID: id, Payload: p})
	if err != nil {
		return nil, fmt.Errorf("encode %s frame: %w", t, err)
	}
	if len(b) > MaxFrameBytes {
		return nil, fmt.Errorf("encode %s frame: %d bytes is over the limit", t, len(b))
	}
	return b, nil
}

// Payload decodes e's payload into v, which must match e's type.
func Payload[T any](e Envelope) (T, error) {
	var v T
	if err := json.Unmarshal(e.Payload, &v); err != nil {
		return v, malformed("%s payload: %v", e.Type, err)
	}
	return v, nil
}

// Hello is the agent's first frame.
type Hello struct {
	Version      int      `json:"version"`
	ConnectorID  string   `json:"connector_id"`
	AgentVersion string   `json:"agent_version"`
	Domains      []string `json:"domains"`
	Capabilities []string `json:"capabilities,omitempty"`
}

// Config is the hub's answer to an accepted hello.
type Config struct {
	HeartbeatSeconds int       `json:"heartbeat_seconds"`
	MaxInFlight      int       `json:"max_in_flight"`
	ServerTime       time.Time `json:"server_time"`
}

// Reject is the hub's answer to a refused hello; Permanent tells the agent to
// stop reconnecting (e.g. revoked).
type Reject struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Permanent bool   `json:"permanent"`
}

// Drain asks the agent to finish what is in flight and close.
type Drain struct{}
