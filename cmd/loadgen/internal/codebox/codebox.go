// Package codebox keeps the verification codes the load driver's sinks
// receive (email, SMS), by recipient and by a label of the message (its
// subject or text, which name the tenant), and hands each out once to the
// virtual user waiting for it.
package codebox

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

type code struct {
	label string
	value string
	at    time.Time
}

// Box is safe for concurrent use. The zero value is not; use New.
type Box struct {
	now  func() time.Time
	mu   sync.Mutex
	byTo map[string][]code
	wake chan struct{} // closed and replaced on every arrival
}

// New returns an empty box reading the time from now (nil: time.Now).
func New(now func() time.Time) *Box {
	if now == nil {
		now = time.Now
	}
	return &Box{now: now, byTo: map[string][]code{}, wake: make(chan struct{})}
}

// Put records code for the recipients, stamped with the arrival time.
func (b *Box) Put(to []string, label, value string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	at := b.now()
	for _, rcpt := range to {
		k := strings.ToLower(rcpt)
		b.byTo[k] = append(b.byTo[k], code{label: label, value: value, at: at})
	}
	close(b.wake)
	b.wake = make(chan struct{})
}

// Take waits for a code for rcpt whose label contains label and that arrived
// at or after notBefore, and hands it out once: it is removed together with
// every older code of the same recipient and label (abandoned attempts).
func (b *Box) Take(ctx context.Context, rcpt, label string, notBefore time.Time) (string, error) {
	rcpt = strings.ToLower(rcpt)
	for {
		b.mu.Lock()
		list := b.byTo[rcpt]
		for i, c := range list {
			if !strings.Contains(c.label, label) || c.at.Before(notBefore) {
				continue
			}
			var kept []code
			for j, o := range list {
				if j > i || !strings.Contains(o.label, label) {
					kept = append(kept, o)
				}
			}
			b.byTo[rcpt] = kept
			b.mu.Unlock()
			return c.value, nil
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("codebox: no code for %s (%q): %w", rcpt, label, ctx.Err())
		case <-wake:
		}
	}
}
