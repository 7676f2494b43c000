package questions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// cheap are small parameters for tests that do not measure cost.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// TestHashFormat_R27: answers are hashed with Argon2id into a PHC string
// with the OWASP parameters by default, and that string verifies the
// normalised answer only.
func TestHashFormat_R27(t *testing.T) {
	h := NewHasher(Params{}, 0)
	if h.Params() != DefaultParams {
		t.Fatalf("zero Params gave %+v", h.Params())
	}
	phc, err := h.Hash(t.Context(), "  Mr.  Whiskers! ")
	if err != nil {
		t.Fatal(err)
	}
	prefix := "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(phc, prefix) {
		t.Fatalf("phc %q lacks %q", phc, prefix)
	}
	salt, key, _ := strings.Cut(strings.TrimPrefix(phc, prefix), "$")
	if len(salt) != 22 || len(key) != 43 || strings.ContainsAny(salt+key, "=-_") {
		t.Fatalf("phc %q: want 16-byte salt and 32-byte key in unpadded std base64", phc)
	}
	if strings.Contains(strings.ToLower(phc), "whiskers") {
		t.Fatal("phc contains the answer")
	}
	for answer, want := range map[string]bool{
		"mr. whiskers":   true,
		"MR. WHISKERS":   true, // lower-cased before hashing (R27)
		"Mr. Whiskers?!": true,
		"mr whiskers":    false,
		"":               false,
	} {
		ok, err := h.Verify(t.Context(), phc, answer)
		if err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", answer, ok, err, want)
		}
	}
}

// TestHashMatchesRawArgon2id: the PHC key is exactly argon2.IDKey of the
// normalised answer, salt and params (interoperable with other PHC readers).
func TestHashMatchesRawArgon2id(t *testing.T) {
	salt := bytes.Repeat([]byte{7}, 16)
	h := NewHasher(cheap, 1)
	h.Rand = bytes.NewReader(salt)
	phc, err := h.Hash(t.Context(), "Rex")
	if err != nil {
		t.Fatal(err)
	}
	key := argon2.IDKey([]byte("rex"), salt, 1, 64, 1, 32)
	want := formatPHC(cheap, salt, key)
	if phc != want || !strings.HasPrefix(want, "$argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$") {
		t.Fatalf("phc = %q, want %q", phc, want)
	}
}

func TestSaltsDiffer(t *testing.T) {
	h := NewHasher(cheap, 1)
	a, err := h.Hash(t.Context(), "rex")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(t.Context(), "rex")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two hashes of one answer are equal: salt not random")
	}
}

func TestVerifyUsesStoredParams(t *testing.T) {
	old := NewHasher(cheap, 1)
	phc, err := old.Hash(t.Context(), "rex")
	if err != nil {
		t.Fatal(err)
	}
	cur := NewHasher(Params{Memory: 128, Time: 2, Threads: 2, KeyLen: 32, SaltLen: 16}, 1)
	if ok, err := cur.Verify(t.Context(), phc, "rex"); !ok || err != nil {
		t.Fatalf("hash with old params: %v, %v", ok, err)
	}
	if !cur.NeedsRehash(phc) || old.NeedsRehash(phc) || !cur.NeedsRehash("junk") {
		t.Fatal("NeedsRehash wrong")
	}
}

func TestInvalidParams(t *testing.T) {
	for _, p := range []Params{
		{Memory: 7, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16},
		{Memory: MaxMemory + 1, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16},
		{Memory: 64, Time: 0, Threads: 1, KeyLen: 32, SaltLen: 16},
		{Memory: 64, Time: 17, Threads: 1, KeyLen: 32, SaltLen: 16},
		{Memory: 64, Time: 1, Threads: 0, KeyLen: 32, SaltLen: 16},
		{Memory: 64, Time: 1, Threads: 1, KeyLen: 8, SaltLen: 16},
		{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 4},
	} {
		h := NewHasher(p, 1)
		if _, err := h.Hash(t.Context(), "rex"); err == nil {
			t.Errorf("%+v: Hash worked", p)
		}
		if _, err := h.VerifyUnknown(t.Context(), "rex"); err == nil {
			t.Errorf("%+v: VerifyUnknown worked", p)
		}
	}
}

// TestParsePHCRejects: malformed or absurd hash strings are errors, never a
// panic or a gigabyte allocation.
func TestParsePHCRejects(t *testing.T) {
	good := "$argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43)
	if _, _, _, err := parsePHC(good); err != nil {
		t.Fatalf("good phc: %v", err)
	}
	for _, s := range []string{
		"",
		"argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43),
		strings.Replace(good, "argon2id", "argon2i", 1),
		strings.Replace(good, "v=19", "v=16", 1),
		strings.Replace(good, "m=64,t=1,p=1", "t=1,m=64,p=1", 1),
		strings.Replace(good, "m=64", "m=064", 1),
		strings.Replace(good, "m=64", "m=+64", 1),
		strings.Replace(good, "m=64", "m=1048577", 1), // > 1 GiB
		strings.Replace(good, "m=64", "m=4294967296", 1),
		strings.Replace(good, "m=64", "m=7", 1),
		strings.Replace(good, "t=1", "t=17", 1),
		strings.Replace(good, "t=1", "t=0", 1),
		strings.Replace(good, "p=1", "p=17", 1),
		strings.Replace(good, "p=1", "p=256", 1), // would wrap to 0 in a uint8
		strings.Replace(good, "p=1", "p=0", 1),
		strings.Replace(good, "m=64,t=1,p=1", "m=64,t=1,p=1,k=1", 1),
		strings.Replace(good, "BwcHBwcHBwcHBwcHBwcHBw", "BwcH", 1),     // 3-byte salt
		strings.Replace(good, "BwcHBwcHBwcHBwcHBwcHBw", "BwcHBw==", 1), // padded
		strings.Replace(good, "BwcHBwcHBwcHBwcHBwcHBw", "Bw-_Bw", 1),   // url alphabet
		strings.Replace(good, "BwcHBwcHBwcHBwcHBwcHBw", "BwcHBwcH\r\nBwcHBwcHBwcHBw", 1),
		strings.Replace(good, "BwcHBwcHBwcHBwcHBwcHBw", "BwcHBwcHBwcHBwcHBwcHBx", 1), // non-zero padding bits
		good + "$",
		good[:len(good)-40], // 2-byte key
		"$argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 300),
	} {
		if _, _, _, err := parsePHC(s); !errors.Is(err, ErrBadPHC) {
			t.Errorf("parsePHC(%q) err = %v", s, err)
		}
		if ok, err := NewHasher(cheap, 1).Verify(t.Context(), s, "rex"); ok || !errors.Is(err, ErrBadPHC) {
			t.Errorf("Verify(%q) = %v, %v", s, ok, err)
		}
	}
}

// TestBusyWhenContextEnds_B1: with every slot taken, a caller whose
// context ends while waiting gets ErrBusy (the page answers 503) instead of
// queueing without bound; a free slot lets the next caller in.
func TestBusyWhenContextEnds_B1(t *testing.T) {
	h := NewHasher(cheap, 1)
	h.sem <- struct{}{} // the one slot is taken
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := h.Verify(ctx, formatPHC(cheap, make([]byte, 16), make([]byte, 32)), "rex")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Verify returned while no slot was free: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	if err := <-done; !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrBusy wrapping context.Canceled", err)
	}
	// An already-ended context never takes a slot, even a free one.
	<-h.sem
	if _, err := h.Hash(ctx, "rex"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash with ended ctx: %v", err)
	}
	if _, err := h.VerifyUnknown(ctx, "rex"); !errors.Is(err, ErrBusy) {
		t.Fatalf("VerifyUnknown with ended ctx: %v", err)
	}
	if _, err := h.Hash(t.Context(), "rex"); err != nil {
		t.Fatalf("Hash with a free slot: %v", err)
	}
}

// TestConcurrencyBound_B1: no more than concurrency hashes run at once;
// the others wait for a slot and all finish once slots free up.
func TestConcurrencyBound_B1(t *testing.T) {
	const limit, callers = 2, 6
	h := NewHasher(cheap, limit)
	var mu sync.Mutex
	running, peak := 0, 0
	entered := make(chan struct{}, callers)
	release := make(chan struct{})
	h.inSlot = func() {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		entered <- struct{}{}
		<-release
		mu.Lock()
		running--
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			if _, err := h.Hash(t.Context(), "rex"); err != nil {
				t.Error(err)
			}
		})
	}
	for range limit {
		<-entered
	}
	// Give the other callers every chance to get in (they must not).
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	got := running
	mu.Unlock()
	if got != limit {
		t.Fatalf("%d hashes running with %d slots", got, limit)
	}
	close(release)
	wg.Wait()
	if peak != limit || len(entered) != callers-limit {
		t.Fatalf("peak %d (want %d), %d later entries (want %d)", peak, limit, len(entered), callers-limit)
	}
	if cap(NewHasher(cheap, 0).sem) != runtime.GOMAXPROCS(0) {
		t.Fatal("default concurrency is not GOMAXPROCS")
	}
}

func TestVerifyUnknownIsFalse_R1(t *testing.T) {
	h := NewHasher(cheap, 1)
	if ok, err := h.VerifyUnknown(t.Context(), "rex"); ok || err != nil {
		t.Fatalf("VerifyUnknown = %v, %v", ok, err)
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add(formatPHC(DefaultParams, make([]byte, 16), make([]byte, 32)))
	f.Add("$argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$" + strings.Repeat("A", 43))
	f.Add("$argon2id$v=19$m=1048577,t=1,p=1$$")
	f.Add("$argon2i$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrBadPHC) {
				t.Fatalf("error %v is not ErrBadPHC", err)
			}
			return
		}
		if p.Validate() != nil || int(p.SaltLen) != len(salt) || int(p.KeyLen) != len(key) {
			t.Fatalf("accepted %q with %+v", s, p)
		}
		// What we accept is canonical: it formats back to the same string.
		if got := formatPHC(p, salt, key); got != s {
			t.Fatalf("accepted non-canonical %q (canonical %q)", s, got)
		}
	})
}

func ExampleHasher() {
	h := NewHasher(DefaultParams, 0)
	phc, err := h.Hash(context.Background(), "Mr. Whiskers")
	if err != nil {
		panic(err)
	}
	ok, err := h.Verify(context.Background(), phc, "  mr. whiskers ")
	fmt.Println(ok, err)
	// Output: true <nil>
}

// BenchmarkB1Verify is one Verify with the OWASP parameters, semaphore and
// PHC parsing included; compare with BenchmarkB1RawIDKey for the overhead.
func BenchmarkB1Verify(b *testing.B) {
	h := NewHasher(DefaultParams, 0)
	phc, err := h.Hash(b.Context(), "mr. whiskers")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := h.Verify(context.Background(), phc, "mr. whiskers"); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}

// BenchmarkB1RawIDKey is the baseline: argon2.IDKey with the same params
// and the same parallelism (GOMAXPROCS goroutines).
func BenchmarkB1RawIDKey(b *testing.B) {
	p := DefaultParams
	salt := make([]byte, p.SaltLen)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			argon2.IDKey([]byte("mr. whiskers"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
	})
}
