package cpu

import (
	"testing"
	"time"
)

func TestParseProcStatCountsAfterTheCommandName(t *testing.T) {
	// A command name with spaces and a parenthesis, utime 150 and stime 50 ticks.
	line := "4242 (samba: task (ldap)) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 1 0 100 1000 10 18446744073709551615"
	got, err := ParseProcStat(line)
	if err != nil || got != 2*time.Second {
		t.Fatalf("got %v, %v; want 2s", got, err)
	}
	if _, err := ParseProcStat("4242 (x) S 1 2"); err == nil {
		t.Fatal("no error for a short line")
	}
	if _, err := ParseProcStat("no name here"); err == nil {
		t.Fatal("no error without a command name")
	}
}

func TestParseMachineStatLeavesOutIdleAndIOWait(t *testing.T) {
	stat := "cpu  100 10 40 5000 300 5 5 40 0 0\ncpu0 50 5 20 2500 150 2 3 20 0 0\nintr 1\n"
	got, err := ParseMachineStat(stat)
	// user+nice+system+irq+softirq+steal = 100+10+40+5+5+40 = 200 ticks.
	if err != nil || got != 2*time.Second {
		t.Fatalf("got %v, %v; want 2s", got, err)
	}
}

func TestUsageSinceSplitsTheMachineIntoWatchedSelfAndOthers(t *testing.T) {
	t0 := time.Unix(0, 0)
	a := Sample{At: t0, Procs: map[string]time.Duration{"node": time.Second, "connector-1": 0}, Self: 0, Machine: 10 * time.Second}
	b := Sample{At: t0.Add(2 * time.Second), Procs: map[string]time.Duration{"node": 2 * time.Second, "connector-1": 500 * time.Millisecond},
		Self: 500 * time.Millisecond, Machine: 14 * time.Second}
	u := b.Since(a)
	if u.Wall != 2 || u.Procs["node"] != 1 || u.Self != 0.5 || u.Machine != 4 || u.Others != 2 {
		t.Fatalf("usage %+v", u)
	}
	if s := u.Sum("connector"); s != 0.5 {
		t.Fatalf("connectors %v", s)
	}
	if s := u.Sum(); s != 1.5 {
		t.Fatalf("all watched %v", s)
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add("1 (init) S 0 1 1 0 -1 4194560 1 0 0 0 7 3 0 0 20 0 1 0 1 1 1")
	f.Add("2 ()) R")
	f.Fuzz(func(t *testing.T, line string) {
		if d, err := ParseProcStat(line); err == nil && d < 0 {
			t.Fatalf("negative CPU time %v", d)
		}
	})
}
