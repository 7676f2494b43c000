package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/latchkey/latchkey/cmd/loadgen/internal/cpu"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/openloop"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/portal"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/samba"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/stats"
)

// b2Raw is the baseline of one round: every user's password replaced once
// on one connection (latency) and once over RawConns connections
// (throughput).
type b2Raw struct {
	Serial       stats.Summary `json:"serial_latency"`
	SerialRate   float64       `json:"serial_per_second"`
	Parallel     stats.Summary `json:"parallel_latency"`
	ParallelRate float64       `json:"parallel_per_second"` // departure rate
	Conns        int           `json:"parallel_conns"`
	Failed       int           `json:"failed"`
	// ParallelCPU is the usage during the parallel pass (the DC's share is
	// what a password write costs it).
	ParallelCPU cpu.Usage `json:"parallel_cpu"`
}

// b2RawRound runs both passes.
func (r *rig) b2RawRound(ctx context.Context) (b2Raw, error) {
	out := b2Raw{Conns: r.cfg.B2RawConns}
	conns := make([]*ldap.Conn, r.cfg.B2RawConns)
	defer func() {
		for _, l := range conns {
			if l != nil {
				l.Close()
			}
		}
	}()
	for i := range conns {
		l, err := r.cfg.Samba.Service()
		if err != nil {
			return out, err
		}
		conns[i] = l
	}
	pass := func(nconns int) ([]time.Duration, []time.Time, time.Duration, int) {
		var (
			mu     sync.Mutex
			lat    []time.Duration
			ends   []time.Time
			failed int
		)
		start := time.Now()
		r.eachUser(ctx, nconns, func(c int, u *benchUser) {
			pw := samba.RandomPassword()
			u.mu.Lock()
			t0 := time.Now()
			err := samba.Replace(conns[c], u.u.DN, pw)
			d, end := time.Since(t0), time.Now()
			if err == nil {
				u.password = pw
			}
			u.mu.Unlock()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				r.log.Warn("raw replace failed", "user", u.u.Login, "err", err)
				return
			}
			lat, ends = append(lat, d), append(ends, end)
		})
		return lat, ends, time.Since(start), failed
	}
	lat, _, el, f1 := pass(1)
	out.Serial, out.SerialRate = stats.Summarize(lat), float64(len(lat))/el.Seconds()
	before := cpu.Take(r.cfg.CPUPids)
	lat, ends, el, f2 := pass(r.cfg.B2RawConns)
	out.ParallelCPU = cpu.Take(r.cfg.CPUPids).Since(before)
	out.Parallel, out.ParallelRate = stats.Summarize(lat), stats.DepartureRate(ends)
	if out.ParallelRate == 0 && len(lat) > 0 { // too few users for the middle of the batch
		out.ParallelRate = float64(len(lat)) / el.Seconds()
	}
	out.Failed = f1 + f2
	if out.ParallelRate == 0 {
		return out, fmt.Errorf("raw B2: no throughput measured (%d replaces failed)", out.Failed)
	}
	return out, nil
}

// b2Product is one round of whole resets.
type b2Product struct {
	Factors   []string       `json:"factors"`
	Offered   float64        `json:"offered_per_second"`
	Flows     int            `json:"flows"`
	Done      int            `json:"done"`
	Failed    int            `json:"failed"`
	Dropped   int            `json:"dropped"`
	Skipped   int            `json:"skipped_code_budget"` // no tenant could send the user its codes
	Errors    map[string]int `json:"errors,omitempty"`
	Rate      float64        `json:"per_second"` // departure rate
	Flow      stats.Summary  `json:"flow_latency"`
	Act       stats.Summary  `json:"new_password_post_latency"`
	CodeWait  stats.Summary  `json:"code_wait"`
	Questions stats.Summary  `json:"questions_post_latency"`
	CPU       cpu.Usage      `json:"cpu"`
}

// b2ProductRound resets users users, from the first-th on (wrapping
// around), once with factors, open-loop at rate; a user no tenant can send
// the codes to now is skipped.
// User i goes through tenant (i+k) mod T, k counting the product batches
// of the run, so that resets of one user spread over the tenants: a tenant
// sends an account at most 5 codes an hour (enrolment used one) and texts a
// number at most once in 30 s.
func (r *rig) b2ProductRound(ctx context.Context, k int, factors []string, rate float64, first, users int) b2Product {
	out := b2Product{Factors: factors, Offered: rate, Errors: map[string]int{}}
	var (
		mu                 sync.Mutex
		flows, acts, codes []time.Duration
		qs                 []time.Duration
		ends               []time.Time
	)
	// Tenants are picked before the clock starts: user i's preferred one
	// is (i+k) mod T, else the next that can still send it the codes.
	need, sms := 0, false
	for _, f := range factors {
		if f == "email" || f == "sms" {
			need++
		}
		sms = sms || f == "sms"
	}
	now := time.Now()
	var plan []int // tenant of each arrival, -1: no tenant has codes left
	pick := func(i int) *benchUser { return r.users[(first+i)%len(r.users)] }
	for i := range min(users, len(r.users)) {
		plan = append(plan, pick(i).reserveCodes(i+k, len(r.cfg.Tenants), need, sms, now))
		if plan[i] < 0 {
			out.Skipped++
		}
	}
	before := cpu.Take(r.cfg.CPUPids)
	res := openloop.Run(ctx, openloop.Plan{Rate: rate, N: len(plan), MaxInFlight: r.cfg.MaxInFlight}, func(i int, due time.Time) {
		if plan[i] < 0 {
			return
		}
		u := pick(i)
		t := r.cfg.Tenants[plan[i]]
		fctx, cancel := context.WithTimeout(ctx, r.cfg.FlowTimeout)
		defer cancel()
		pw := samba.RandomPassword()
		u.mu.Lock()
		got, err := r.visitor(t).Reset(fctx, u.account(), factors, r.codes(t), pw)
		if err == nil {
			u.password = pw
		}
		u.mu.Unlock()
		took := got.Done.Sub(due)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			out.Failed++
			out.Errors[portal.Class(err)]++
			r.log.Warn("reset failed", "user", u.u.Login, "tenant", t.Slug, "err", err)
			return
		}
		out.Done++
		flows, acts, codes, qs = append(flows, took), append(acts, got.Act), append(codes, got.CodeWait), append(qs, got.Questions)
		ends = append(ends, got.Done)
	})
	out.CPU = cpu.Take(r.cfg.CPUPids).Since(before)
	out.Flows, out.Dropped = res.Scheduled-out.Skipped, res.Dropped
	out.Rate = stats.DepartureRate(ends)
	if out.Rate == 0 && len(ends) > 0 {
		out.Rate = float64(len(ends)) / time.Since(res.Start).Seconds()
	}
	out.Flow, out.Act, out.CodeWait, out.Questions = stats.Summarize(flows), stats.Summarize(acts), stats.Summarize(codes), stats.Summarize(qs)
	return out
}

// bindCheck binds as every user with the last password set, 4 at a time,
// and returns how many failed.
func (r *rig) bindCheck(ctx context.Context) (failed int) {
	var mu sync.Mutex
	r.eachUser(ctx, 4, func(_ int, u *benchUser) {
		u.mu.Lock()
		err := r.cfg.Samba.Bind(u.u.DN, u.password)
		u.mu.Unlock()
		if err != nil {
			mu.Lock()
			failed++
			mu.Unlock()
			r.log.Warn("the last password set does not bind", "user", u.u.Login, "err", err)
		}
	})
	return failed
}

// eachUser calls fn for every user on workers goroutines (fn learns its
// worker's number) and returns when all calls have; it stops handing out
// users when ctx ends.
func (r *rig) eachUser(ctx context.Context, workers int, fn func(worker int, u *benchUser)) {
	var wg sync.WaitGroup
	next := make(chan *benchUser)
	for w := range workers {
		wg.Go(func() {
			for u := range next {
				fn(w, u)
			}
		})
	}
	for _, u := range r.users {
		if ctx.Err() != nil {
			break
		}
		next <- u
	}
	close(next)
	wg.Wait()
}

// waitQuiet waits, up to QuietWait, for a second in which the rest of the
// machine used at most QuietCores, and returns the cores it used in the
// last second measured.
func (r *rig) waitQuiet(ctx context.Context, what string) float64 {
	deadline := time.Now().Add(r.cfg.QuietWait)
	for {
		a := cpu.Take(r.cfg.CPUPids)
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(time.Second):
		}
		u := cpu.Take(r.cfg.CPUPids).Since(a)
		others := u.Others / u.Wall
		if others <= r.cfg.QuietCores || !time.Now().Before(deadline) {
			if others > r.cfg.QuietCores {
				r.log.Warn("the machine is busy with other work: measuring anyway", "before", what, "others_cores", round2(others))
			}
			return others
		}
	}
}
