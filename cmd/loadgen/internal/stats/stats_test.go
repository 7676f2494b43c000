package stats

import (
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {90, 90 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := Percentile(s, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}

func TestSummarizeDoesNotReorderItsInput(t *testing.T) {
	in := []time.Duration{3, 1, 2}
	s := Summarize(in)
	if s.N != 3 || s.P50 != 2 || s.Max != 3 || s.Mean != 2 {
		t.Fatalf("summary %+v", s)
	}
	if in[0] != 3 || in[1] != 1 {
		t.Fatalf("input reordered: %v", in)
	}
}

func TestDepartureRateReadsTheMiddleOfTheBatch(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var ends []time.Time
	// 50 completions 100 ms apart (10/s), plus one straggler 30 s later.
	for i := range 50 {
		ends = append(ends, t0.Add(time.Duration(i)*100*time.Millisecond))
	}
	ends = append(ends, t0.Add(35*time.Second))
	got := DepartureRate(ends)
	if got < 9.5 || got > 10.5 {
		t.Fatalf("departure rate %.2f/s, want about 10/s", got)
	}
	if DepartureRate(ends[:4]) != 0 {
		t.Fatal("a rate from 4 completions")
	}
}
