package notify

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/latchkey/latchkey/tenants"
)

// KeySize is the length of the sealing key: AES-256.
const KeySize = 32

// sealVersion is the first byte of every sealed blob, so that a later format
// (or key rotation) can be told apart.
const sealVersion byte = 1

// ErrOpen is returned (wrapped) when sealed bytes cannot be opened: wrong key,
// wrong tenant or message, tampering, or garbage.
var ErrOpen = errors.New("notify: cannot open sealed data")

// Content is a rendered message: what the outbox stores sealed. An SMS uses
// Text only.
type Content struct {
	Subject string `json:"s,omitempty"`
	Text    string `json:"t,omitempty"`
	HTML    string `json:"h,omitempty"`
}

// Sealer seals outbox content and SMS provider secrets with AES-256-GCM under
// a key from the process configuration, so the database only ever holds
// ciphertext (a message may carry a one-time code, R22). Every blob is bound
// to where it belongs by the associated data: tenant id + "|" + message id for
// content, tenant id + "|sms-provider" for a provider secret; a blob copied to
// another row or tenant does not open.
//
// Sealed layout: version byte (1) || 12-byte random nonce || ciphertext+tag.
// A Sealer is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
	rand io.Reader
}

// NewSealer returns a Sealer for a 32-byte key. random is the nonce source
// (nil: crypto/rand).
func NewSealer(key []byte, random io.Reader) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("notify: sealing key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("notify: sealing key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("notify: sealing key: %w", err)
	}
	if random == nil {
		random = rand.Reader
	}
	return &Sealer{aead: aead, rand: random}, nil
}

func contentAD(tenant tenants.ID, messageID string) []byte {
	return []byte(string(tenant) + "|" + messageID)
}

func secretAD(tenant tenants.ID) []byte {
	return []byte(string(tenant) + "|sms-provider")
}

// Seal encrypts c for the outbox message messageID of tenant.
func (s *Sealer) Seal(tenant tenants.ID, messageID string, c Content) ([]byte, error) {
	plain, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("notify: encode content: %w", err)
	}
	return s.seal(plain, contentAD(tenant, messageID))
}

// Open decrypts what Seal produced for the same tenant and message id.
func (s *Sealer) Open(tenant tenants.ID, messageID string, sealed []byte) (Content, error) {
	plain, err := s.open(sealed, contentAD(tenant, messageID))
	if err != nil {
		return Content{}, err
	}
	var c Content
	if err := json.Unmarshal(plain, &c); err != nil {
		return Content{}, fmt.Errorf("%w: content: %v", ErrOpen, err)
	}
	return c, nil
}

// SealSecret encrypts a tenant's SMS provider secret (auth token or webhook
// key) for tenants.SMSProvider.Secret.
func (s *Sealer) SealSecret(tenant tenants.ID, secret []byte) ([]byte, error) {
	return s.seal(secret, secretAD(tenant))
}

// OpenSecret decrypts what SealSecret produced for the same tenant.
func (s *Sealer) OpenSecret(tenant tenants.ID, sealed []byte) ([]byte, error) {
	return s.open(sealed, secretAD(tenant))
}

func (s *Sealer) seal(plain, ad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plain)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := io.ReadFull(s.rand, out[1:]); err != nil {
		return nil, fmt.Errorf("notify: nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:1+ns], plain, ad), nil
}

func (s *Sealer) open(sealed, ad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrOpen, len(sealed))
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: unknown version %d", ErrOpen, sealed[0])
	}
	plain, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], ad)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrOpen)
	}
	return plain, nil
}
