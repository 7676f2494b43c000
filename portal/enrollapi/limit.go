package enrollapi

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Enrollment is rare (once per connector host), so attempts that reach the
// token check are limited per tenant and client IP, and per tenant: against
// guessing and against growing a tenant's audit log (every failed attempt is
// audited). Keys carry the tenant (R42). The limits are this node's own; the
// cluster-wide limiter comes with the self-service flows.
const (
	perClientBurst = 10
	perClientEvery = time.Minute // one more attempt per minute after the burst
	perTenantBurst = 30
	perTenantEvery = 6 * time.Second
	maxKeys        = 10_000 // beyond this, idle keys are forgotten
	idleAfter      = 30 * time.Minute
)

type limiter struct {
	now  func() time.Time
	mu   sync.Mutex
	keys map[string]*limitEntry
}

type limitEntry struct {
	lim  *rate.Limiter
	last time.Time
}

func newLimiter(now func() time.Time) *limiter {
	if now == nil {
		now = time.Now
	}
	return &limiter{now: now, keys: map[string]*limitEntry{}}
}

// allow takes one attempt for the tenant from ip; false means refuse it.
func (l *limiter) allow(tenant, ip string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.keys) > maxKeys {
		for k, e := range l.keys {
			if now.Sub(e.last) > idleAfter {
				delete(l.keys, k)
			}
		}
	}
	client := l.entry("c|"+tenant+"|"+ip, perClientEvery, perClientBurst, now)
	ten := l.entry("t|"+tenant, perTenantEvery, perTenantBurst, now)
	if client.lim.TokensAt(now) < 1 || ten.lim.TokensAt(now) < 1 { // spend neither unless both allow
		return false
	}
	return client.lim.AllowN(now, 1) && ten.lim.AllowN(now, 1)
}

func (l *limiter) entry(key string, every time.Duration, burst int, now time.Time) *limitEntry {
	e := l.keys[key]
	if e == nil {
		e = &limitEntry{lim: rate.NewLimiter(rate.Every(every), burst)}
		l.keys[key] = e
	}
	e.last = now
	return e
}
