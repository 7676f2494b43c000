package agent

import (
	"math/rand/v2"
	"time"
)

// backoff is full-jitter exponential backoff with a cap.
type backoff struct {
	Min, Max time.Duration
	attempt  int
	rand     func() float64
}

// next returns how long to wait before the next attempt.
func (b *backoff) next() time.Duration {
	if b.rand == nil {
		b.rand = rand.Float64
	}
	ceil := b.Min << b.attempt
	if ceil <= 0 || ceil > b.Max {
		ceil = b.Max
	} else {
		b.attempt++
	}
	// full jitter in [Min/2, ceil]
	d := b.Min/2 + time.Duration(b.rand()*float64(ceil-b.Min/2))
	return d
}

// reset starts over after a stable connection.
func (b *backoff) reset() { b.attempt = 0 }
