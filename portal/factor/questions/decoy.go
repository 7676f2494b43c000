package questions

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Decoy returns n distinct questions from pool for an account that does not
// exist, chosen by HMAC-SHA256(key, lower-cased username): the same username
// gets the same questions on every attempt and on every node, and nobody
// without key can tell them from a real user's (R1). key is a server secret
// (at least 32 bytes, from config). Duplicates in pool (after Normalize)
// count once; n larger than the distinct pool returns all of it, in a
// username-dependent order; n ≤ 0 returns nil.
func Decoy(key []byte, username string, pool []string, n int) []string {
	distinct := make([]string, 0, len(pool))
	seen := map[string]bool{}
	for _, q := range pool {
		if nq := Normalize(q); nq != "" && !seen[nq] {
			seen[nq] = true
			distinct = append(distinct, q)
		}
	}
	n = min(n, len(distinct))
	if n <= 0 {
		return nil
	}
	s := stream{key: key, user: strings.ToLower(norm.NFKC.String(strings.TrimSpace(username)))}
	// A partial Fisher–Yates shuffle driven by the keyed stream.
	for i := range n {
		j := i + s.intn(len(distinct)-i)
		distinct[i], distinct[j] = distinct[j], distinct[i]
	}
	return distinct[:n:n]
}

// stream is a deterministic keyed byte stream: blocks of
// HMAC-SHA256(key, "latchkey decoy questions" 0 user 0 counter).
type stream struct {
	key  []byte
	user string
	ctr  uint32
	buf  []byte
}

func (s *stream) uint32() uint32 {
	if len(s.buf) < 4 {
		m := hmac.New(sha256.New, s.key)
		m.Write([]byte("latchkey decoy questions\x00"))
		m.Write([]byte(s.user))
		m.Write(binary.BigEndian.AppendUint32([]byte{0}, s.ctr))
		s.ctr++
		s.buf = m.Sum(nil)
	}
	v := binary.BigEndian.Uint32(s.buf)
	s.buf = s.buf[4:]
	return v
}

// intn returns a uniform value in [0, n) for 0 < n (rejection sampling).
func (s *stream) intn(n int) int {
	limit := ^uint32(0) - ^uint32(0)%uint32(n)
	for {
		if v := s.uint32(); v < limit {
			return int(v % uint32(n))
		}
	}
}
