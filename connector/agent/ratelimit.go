package agent

import (
	"sync"
	"time"
)

// rateLimiter is a token bucket: Burst commands at once, refilled at PerMinute.
type rateLimiter struct {
	mu        sync.Mutex
	perMinute float64
	burst     float64
	tokens    float64
	last      time.Time
}

func newRateLimiter(perMinute, burst int, now time.Time) *rateLimiter {
	return &rateLimiter{perMinute: float64(perMinute), burst: float64(burst), tokens: float64(burst), last: now}
}

// allow takes a token if one is left.
func (r *rateLimiter) allow(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el := now.Sub(r.last); el > 0 {
		r.tokens += el.Minutes() * r.perMinute
		if r.tokens > r.burst {
			r.tokens = r.burst
		}
		r.last = now
	}
	if r.tokens < 1 {
		return false
	}
	r.tokens--
	return true
}
