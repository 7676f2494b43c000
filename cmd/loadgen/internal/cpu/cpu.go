// Package cpu reads CPU time from Linux's /proc: of named processes (the
// node, its connectors, the directory), of this process, and of the whole
// machine. On a shared machine a phase's wall-clock throughput depends on
// what else ran meanwhile; the CPU each party used tells the product's cost
// per operation apart from that noise, and shows how much of the machine
// others took.
package cpu

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the kernel's USER_HZ, the unit of /proc's CPU times: 100 on
// every Linux architecture Go supports.
const userHZ = 100

// maxTicks bounds a field (about 350 years of one CPU), so sums of a few
// cannot overflow a time.Duration.
const maxTicks = 1 << 40

// Sample is the CPU time used so far.
type Sample struct {
	At      time.Time
	Procs   map[string]time.Duration // by the caller's names; missing when unreadable
	Self    time.Duration
	Machine time.Duration // busy time of all CPUs together
}

// Take reads the CPU time of pids (name → pid), of this process and of the
// machine. Unreadable entries are left out (a process that exited).
func Take(pids map[string]int) Sample {
	s := Sample{At: time.Now(), Procs: map[string]time.Duration{}}
	for name, pid := range pids {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if d, err := ParseProcStat(string(b)); err == nil {
				s.Procs[name] = d
			}
		}
	}
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		s.Self, _ = ParseProcStat(string(b))
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		s.Machine, _ = ParseMachineStat(string(b))
	}
	return s
}

// ParseProcStat returns utime+stime of a /proc/<pid>/stat line. The command
// name (field 2) is in parentheses and may hold spaces and parentheses, so
// fields are counted after its last ')'.
func ParseProcStat(line string) (time.Duration, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu: stat line without a command name")
	}
	f := strings.Fields(line[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu: stat line with %d fields", len(f)+2)
	}
	var ticks int64
	for _, s := range f[11:13] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 || v > maxTicks {
			return 0, fmt.Errorf("cpu: stat field %q", s)
		}
		ticks += v
	}
	return ticksToDuration(ticks), nil
}

// ParseMachineStat returns the busy CPU time (all but idle and iowait) of
// the "cpu" line of /proc/stat.
func ParseMachineStat(stat string) (time.Duration, error) {
	for _, line := range strings.Split(stat, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "cpu" {
			continue
		}
		var busy int64
		// user nice system idle iowait irq softirq steal (guest is in user)
		for i, s := range f[1:min(len(f), 9)] {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil || v < 0 || v > maxTicks {
				return 0, fmt.Errorf("cpu: /proc/stat field %q", s)
			}
			if i != 3 && i != 4 {
				busy += v
			}
		}
		return ticksToDuration(busy), nil
	}
	return 0, fmt.Errorf("cpu: no cpu line in /proc/stat")
}

func ticksToDuration(t int64) time.Duration { return time.Duration(t) * (time.Second / userHZ) }

// Usage is the CPU used between two samples, in seconds.
type Usage struct {
	Wall    float64            `json:"wall_s"`
	Procs   map[string]float64 `json:"procs_s"`
	Self    float64            `json:"loadgen_s"`
	Machine float64            `json:"machine_s"`
	// Others is the machine's busy time not used by the watched processes
	// or by this one: other work on a shared machine.
	Others float64 `json:"others_s"`
}

// Since returns the usage from a to b.
func (b Sample) Since(a Sample) Usage {
	u := Usage{Wall: b.At.Sub(a.At).Seconds(), Procs: map[string]float64{}, Self: (b.Self - a.Self).Seconds(), Machine: (b.Machine - a.Machine).Seconds()}
	sum := u.Self
	for name, v := range b.Procs {
		if w, ok := a.Procs[name]; ok {
			u.Procs[name] = (v - w).Seconds()
			sum += u.Procs[name]
		}
	}
	u.Others = max(0, u.Machine-sum)
	return u
}

// Sum is the CPU of the named processes (all watched ones with no names).
func (u Usage) Sum(names ...string) float64 {
	var s float64
	for name, v := range u.Procs {
		if len(names) == 0 {
			s += v
			continue
		}
		for _, n := range names {
			if strings.HasPrefix(name, n) {
				s += v
			}
		}
	}
	return s
}
