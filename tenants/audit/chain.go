// Package audit computes and verifies the hash chain of a tenant's audit log.
//
// Every event's Hash is SHA-256 over a canonical, length-prefixed encoding of
// the tenant id, sequence number, time (UTC, nanoseconds), actor, action,
// target, IP, user agent, outcome, correlation id, the detail map (keys sorted)
// and the previous event's hash. Changing, removing, inserting or reordering any
// event therefore breaks the chain at that event, and Verify names it.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/latchkey/latchkey/tenants"
)

// Genesis is the PrevHash of a tenant's first event.
var Genesis = make([]byte, sha256.Size)

// Hash returns the chain hash of e (e.Hash itself is ignored; e.PrevHash is used).
func Hash(e tenants.AuditEvent) []byte {
	h := sha256.New()
	var n [8]byte
	field := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	num := func(v int64) {
		binary.BigEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	field("latchkey-audit-v1")
	field(string(e.TenantID))
	num(e.Seq)
	num(e.Time.UTC().UnixNano())
	field(e.Actor)
	field(e.Action)
	field(e.Target)
	field(e.IP)
	field(e.UserAgent)
	field(e.Outcome)
	field(e.CorrelationID)
	keys := make([]string, 0, len(e.Detail))
	for k := range e.Detail {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	num(int64(len(keys)))
	for _, k := range keys {
		field(k)
		field(e.Detail[k])
	}
	field(string(e.PrevHash))
	return h.Sum(nil)
}

// Seal sets e's Seq, PrevHash and Hash to follow prev (nil for the first event)
// and returns it. Stores call it inside the appending transaction.
func Seal(prev *tenants.AuditEvent, e tenants.AuditEvent) tenants.AuditEvent {
	if prev == nil {
		e.Seq = 1
		e.PrevHash = append([]byte(nil), Genesis...)
	} else {
		e.Seq = prev.Seq + 1
		e.PrevHash = append([]byte(nil), prev.Hash...)
	}
	e.Hash = Hash(e)
	return e
}

// BrokenLinkError says where a chain stops being valid.
type BrokenLinkError struct {
	Seq    int64  // the first event that does not verify
	Reason string // what is wrong with it
}

func (e *BrokenLinkError) Error() string {
	return fmt.Sprintf("audit chain broken at event %d: %s", e.Seq, e.Reason)
}

// ErrBroken matches every *BrokenLinkError with errors.Is.
var ErrBroken = errors.New("audit chain broken")

// Is lets errors.Is(err, ErrBroken) match.
func (e *BrokenLinkError) Is(target error) bool { return target == ErrBroken }

// Verifier checks a chain incrementally, page by page, so that a long log never
// has to be held in memory. The zero value expects the chain to start at Seq 1.
type Verifier struct {
	prev  *tenants.AuditEvent
	count int64
}

// Add checks the next event of the chain.
func (v *Verifier) Add(e tenants.AuditEvent) error {
	wantSeq, wantPrev := int64(1), Genesis
	if v.prev != nil {
		wantSeq, wantPrev = v.prev.Seq+1, v.prev.Hash
	}
	switch {
	case e.Seq != wantSeq:
		return &BrokenLinkError{Seq: wantSeq, Reason: fmt.Sprintf("expected event %d, found %d (missing or reordered)", wantSeq, e.Seq)}
	case !bytes.Equal(e.PrevHash, wantPrev):
		return &BrokenLinkError{Seq: e.Seq, Reason: "previous-hash does not match the preceding event"}
	case !bytes.Equal(e.Hash, Hash(e)):
		return &BrokenLinkError{Seq: e.Seq, Reason: "content does not match its hash (modified)"}
	}
	ev := e
	v.prev = &ev
	v.count++
	return nil
}

// Count returns how many events verified so far.
func (v *Verifier) Count() int64 { return v.count }

// Verify checks a whole chain held in memory.
func Verify(events []tenants.AuditEvent) error {
	var v Verifier
	for _, e := range events {
		if err := v.Add(e); err != nil {
			return err
		}
	}
	return nil
}
