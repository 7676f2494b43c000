package questions

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"runtime"

	"golang.org/x/crypto/argon2"
)

// ErrBusy is returned when the context ended while waiting for a hashing
// slot: the page answers 503 and the client retries later (B1). It wraps
// the context's error too.
var ErrBusy = errors.New("questions: hasher busy")

// Hasher hashes and verifies answers with Argon2id, at most concurrency at
// a time. It is safe for concurrent use.
type Hasher struct {
	// Rand is the salt source; nil means crypto/rand.Reader.
	Rand io.Reader

	p   Params
	err error
	sem chan struct{}
	// inSlot, when set (tests only), runs while a slot is held.
	inSlot func()
}

// NewHasher returns a Hasher for p (the zero Params means DefaultParams)
// running at most concurrency hashes at once (0 or less: GOMAXPROCS). Each
// running hash holds p.Memory KiB. Invalid params make every Hash fail.
func NewHasher(p Params, concurrency int) *Hasher {
	if p == (Params{}) {
		p = DefaultParams
	}
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	return &Hasher{p: p, err: p.Validate(), sem: make(chan struct{}, concurrency)}
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.p }

// Hash returns the PHC string of the normalised answer with a fresh salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key> (unpadded standard base64).
func (h *Hasher) Hash(ctx context.Context, answer string) (string, error) {
	if h.err != nil {
		return "", h.err
	}
	salt := make([]byte, h.p.SaltLen)
	r := h.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, salt); err != nil {
		return "", fmt.Errorf("questions: reading salt: %w", err)
	}
	key, err := h.derive(ctx, h.p, Normalize(answer), salt)
	if err != nil {
		return "", err
	}
	return formatPHC(h.p, salt, key), nil
}

// Verify reports whether answer, normalised, matches the PHC string. It
// runs with the parameters stored in phc (so hashes made before a change of
// params still verify; see NeedsRehash). A malformed phc is an error
// wrapping ErrBadPHC; a wrong answer is (false, nil).
func (h *Hasher) Verify(ctx context.Context, phc, answer string) (bool, error) {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	got, err := h.derive(ctx, p, Normalize(answer), salt)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// VerifyUnknown does the work of a Verify with the Hasher's params and
// returns false: for an account that does not exist or has no questions, so
// that it takes as long and sheds load the same way as a real one (R1).
func (h *Hasher) VerifyUnknown(ctx context.Context, answer string) (bool, error) {
	if h.err != nil {
		return false, h.err
	}
	salt := make([]byte, h.p.SaltLen)
	if _, err := h.derive(ctx, h.p, Normalize(answer), salt); err != nil {
		return false, err
	}
	return false, nil
}

// NeedsRehash reports whether phc was made with other params than the
// Hasher's (or cannot be read): the caller rehashes after a successful
// Verify.
func (h *Hasher) NeedsRehash(phc string) bool {
	p, _, _, err := parsePHC(phc)
	return err != nil || p != h.p
}

// derive runs Argon2id in a semaphore slot acquired with ctx.
func (h *Hasher) derive(ctx context.Context, p Params, answer string, salt []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBusy, err)
	}
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
	defer func() { <-h.sem }()
	if h.inSlot != nil {
		h.inSlot()
	}
	return argon2.IDKey([]byte(answer), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}
