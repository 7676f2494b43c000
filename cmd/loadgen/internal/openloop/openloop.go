// Package openloop schedules operations open-loop: the i-th operation is
// due at start + i/rate whatever happened to the earlier ones, and runs in
// its own goroutine. A slow server therefore meets the same arrivals as a
// fast one, and a latency measured from the due time (not from when the
// request could finally be sent) includes any queueing the server caused
// — no coordinated omission. The only back-pressure is a cap on
// operations in flight; an arrival over the cap is counted as dropped, not
// delayed.
package openloop

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Plan is one open-loop run.
type Plan struct {
	Rate     float64       // arrivals per second (> 0)
	N        int           // arrivals; 0: until Duration ends
	Duration time.Duration // stop scheduling after this; 0: after N
	// MaxInFlight caps concurrent operations; 0: 1024.
	MaxInFlight int
	// Sleep waits until t or until ctx ends; nil: a timer on the wall clock.
	Sleep func(ctx context.Context, t time.Time)
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Result is what a run did.
type Result struct {
	Start     time.Time // the first arrival's due time
	Scheduled int       // arrivals started
	Dropped   int       // arrivals not started: MaxInFlight operations were running
}

// Run starts fn(i, due) for each arrival i at its due time and returns
// once every started fn has returned. It stops scheduling when ctx ends.
func Run(ctx context.Context, p Plan, fn func(i int, due time.Time)) Result {
	now, sleep := p.Now, p.Sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepUntil
	}
	limit := p.MaxInFlight
	if limit <= 0 {
		limit = 1024
	}
	res := Result{Start: now()}
	if p.Rate <= 0 || (p.N <= 0 && p.Duration <= 0) {
		return res
	}
	interval := time.Duration(float64(time.Second) / p.Rate)
	var (
		wg       sync.WaitGroup
		inFlight atomic.Int64
	)
	for i := 0; p.N <= 0 || i < p.N; i++ {
		due := res.Start.Add(time.Duration(i) * interval)
		if p.Duration > 0 && due.Sub(res.Start) >= p.Duration {
			break
		}
		sleep(ctx, due)
		if ctx.Err() != nil {
			break
		}
		if inFlight.Load() >= int64(limit) {
			res.Dropped++
			continue
		}
		inFlight.Add(1)
		res.Scheduled++
		wg.Go(func() {
			defer inFlight.Add(-1)
			fn(i, due)
		})
	}
	wg.Wait()
	return res
}

func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
	case <-tm.C:
	}
}
