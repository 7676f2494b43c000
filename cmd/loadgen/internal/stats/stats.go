// Package stats summarises what a load run measured: latency percentiles
// of the recorded samples (nearest rank on the sorted samples, no
// histogram buckets, so p99 of 100 samples is the 99th slowest) and the
// departure rate of a batch of operations, read from the middle of the
// batch so that the ramp-up and the tail of the last stragglers do not
// count.
package stats

import (
	"math"
	"slices"
	"time"
)

// Summary is the distribution of a set of latencies.
type Summary struct {
	N    int
	Mean time.Duration
	P50  time.Duration
	P90  time.Duration
	P99  time.Duration
	Max  time.Duration
}

// Summarize returns the distribution of samples (which it does not
// modify). An empty set gives the zero Summary.
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Summary{
		N:    len(s),
		Mean: sum / time.Duration(len(s)),
		P50:  Percentile(s, 50),
		P90:  Percentile(s, 90),
		P99:  Percentile(s, 99),
		Max:  s[len(s)-1],
	}
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted, ascending samples: the smallest sample with at least p% of the
// samples at or below it. Empty input gives 0.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// DepartureRate is the rate (per second) at which a batch of operations
// finished, from their end times (in any order): the number of
// completions between the 10th and the 90th percentile of the end times
// divided by the time between them. A system that keeps up with an
// offered rate departs at that rate; an overloaded one at its capacity.
// Fewer than 5 end times, or all at one instant, give 0.
func DepartureRate(ends []time.Time) float64 {
	if len(ends) < 5 {
		return 0
	}
	s := slices.Clone(ends)
	slices.SortFunc(s, func(a, b time.Time) int { return a.Compare(b) })
	lo := int(math.Floor(0.1 * float64(len(s)-1)))
	hi := int(math.Ceil(0.9 * float64(len(s)-1)))
	span := s[hi].Sub(s[lo])
	if span <= 0 {
		return 0
	}
	return float64(hi-lo) / span.Seconds()
}

// Ms is d in milliseconds, for tables and JSON.
func Ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
