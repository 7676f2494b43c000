package questions

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Params are Argon2id's cost parameters and the salt and key lengths.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes (p)
	KeyLen  uint32 // bytes of derived key
	SaltLen uint32 // bytes of random salt
}

// DefaultParams is OWASP's first Argon2id recommendation: m=19 MiB, t=2,
// p=1, with a 32-byte key and a 16-byte salt.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// Bounds on parameters, for our own config and for PHC strings read back
// from the database: nothing absurd is ever run.
const (
	MaxMemory  = 1 << 20 // KiB (1 GiB)
	MaxTime    = 16
	MaxThreads = 16
	MinKeyLen  = 16
	MaxKeyLen  = 64
	MinSaltLen = 8
	MaxSaltLen = 64
	maxPHCLen  = 256
)

// ErrBadPHC is returned (wrapped) for a hash string that is not one we
// make: wrong form, algorithm or version, or parameters out of bounds.
var ErrBadPHC = errors.New("questions: malformed argon2id hash")

// Validate reports whether p is within the bounds above (and Memory is at
// least 8 KiB per thread, as Argon2 requires).
func (p Params) Validate() error {
	switch {
	case p.Threads < 1 || p.Threads > MaxThreads:
		return fmt.Errorf("questions: threads %d not in 1..%d", p.Threads, MaxThreads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > MaxMemory:
		return fmt.Errorf("questions: memory %d KiB not in %d..%d", p.Memory, 8*uint32(p.Threads), MaxMemory)
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("questions: time %d not in 1..%d", p.Time, MaxTime)
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return fmt.Errorf("questions: key length %d not in %d..%d", p.KeyLen, MinKeyLen, MaxKeyLen)
	case p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen:
		return fmt.Errorf("questions: salt length %d not in %d..%d", p.SaltLen, MinSaltLen, MaxSaltLen)
	}
	return nil
}

var b64 = base64.RawStdEncoding.Strict()

// decodeB64 decodes unpadded standard base64 and accepts only the
// canonical encoding (the decoder alone skips CR and LF).
func decodeB64(s string) ([]byte, bool) {
	b, err := b64.DecodeString(s)
	return b, err == nil && b64.EncodeToString(b) == s
}

// formatPHC writes $argon2id$v=19$m=…,t=…,p=…$salt$key.
func formatPHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s",
		p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// parsePHC reads a string made by formatPHC, strictly: exactly that field
// order, canonical decimal numbers, unpadded standard base64, and every
// parameter within bounds. The returned Params carry the decoded lengths.
func parsePHC(s string) (Params, []byte, []byte, error) {
	bad := func(what string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrBadPHC, what)
	}
	if len(s) > maxPHCLen {
		return bad("too long")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("wrong number of fields")
	}
	if parts[1] != "argon2id" {
		return bad("not argon2id")
	}
	if parts[2] != "v=19" {
		return bad("not version 19")
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return bad("want m, t and p")
	}
	var nums [3]uint32
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(kv[i], name)
		if !ok {
			return bad("want m, t and p in that order")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || strconv.FormatUint(n, 10) != v {
			return bad("parameter " + name + " not a canonical number")
		}
		nums[i] = uint32(n)
	}
	if nums[2] > MaxThreads {
		return bad("p out of bounds")
	}
	salt, ok := decodeB64(parts[4])
	if !ok {
		return bad("salt not canonical base64")
	}
	key, ok := decodeB64(parts[5])
	if !ok {
		return bad("key not canonical base64")
	}
	p := Params{Memory: nums[0], Time: nums[1], Threads: uint8(nums[2]), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if err := p.Validate(); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: %w", ErrBadPHC, err)
	}
	return p, salt, key, nil
}
