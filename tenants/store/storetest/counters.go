package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

var counterTests = []subTest{
	{"hit adds n and count reads it (R3)", testCounterHit},
	{"windows roll over at their boundary", testCounterWindows},
	{"one key over windows of different lengths does not mix", testCounterWindowLengths},
	{"keys are opaque strings up to 256 bytes", testCounterKeys},
	{"invalid arguments are refused", testCounterInvalid},
	{"20 concurrent hits sum exactly, each sees its own count (R24, R42)", testCounterConcurrent},
	{"purge deletes windows that ended before the time", testCounterPurge},
	{"not visible from another tenant (R41)", testCounterIsolation},
}

// hour is t0's hour window, which the counter tests count in.
var hour = time.Hour

func hit(t *testing.T, ts store.TenantStore, key string, window time.Duration, now time.Time, n int64) int64 {
	t.Helper()
	got, err := ts.Hit(ctx(t), key, window, now, n)
	must(t, "Hit", err)
	return got
}

func count(t *testing.T, ts store.TenantStore, key string, window time.Duration, now time.Time) int64 {
	t.Helper()
	got, err := ts.Count(ctx(t), key, window, now)
	must(t, "Count", err)
	return got
}

func testCounterHit(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	if got := count(t, ts, "reset:ip:192.0.2.1", hour, t0); got != 0 {
		t.Errorf("Count of a key never hit = %d, want 0", got)
	}
	for i, want := range []int64{1, 2, 3} {
		if got := hit(t, ts, "reset:ip:192.0.2.1", hour, t0.Add(time.Duration(i)*time.Minute), 1); got != want {
			t.Errorf("Hit %d = %d, want %d", i, got, want)
		}
	}
	if got := hit(t, ts, "reset:ip:192.0.2.1", hour, t0, 10); got != 13 {
		t.Errorf("Hit with n=10 = %d, want 13", got)
	}
	if got := count(t, ts, "reset:ip:192.0.2.1", hour, t0.Add(-time.Minute)); got != 13 {
		t.Errorf("Count = %d, want 13", got)
	}
	if got := count(t, ts, "reset:ip:192.0.2.2", hour, t0); got != 0 {
		t.Errorf("Count of another key = %d, want 0", got)
	}
}

func testCounterWindows(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	const key = "sms:tenant"
	w := 10 * time.Minute
	start := t0.Truncate(w)
	if got := hit(t, ts, key, w, start, 1); got != 1 {
		t.Errorf("Hit at the window's start = %d, want 1", got)
	}
	if got := hit(t, ts, key, w, start.Add(w-time.Microsecond), 1); got != 2 {
		t.Errorf("Hit at the window's last microsecond = %d, want 2", got)
	}
	if got := hit(t, ts, key, w, start.Add(w), 1); got != 1 {
		t.Errorf("Hit at the next window's start = %d, want 1 (a new window)", got)
	}
	if got := hit(t, ts, key, w, start.Add(5*w+time.Second), 5); got != 5 {
		t.Errorf("Hit five windows later = %d, want 5", got)
	}
	for _, tc := range []struct {
		at   time.Time
		want int64
	}{
		{start.Add(-time.Microsecond), 0}, {start, 2}, {start.Add(w / 2), 2}, {start.Add(w), 1},
		{start.Add(2 * w), 0}, {start.Add(5 * w), 5}, {start.Add(6*w - time.Microsecond), 5},
	} {
		if got := count(t, ts, key, w, tc.at); got != tc.want {
			t.Errorf("Count at %s = %d, want %d", tc.at.Sub(start), got, tc.want)
		}
	}
	// Windows are fixed to the clock, not to the first hit, and the same in
	// any time zone.
	if got := count(t, ts, key, w, start.In(time.FixedZone("UTC+5:45", 5*3600+45*60)).Add(time.Minute)); got != 2 {
		t.Errorf("Count in another zone = %d, want 2", got)
	}
}

func testCounterWindowLengths(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	const key = "signin:user:u1"
	at := t0.Truncate(24 * time.Hour) // the start of a minute, an hour and a day window alike
	for _, w := range []time.Duration{time.Minute, time.Hour, 24 * time.Hour} {
		if got := hit(t, ts, key, w, at, 1); got != 1 {
			t.Errorf("Hit over %s = %d, want 1 (each window length counts on its own)", w, got)
		}
	}
	if got := hit(t, ts, key, time.Hour, at.Add(30*time.Minute), 1); got != 2 {
		t.Errorf("Hit over an hour = %d, want 2", got)
	}
	if got := count(t, ts, key, time.Minute, at); got != 1 {
		t.Errorf("Count over a minute = %d, want 1", got)
	}
}

func testCounterKeys(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	long := strings.Repeat("k", 256)
	keys := []string{long, "ä:€:𝄞", "with space", "with\ttab\nnewline", "'; DELETE FROM counters; --", "%", "_", "K", "k"}
	for i, k := range keys {
		if got := hit(t, ts, k, hour, t0, int64(i+1)); got != int64(i+1) {
			t.Errorf("Hit(%q) = %d, want %d", k, got, i+1)
		}
	}
	for i, k := range keys {
		if got := count(t, ts, k, hour, t0); got != int64(i+1) {
			t.Errorf("Count(%q) = %d, want %d (keys are distinct, compared byte for byte)", k, got, i+1)
		}
	}
	// 256 bytes, not characters.
	multi := strings.Repeat("€", 85) + "k" // 3*85 + 1 = 256 bytes
	if _, err := ts.Hit(ctx(t), multi, hour, t0, 1); err != nil {
		t.Errorf("Hit with a key of 256 bytes: %v", err)
	}
	_, err := ts.Hit(ctx(t), multi+"k", hour, t0, 1)
	wantErr(t, "Hit with a key of 257 bytes", err, store.ErrInvalid)
}

func testCounterInvalid(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	for _, tc := range []struct {
		name   string
		key    string
		window time.Duration
		now    time.Time
		n      int64
	}{
		{"an empty key", "", hour, t0, 1},
		{"a key of 257 bytes", strings.Repeat("k", 257), hour, t0, 1},
		{"a key that is not UTF-8", "ip:\xff\xfe", hour, t0, 1},
		{"a key with a NUL byte", "ip:\x00", hour, t0, 1},
		{"a zero window", "k", 0, t0, 1},
		{"a negative window", "k", -time.Hour, t0, 1},
		{"a zero time", "k", hour, time.Time{}, 1},
		{"n = 0", "k", hour, t0, 0},
		{"a negative n", "k", hour, t0, -5},
	} {
		_, err := ts.Hit(ctx(t), tc.key, tc.window, tc.now, tc.n)
		wantErr(t, "Hit with "+tc.name, err, store.ErrInvalid)
		if tc.n >= 1 {
			_, err = ts.Count(ctx(t), tc.key, tc.window, tc.now)
			wantErr(t, "Count with "+tc.name, err, store.ErrInvalid)
		}
	}
	if got := count(t, ts, "k", hour, t0); got != 0 {
		t.Errorf("a refused Hit counted: %d", got)
	}
	_, err := ts.PurgeCounters(ctx(t), time.Time{})
	wantErr(t, "PurgeCounters at the zero time", err, store.ErrInvalid)
}

func testCounterConcurrent(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	const workers, each = 20, 5
	seen := make([][]int64, workers)
	errs := race(workers, func(i int) error {
		for range each {
			got, err := ts.Hit(ctx(t), "code:flow", hour, t0, 1)
			if err != nil {
				return err
			}
			seen[i] = append(seen[i], got)
		}
		return nil
	})
	for _, err := range errs {
		must(t, "concurrent Hit", err)
	}
	if got := count(t, ts, "code:flow", hour, t0); got != workers*each {
		t.Errorf("Count after %d concurrent hits = %d", workers*each, got)
	}
	// Each hit saw a count of its own: the upsert is atomic.
	all := slices.Concat(seen...)
	slices.Sort(all)
	for i, v := range all {
		if v != int64(i+1) {
			t.Fatalf("the hits returned %v, want each of 1..%d once", all, workers*each)
		}
	}
}

func testCounterPurge(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	_, tsOther := createTenant(t, s)
	w := time.Minute
	start := t0.Truncate(w)
	for i := range 5 { // windows [start+i*w, start+(i+1)*w)
		hit(t, ts, "k", w, start.Add(time.Duration(i)*w), int64(i+1))
	}
	hit(t, tsOther, "k", w, start, 1)

	// The windows ending at start+w and start+2w ended before start+2w+1µs;
	// the one ending exactly at start+3w has not ended before start+3w.
	n, err := ts.PurgeCounters(ctx(t), start.Add(2*w+time.Microsecond))
	must(t, "PurgeCounters", err)
	if n != 2 {
		t.Errorf("PurgeCounters = %d, want 2", n)
	}
	n, err = ts.PurgeCounters(ctx(t), start.Add(3*w))
	must(t, "PurgeCounters at a window's end", err)
	if n != 0 {
		t.Errorf("PurgeCounters at the end of the third window = %d, want 0 (not ended before)", n)
	}
	for i, want := range []int64{0, 0, 3, 4, 5} {
		if got := count(t, ts, "k", w, start.Add(time.Duration(i)*w)); got != want {
			t.Errorf("window %d after the purge = %d, want %d", i, got, want)
		}
	}
	if got := count(t, tsOther, "k", w, start); got != 1 {
		t.Errorf("the purge reached another tenant's counter: %d (R41)", got)
	}
}

func testCounterIsolation(t *testing.T, s store.Store) {
	_, tsA := createTenant(t, s)
	_, tsB := createTenant(t, s)
	hit(t, tsA, "sms:tenant", hour, t0, 7)
	if got := count(t, tsB, "sms:tenant", hour, t0); got != 0 {
		t.Errorf("Count of A's counter through B = %d, want 0 (R41)", got)
	}
	if got := hit(t, tsB, "sms:tenant", hour, t0, 1); got != 1 {
		t.Errorf("Hit of the same key through B = %d, want 1 (R41)", got)
	}
	if n, err := tsB.PurgeCounters(ctx(t), t0.Add(24*time.Hour)); err != nil || n != 1 {
		t.Errorf("PurgeCounters through B = %d, %v; want 1 (B's own)", n, err)
	}
	if got := count(t, tsA, "sms:tenant", hour, t0); got != 7 {
		t.Errorf("A's counter after B's hit and purge = %d, want 7", got)
	}
	// A tenant that does not exist cannot count.
	ghost := s.Tenant(tenants.ID("00000000-0000-4000-8000-000000000000"))
	_, err := ghost.Hit(ctx(t), "k", hour, t0, 1)
	wantErr(t, "Hit for a tenant that does not exist", err, store.ErrNotFound)
	if got, err := ghost.Count(ctx(t), "sms:tenant", hour, t0); err != nil || got != 0 {
		t.Errorf("Count for a tenant that does not exist = %d, %v; want 0", got, err)
	}
}
