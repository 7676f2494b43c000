// Package notifytest holds test servers that speak the real protocols
// portal/notify talks to, for this package's tests and for end-to-end tests
// elsewhere:
//
//   - SMTPSink: an SMTP server (github.com/emersion/go-smtp) on
//     127.0.0.1 with STARTTLS (or implicit TLS) under a self-signed
//     certificate and AUTH PLAIN, that parses and records what it receives;
//   - TwilioFake: an HTTPS server speaking Twilio's Messages API;
//   - WebhookSink: an HTTPS server that verifies X-Latchkey-Signature.
//
// Each records what it accepted (Messages, WaitFor) and can simulate an
// outage (FailNext). Each has a Sender method returning a portal/notify
// sender already pointed at it. They stop when the test ends.
package notifytest

import (
	"context"
	"slices"
	"sync"
)

// recorder keeps what a server accepted and lets tests wait for an item.
type recorder[T any] struct {
	mu      sync.Mutex
	items   []T
	changed chan struct{} // closed (and replaced) on every add
}

func (r *recorder[T]) add(v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, v)
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

func (r *recorder[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.items)
}

// waitFor returns the first item that matches, waiting for one until ctx
// ends.
func (r *recorder[T]) waitFor(ctx context.Context, match func(T) bool) (T, error) {
	for {
		r.mu.Lock()
		for _, v := range r.items {
			if match(v) {
				r.mu.Unlock()
				return v, nil
			}
		}
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-ch:
		}
	}
}

// failer makes the next n requests fail with code.
type failer struct {
	mu      sync.Mutex
	n, code int
}

func (f *failer) set(n, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n, f.code = n, code
}

// take uses up one failure: it returns the code and true while any are left.
func (f *failer) take() (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n <= 0 {
		return 0, false
	}
	f.n--
	return f.code, true
}
