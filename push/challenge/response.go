package challenge

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Decision is what the user chose on the phone.
type Decision string

const (
	DecisionApprove Decision = "approve"
	DecisionDeny    Decision = "deny"
	DecisionReport  Decision = "report" // "this wasn't me"
)

// TimestampFormat is the only form of the signed ts: RFC 3339 in UTC with
// whole seconds ("2026-03-01T12:00:00Z").
const TimestampFormat = "2006-01-02T15:04:05Z"

// Limits on what a device sends.
const (
	maxPayloadLen  = 512  // the signed JSON
	maxEnvelopeLen = 2048 // the JSON body carrying payload and signature
	maxKeyIDLen    = 128
)

var (
	// ErrMalformed is returned for a response or envelope that is not
	// well-formed: bad JSON, a missing, unknown, duplicate or mistyped member,
	// a value outside its range, oversized input.
	ErrMalformed = errors.New("malformed push response")
	// ErrNotCanonical is returned when the signed bytes are well-formed but
	// not the RFC 8785 canonical form of the object they hold (reordered
	// members, whitespace, other escapes or number forms).
	ErrNotCanonical = errors.New("push response is not in canonical form")
)

// Response is the object a device signs to answer a challenge.
type Response struct {
	CID      string
	Decision Decision
	// Number is the number the user typed (approve only); 0 means none and is
	// then left out of the signed JSON.
	Number int
	KeyID  string
	TS     time.Time
}

// CanonicalJSON returns the bytes a device signs for r: the RFC 8785 form of
// {"cid","decision","key_id","number","ts"}, number left out when 0.
func (r Response) CanonicalJSON() ([]byte, error) {
	ms := []member{
		{name: "cid", str: r.CID},
		{name: "decision", str: string(r.Decision)},
		{name: "key_id", str: r.KeyID},
		{name: "ts", str: r.TS.UTC().Format(TimestampFormat)},
	}
	if r.Number != 0 {
		ms = append(ms, member{name: "number", num: int64(r.Number), isNum: true})
	}
	return canonicalJSON(ms)
}

// ParseResponse decodes the signed bytes of a response. It accepts exactly
// the canonical form: the bytes must be what CanonicalJSON-style
// serialisation of the decoded members gives back, byte for byte. It checks
// form only; the signature and everything else is Verify's job.
func ParseResponse(b []byte) (Response, error) {
	if len(b) > maxPayloadLen {
		return Response{}, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(b), maxPayloadLen)
	}
	ms, err := decodeFlatObject(b)
	if err != nil {
		return Response{}, err
	}
	canon, err := canonicalJSON(ms)
	if err != nil {
		return Response{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !bytes.Equal(canon, b) {
		return Response{}, ErrNotCanonical
	}
	return responseFromMembers(ms)
}

// decodeFlatObject reads one JSON object whose values are strings or
// numbers, refusing duplicate names, nested values, literals and trailing
// data.
func decodeFlatObject(b []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	var ms []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: member name is not a string", ErrMalformed)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: duplicate member %q", ErrMalformed, name)
		}
		seen[name] = true
		if tok, err = dec.Token(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		switch v := tok.(type) {
		case string:
			ms = append(ms, member{name: name, str: v})
		case json.Number:
			n, err := strconv.ParseInt(v.String(), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: member %q is not an integer", ErrMalformed, name)
			}
			ms = append(ms, member{name: name, num: n, isNum: true})
		default:
			return nil, fmt.Errorf("%w: member %q is neither a string nor an integer", ErrMalformed, name)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, fmt.Errorf("%w: unterminated object", ErrMalformed)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the object", ErrMalformed)
	}
	return ms, nil
}

func responseFromMembers(ms []member) (Response, error) {
	var r Response
	var have = map[string]bool{}
	for _, m := range ms {
		wantNum := m.name == "number"
		if m.isNum != wantNum {
			return Response{}, fmt.Errorf("%w: member %q has the wrong type", ErrMalformed, m.name)
		}
		have[m.name] = true
		switch m.name {
		case "cid":
			r.CID = m.str
		case "decision":
			r.Decision = Decision(m.str)
		case "key_id":
			r.KeyID = m.str
		case "number":
			if m.num < 0 || m.num > 99 {
				return Response{}, fmt.Errorf("%w: number outside 0..99", ErrMalformed)
			}
			r.Number = int(m.num)
		case "ts":
			ts, err := time.Parse(TimestampFormat, m.str)
			if err != nil || ts.Format(TimestampFormat) != m.str {
				return Response{}, fmt.Errorf("%w: ts is not RFC 3339 UTC with seconds", ErrMalformed)
			}
			r.TS = ts
		default:
			return Response{}, fmt.Errorf("%w: unknown member %q", ErrMalformed, m.name)
		}
	}
	for _, name := range []string{"cid", "decision", "key_id", "ts"} {
		if !have[name] {
			return Response{}, fmt.Errorf("%w: missing member %q", ErrMalformed, name)
		}
	}
	switch {
	case !validCID(r.CID):
		return Response{}, fmt.Errorf("%w: cid is not 32 lower-case hex digits", ErrMalformed)
	case !validKeyID(r.KeyID):
		return Response{}, fmt.Errorf("%w: bad key_id", ErrMalformed)
	}
	switch r.Decision {
	case DecisionApprove:
	case DecisionDeny, DecisionReport:
		if r.Number != 0 {
			return Response{}, fmt.Errorf("%w: number sent with %q", ErrMalformed, r.Decision)
		}
	default:
		return Response{}, fmt.Errorf("%w: unknown decision", ErrMalformed)
	}
	return r, nil
}

// validKeyID accepts 1..128 characters of [A-Za-z0-9._:-], which covers
// UUIDs and base64url thumbprints.
func validKeyID(s string) bool {
	if s == "" || len(s) > maxKeyIDLen {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// SignedAnswer is a device's answer as it arrives: the signed bytes and the
// ES256 signature over them (ASN.1 DER, as ecdsa.SignASN1 makes).
type SignedAnswer struct {
	Payload   []byte
	Signature []byte
}

type envelope struct {
	Payload string `json:"payload"`
	Sig     string `json:"sig"`
}

var b64 = base64.RawURLEncoding.Strict()

// DecodeAnswer reads the JSON body a device posts:
// {"payload":"<base64url of the signed bytes>","sig":"<base64url of the DER signature>"}
// (no padding). The payload travels base64url-encoded so no proxy or JSON
// library can reformat the signed bytes.
func DecodeAnswer(body []byte) (SignedAnswer, error) {
	if len(body) > maxEnvelopeLen {
		return SignedAnswer{}, fmt.Errorf("%w: body of %d bytes", ErrMalformed, len(body))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var env envelope
	if err := dec.Decode(&env); err != nil {
		return SignedAnswer{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return SignedAnswer{}, fmt.Errorf("%w: data after the body", ErrMalformed)
	}
	payload, err := b64.DecodeString(env.Payload)
	if err != nil || len(payload) == 0 {
		return SignedAnswer{}, fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	sig, err := b64.DecodeString(env.Sig)
	if err != nil || len(sig) == 0 {
		return SignedAnswer{}, fmt.Errorf("%w: sig is not base64url", ErrMalformed)
	}
	return SignedAnswer{Payload: payload, Signature: sig}, nil
}

// Encode returns the JSON body DecodeAnswer reads (for the reference client
// and tests).
func (a SignedAnswer) Encode() []byte {
	b, _ := json.Marshal(envelope{Payload: b64.EncodeToString(a.Payload), Sig: b64.EncodeToString(a.Signature)})
	return b
}

// Sign makes the SignedAnswer for r with the device's private key. The
// server never holds device keys; this is for the reference authenticator
// and tests.
func Sign(priv *ecdsa.PrivateKey, r Response) (SignedAnswer, error) {
	payload, err := r.CanonicalJSON()
	if err != nil {
		return SignedAnswer{}, fmt.Errorf("sign push response: %w", err)
	}
	digest := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
	if err != nil {
		return SignedAnswer{}, fmt.Errorf("sign push response: %w", err)
	}
	return SignedAnswer{Payload: payload, Signature: sig}, nil
}
