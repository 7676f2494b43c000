package openloop

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock lets a test run a schedule without waiting: Sleep jumps to the
// due time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Sleep(_ context.Context, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

func TestArrivalsAreDueAtStartPlusIOverRate(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	var mu sync.Mutex
	due := map[int]time.Time{}
	res := Run(context.Background(), Plan{Rate: 4, N: 8, Now: clk.Now, Sleep: clk.Sleep}, func(i int, d time.Time) {
		mu.Lock()
		due[i] = d
		mu.Unlock()
	})
	if res.Scheduled != 8 || res.Dropped != 0 || len(due) != 8 {
		t.Fatalf("result %+v, %d calls", res, len(due))
	}
	for i := range 8 {
		if want := time.Unix(0, 0).Add(time.Duration(i) * 250 * time.Millisecond); !due[i].Equal(want) {
			t.Errorf("arrival %d due %v, want %v", i, due[i], want)
		}
	}
}

func TestSlowOperationsDoNotDelayLaterArrivals(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(5)
	go func() { started.Wait(); close(release) }()
	// Every operation blocks until all five have started: a closed loop
	// would deadlock here, an open loop starts them all.
	res := Run(context.Background(), Plan{Rate: 10, N: 5, Now: clk.Now, Sleep: clk.Sleep}, func(int, time.Time) {
		started.Done()
		<-release
	})
	if res.Scheduled != 5 {
		t.Fatalf("result %+v", res)
	}
}

func TestArrivalsOverTheCapAreDropped(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	release := make(chan struct{})
	last := time.Unix(1, 0) // arrival 10's due time at 10/s
	sleep := func(ctx context.Context, at time.Time) {
		clk.Sleep(ctx, at)
		if at.Equal(last) {
			close(release) // the three running operations may now end
		}
	}
	res := Run(context.Background(), Plan{Rate: 10, N: 11, MaxInFlight: 3, Now: clk.Now, Sleep: sleep}, func(int, time.Time) { <-release })
	// 0..2 run and hold the cap until arrival 10 is due, so 3..9 are
	// dropped; arrival 10 may find a slot or not.
	if res.Dropped < 7 || res.Dropped > 8 || res.Scheduled+res.Dropped != 11 {
		t.Fatalf("result %+v: want 7 or 8 dropped of 11", res)
	}
}
