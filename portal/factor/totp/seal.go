package totp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/latchkey/latchkey/tenants"
)

// KeySize is the length of a Sealer key: AES-256.
const KeySize = 32

// sealFormat is the first byte of a sealed seed, so that a later format or
// key rotation can be told apart.
const sealFormat byte = 1

// ErrOpen is returned (wrapped) when a sealed seed does not open: wrong key
// or tenant, tampering, or garbage.
var ErrOpen = errors.New("totp: cannot open sealed seed")

// Sealer encrypts TOTP seeds with AES-256-GCM so that the database only
// holds ciphertext (R26). The associated data is the tenant id + "|totp":
// a sealed seed copied to another tenant does not open, and neither does
// another purpose's blob sealed under the same key. Give it a key of its
// own all the same (e.g. derived from the configuration secret for the
// purpose "totp"); notify.Sealer's secret AD is fixed to "sms-provider", so
// seeds are not sealed with it.
//
// Layout: format byte (1) || 12-byte random nonce || ciphertext+tag.
// A Sealer is safe for concurrent use when its random source is.
type Sealer struct {
	gcm    cipher.AEAD
	random io.Reader
}

// NewSealer returns a Sealer for a KeySize-byte key. random is the nonce
// source; nil means crypto/rand.
func NewSealer(key []byte, random io.Reader) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("totp: seed key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("totp: seed key: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("totp: seed key: %w", err)
	}
	if random == nil {
		random = rand.Reader
	}
	return &Sealer{gcm: gcm, random: random}, nil
}

func seedAD(tenant tenants.ID) []byte { return []byte(string(tenant) + "|totp") }

// SealSeed encrypts seed for tenant.
func (s *Sealer) SealSeed(tenant tenants.ID, seed []byte) ([]byte, error) {
	n := s.gcm.NonceSize()
	blob := make([]byte, 1+n, 1+n+len(seed)+s.gcm.Overhead())
	blob[0] = sealFormat
	nonce := blob[1 : 1+n]
	if _, err := io.ReadFull(s.random, nonce); err != nil {
		return nil, fmt.Errorf("totp: seal nonce: %w", err)
	}
	return s.gcm.Seal(blob, nonce, seed, seedAD(tenant)), nil
}

// OpenSeed decrypts what SealSeed made for the same tenant.
func (s *Sealer) OpenSeed(tenant tenants.ID, sealed []byte) ([]byte, error) {
	n := s.gcm.NonceSize()
	switch {
	case len(sealed) < 1+n+s.gcm.Overhead():
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrOpen, len(sealed))
	case sealed[0] != sealFormat:
		return nil, fmt.Errorf("%w: unknown format %d", ErrOpen, sealed[0])
	}
	seed, err := s.gcm.Open(nil, sealed[1:1+n], sealed[1+n:], seedAD(tenant))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrOpen)
	}
	return seed, nil
}
