package protocol

import (
	"crypto/hpke"
	"errors"
	"fmt"
)

// Sealed is an HPKE ciphertext: the encapsulated key and the AEAD ciphertext.
type Sealed struct {
	Enc []byte `json:"enc"`
	CT  []byte `json:"ct"`
}

// The HPKE suite: ML-KEM-768 + X25519 hybrid KEM (post-quantum), HKDF-SHA256,
// AES-256-GCM.
var (
	sealKEM  = hpke.MLKEM768X25519()
	sealKDF  = hpke.HKDFSHA256()
	sealAEAD = hpke.AES256GCM()
	sealInfo = []byte("latchkey-connector-secret-v1")
)

// SecretAAD binds a sealed secret to one command, tenant and account.
func SecretAAD(cmdID, tenant, target, field string) []byte {
	return []byte(cmdID + "|" + tenant + "|" + target + "|" + field)
}

// GenerateSealKey makes a connector's encryption key pair; the agent keeps the
// private bytes, the control plane gets the public bytes at enrollment.
func GenerateSealKey() (private, public []byte, err error) {
	k, err := sealKEM.GenerateKey()
	if err != nil {
		return nil, nil, fmt.Errorf("generate HPKE key: %w", err)
	}
	priv, err := k.Bytes()
	if err != nil {
		return nil, nil, fmt.Errorf("serialise HPKE key: %w", err)
	}
	return priv, k.PublicKey().Bytes(), nil
}

// ValidSealPublicKey reports whether b is a usable connector encryption key.
func ValidSealPublicKey(b []byte) error {
	if _, err := sealKEM.NewPublicKey(b); err != nil {
		return fmt.Errorf("connector encryption key: %w", err)
	}
	return nil
}

// SealSecret encrypts a secret (a new or old password) to the connector's
// public key with aad (see SecretAAD). The caller should zero plaintext after.
func SealSecret(publicKey, plaintext, aad []byte) (*Sealed, error) {
	pk, err := sealKEM.NewPublicKey(publicKey)
	if err != nil {
		return nil, fmt.Errorf("seal: connector encryption key: %w", err)
	}
	enc, s, err := hpke.NewSender(pk, sealKDF, sealAEAD, sealInfo)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	ct, err := s.Seal(aad, plaintext)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Sealed{Enc: enc, CT: ct}, nil
}

// ErrOpen is returned for any ciphertext that does not open (wrong key, other
// command, tenant or account, or tampered).
var ErrOpen = errors.New("sealed secret does not open")

// OpenSecret decrypts a sealed secret with the connector's private key.
func OpenSecret(privateKey []byte, s *Sealed, aad []byte) ([]byte, error) {
	if s == nil {
		return nil, ErrOpen
	}
	k, err := sealKEM.NewPrivateKey(privateKey)
	if err != nil {
		return nil, fmt.Errorf("open: connector encryption key: %w", err)
	}
	r, err := hpke.NewRecipient(s.Enc, k, sealKDF, sealAEAD, sealInfo)
	if err != nil {
		return nil, ErrOpen
	}
	pt, err := r.Open(aad, s.CT)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// Zero overwrites b; call it on plaintext secrets once they are used.
func Zero(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
