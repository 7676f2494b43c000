package main

import (
	"context"
	"crypto/rand"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/latchkey/latchkey/cmd/loadgen/internal/cpu"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/openloop"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/portal"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/stats"
	"github.com/latchkey/latchkey/portal/factor/questions"
)

// b1Raw is the baseline of one round: argon2.IDKey with the product's
// parameters on GOMAXPROCS goroutines.
type b1Raw struct {
	Hashes    int           `json:"hashes"`
	PerSecond float64       `json:"per_second"`
	Hash      stats.Summary `json:"hash_latency"`
	CPU       cpu.Usage     `json:"cpu"`
	// PerCPUSecond is hashes per second of CPU this process used.
	PerCPUSecond float64 `json:"per_cpu_second"`
}

// rawArgon2 hashes for d on procs goroutines and returns the rate.
func rawArgon2(ctx context.Context, p questions.Params, procs int, d time.Duration, pids map[string]int) b1Raw {
	var (
		mu      sync.Mutex
		samples []time.Duration
		wg      sync.WaitGroup
	)
	before := cpu.Take(pids)
	start := time.Now()
	end := start.Add(d)
	for range procs {
		wg.Go(func() {
			salt := make([]byte, p.SaltLen)
			secret := make([]byte, 24)
			var mine []time.Duration
			for ctx.Err() == nil && time.Now().Before(end) {
				_, _ = rand.Read(salt)
				_, _ = rand.Read(secret)
				t0 := time.Now()
				argon2.IDKey(secret, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			samples = append(samples, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	el := time.Since(start)
	use := cpu.Take(pids).Since(before)
	out := b1Raw{Hashes: len(samples), PerSecond: float64(len(samples)) / el.Seconds(), Hash: stats.Summarize(samples), CPU: use}
	if use.Self > 0 {
		out.PerCPUSecond = float64(len(samples)) / use.Self
	}
	return out
}

// b1Step is one open-loop rate of questions-only flows.
type b1Step struct {
	Fraction       float64        `json:"fraction_of_raw"`
	Answers        int            `json:"answers_verified"`
	OfferedFlows   float64        `json:"offered_flows_per_second"`
	Flows          int            `json:"flows"`
	Dropped        int            `json:"dropped"`
	Failed         int            `json:"failed"`
	Errors         map[string]int `json:"errors,omitempty"`
	VerifiesPerSec float64        `json:"answers_verified_per_second"`
	// CPU is the usage in the throughput window; PerStackCPUSecond the
	// answers verified there per second of CPU used by the node, its
	// connectors and the DC together.
	CPU               cpu.Usage     `json:"window_cpu"`
	PerStackCPUSecond float64       `json:"answers_per_stack_cpu_second"`
	Verify            stats.Summary `json:"verify_post_latency"`
	Flow              stats.Summary `json:"flow_latency"`
}

// b1Product runs the steps of one round; capacity is the raw ceiling in
// flows per second.
func (r *rig) b1Product(ctx context.Context, round int, capacity float64) []b1Step {
	var steps []b1Step
	for si, frac := range r.cfg.B1Steps {
		rate := frac * capacity
		st := b1Step{Fraction: frac, OfferedFlows: rate, Errors: map[string]int{}}
		var (
			mu       sync.Mutex
			verifies []time.Duration
			flows    []time.Duration
			inWindow int
		)
		start := time.Now()
		winFrom, winTo := start.Add(r.cfg.B1Warmup), start.Add(r.cfg.B1Step)
		window := r.cpuWindow(ctx, winFrom, winTo)
		res := openloop.Run(ctx, openloop.Plan{Rate: rate, Duration: r.cfg.B1Step, MaxInFlight: r.cfg.MaxInFlight}, func(i int, due time.Time) {
			k := i + si*7919 + round*104729 // spread users and tenants differently every step
			u := r.users[k%len(r.users)]
			t := r.cfg.Tenants[k%len(r.cfg.Tenants)]
			fctx, cancel := context.WithTimeout(ctx, r.cfg.FlowTimeout)
			defer cancel()
			u.mu.Lock()
			acct := u.account()
			u.mu.Unlock()
			out, err := r.visitor(t).VerifyQuestions(fctx, acct)
			took := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				st.Failed++
				st.Errors[portal.Class(err)]++
				return
			}
			st.Answers += out.Answers
			verifies = append(verifies, out.Verify)
			flows = append(flows, took)
			if !out.Verified.Before(winFrom) && !out.Verified.After(winTo) {
				inWindow += out.Answers
			}
		})
		st.Flows, st.Dropped = res.Scheduled, res.Dropped
		st.VerifiesPerSec = float64(inWindow) / winTo.Sub(winFrom).Seconds()
		st.CPU = <-window
		if stack := st.CPU.Sum(); stack > 0 {
			st.PerStackCPUSecond = float64(inWindow) / stack
		}
		st.Verify, st.Flow = stats.Summarize(verifies), stats.Summarize(flows)
		r.log.Info("B1 step", "round", round+1, "fraction", frac, "offered_flows_s", round2(rate), "answers_verified_s", round2(st.VerifiesPerSec),
			"verify_p50", st.Verify.P50.Round(time.Millisecond), "verify_p99", st.Verify.P99.Round(time.Millisecond), "failed", st.Failed)
		steps = append(steps, st)
	}
	return steps
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

// cpuWindow samples the CPU at from and at to and delivers the usage in
// between (or what it has when ctx ends).
func (r *rig) cpuWindow(ctx context.Context, from, to time.Time) <-chan cpu.Usage {
	ch := make(chan cpu.Usage, 1)
	go func() {
		wait := func(t time.Time) {
			tm := time.NewTimer(time.Until(t))
			defer tm.Stop()
			select {
			case <-ctx.Done():
			case <-tm.C:
			}
		}
		wait(from)
		a := cpu.Take(r.cfg.CPUPids)
		wait(to)
		ch <- cpu.Take(r.cfg.CPUPids).Since(a)
	}()
	return ch
}
