package tenants

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSource is a ResolverSource over maps that counts calls. gate, when set,
// blocks every ResolveHost until it is closed (after signalling entered).
type fakeSource struct {
	mu      sync.Mutex
	hosts   map[string]ID
	tenants map[ID]Tenant
	outage  error

	hostCalls   atomic.Int64
	tenantCalls atomic.Int64
	gate        chan struct{}
	entered     chan string
	running     atomic.Int64
	maxRunning  atomic.Int64
}

func newFakeSource() *fakeSource {
	return &fakeSource{
		hosts: map[string]ID{"acme.example.com": "t-acme", "passwords.acme.com": "t-acme", "globex.example.com": "t-globex"},
		tenants: map[ID]Tenant{
			"t-acme":   {ID: "t-acme", Slug: "acme", Name: "Acme", Branding: Branding{Logo: []byte("png")}, Policy: DefaultPolicy()},
			"t-globex": {ID: "t-globex", Slug: "globex", Name: "Globex", Policy: DefaultPolicy()},
		},
	}
}

func (s *fakeSource) ResolveHost(ctx context.Context, host string) (ID, error) {
	s.hostCalls.Add(1)
	n := s.running.Add(1)
	defer s.running.Add(-1)
	for {
		m := s.maxRunning.Load()
		if n <= m || s.maxRunning.CompareAndSwap(m, n) {
			break
		}
	}
	if s.entered != nil {
		s.entered <- host
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outage != nil {
		return "", s.outage
	}
	id, ok := s.hosts[host]
	if !ok {
		return "", fmt.Errorf("fake: host %q: %w", host, ErrUnknownHost)
	}
	return id, nil
}

func (s *fakeSource) Tenant(ctx context.Context, id ID) (Tenant, error) {
	s.tenantCalls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[id]
	if !ok {
		return Tenant{}, fmt.Errorf("fake: tenant %q: %w", id, ErrUnknownHost)
	}
	return t, nil
}

func (s *fakeSource) set(fn func(s *fakeSource)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestResolver(src *fakeSource, opts ResolverOptions) (*Resolver, *fakeClock) {
	clk := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	opts.Now = clk.Now
	return NewResolver(src, opts), clk
}

func mustResolve(t *testing.T, r *Resolver, host string) *Tenant {
	t.Helper()
	tn, err := r.Resolve(context.Background(), host)
	if err != nil {
		t.Fatalf("Resolve(%q): %v", host, err)
	}
	return tn
}

func TestResolverHitMissExpiry(t *testing.T) {
	src := newFakeSource()
	r, clk := newTestResolver(src, ResolverOptions{})

	if tn := mustResolve(t, r, "ACME.example.com:443"); tn.ID != "t-acme" {
		t.Fatalf("got tenant %q", tn.ID)
	}
	if got := src.hostCalls.Load(); got != 1 {
		t.Fatalf("source calls after a miss = %d, want 1", got)
	}
	clk.Advance(29 * time.Second)
	mustResolve(t, r, "acme.example.com.")
	if got := src.hostCalls.Load(); got != 1 {
		t.Fatalf("a fresh entry went to the source: %d calls", got)
	}
	clk.Advance(time.Second) // now exactly TTL (30s default) after the lookup
	mustResolve(t, r, "acme.example.com")
	if got := src.hostCalls.Load(); got != 2 {
		t.Fatalf("an expired entry was served from cache: %d calls", got)
	}
	// Another host of the same tenant is its own cache entry.
	mustResolve(t, r, "passwords.acme.com")
	if got := src.hostCalls.Load(); got != 3 {
		t.Fatalf("calls = %d, want 3", got)
	}
}

func TestResolverReturnsCopies(t *testing.T) {
	src := newFakeSource()
	r, _ := newTestResolver(src, ResolverOptions{})
	a := mustResolve(t, r, "acme.example.com")
	a.Name = "Mallory"
	a.Branding.Logo[0] = 'X'
	a.Policy.Password.MinLength = 1
	a.Policy.Actions[ActionReset].Channels[ChannelWeb].Allowed[0] = "nothing"
	*a.Policy.SMSEnabled = false

	b := mustResolve(t, r, "acme.example.com")
	if b == a {
		t.Fatal("same pointer returned twice")
	}
	if b.Name != "Acme" || string(b.Branding.Logo) != "png" || b.Policy.Password.MinLength != 12 ||
		b.Policy.Actions[ActionReset].Channels[ChannelWeb].Allowed[0] != FactorEmail || !*b.Policy.SMSEnabled {
		t.Fatalf("caller mutated the cache: %+v", b)
	}
	// Nor does the cache alias what the source handed out.
	if src.tenants["t-acme"].Branding.Logo[0] != 'p' {
		t.Fatal("source's tenant was mutated")
	}
}

func TestResolverUnknownHostIsNegativelyCached(t *testing.T) {
	src := newFakeSource()
	r, clk := newTestResolver(src, ResolverOptions{NegativeTTL: 5 * time.Second})
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if _, err := r.Resolve(ctx, "nobody.example.com"); !errors.Is(err, ErrUnknownHost) {
			t.Fatalf("err = %v, want ErrUnknownHost", err)
		}
	}
	if got := src.hostCalls.Load(); got != 1 {
		t.Fatalf("unknown host looked up %d times, want 1", got)
	}
	// The host gets added; the negative entry still holds until NegativeTTL.
	src.set(func(s *fakeSource) { s.hosts["nobody.example.com"] = "t-globex" })
	clk.Advance(4 * time.Second)
	if _, err := r.Resolve(ctx, "nobody.example.com"); !errors.Is(err, ErrUnknownHost) {
		t.Fatalf("err = %v, want cached ErrUnknownHost", err)
	}
	clk.Advance(time.Second)
	if tn := mustResolve(t, r, "nobody.example.com"); tn.ID != "t-globex" {
		t.Fatalf("got %q after negative expiry", tn.ID)
	}
	if got := src.hostCalls.Load(); got != 2 {
		t.Fatalf("calls = %d, want 2", got)
	}
}

func TestResolverHostOfDeletedTenantIsUnknown(t *testing.T) {
	src := newFakeSource()
	src.hosts["orphan.example.com"] = "t-gone"
	r, _ := newTestResolver(src, ResolverOptions{})
	for i := 0; i < 3; i++ {
		if _, err := r.Resolve(context.Background(), "orphan.example.com"); !errors.Is(err, ErrUnknownHost) {
			t.Fatalf("err = %v", err)
		}
	}
	if got := src.tenantCalls.Load(); got != 1 {
		t.Fatalf("tenant calls = %d, want 1 (negatively cached)", got)
	}
}

func TestResolverInvalidHostNeverReachesSource(t *testing.T) {
	src := newFakeSource()
	r, _ := newTestResolver(src, ResolverOptions{})
	for _, h := range []string{"", "evil.com/acme.example.com", "a..b", "user@acme.example.com", "acme.example.com\r\n"} {
		_, err := r.Resolve(context.Background(), h)
		if !errors.Is(err, ErrUnknownHost) || !errors.Is(err, ErrInvalidHost) {
			t.Errorf("Resolve(%q) err = %v, want ErrUnknownHost and ErrInvalidHost", h, err)
		}
	}
	if got := src.hostCalls.Load(); got != 0 {
		t.Fatalf("source called %d times for invalid hosts", got)
	}
}

func TestResolverOutageIsNotCached(t *testing.T) {
	src := newFakeSource()
	outage := errors.New("connection refused")
	src.outage = outage
	r, _ := newTestResolver(src, ResolverOptions{})
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		_, err := r.Resolve(ctx, "acme.example.com")
		if !errors.Is(err, outage) || errors.Is(err, ErrUnknownHost) {
			t.Fatalf("err = %v, want the outage and not ErrUnknownHost", err)
		}
	}
	if got := src.hostCalls.Load(); got != 2 {
		t.Fatalf("outage was cached: %d calls, want 2", got)
	}
	src.set(func(s *fakeSource) { s.outage = nil })
	if tn := mustResolve(t, r, "acme.example.com"); tn.ID != "t-acme" {
		t.Fatalf("got %q after recovery", tn.ID)
	}
}

func TestResolverInvalidate(t *testing.T) {
	src := newFakeSource()
	r, _ := newTestResolver(src, ResolverOptions{})
	mustResolve(t, r, "acme.example.com")
	mustResolve(t, r, "passwords.acme.com")
	mustResolve(t, r, "globex.example.com")
	if got := src.hostCalls.Load(); got != 3 {
		t.Fatalf("calls = %d", got)
	}

	src.set(func(s *fakeSource) {
		tn := s.tenants["t-acme"]
		tn.Name = "Acme Renamed"
		s.tenants["t-acme"] = tn
	})
	r.Invalidate("t-acme")
	if tn := mustResolve(t, r, "acme.example.com"); tn.Name != "Acme Renamed" {
		t.Fatalf("stale tenant after Invalidate: %q", tn.Name)
	}
	if tn := mustResolve(t, r, "passwords.acme.com"); tn.Name != "Acme Renamed" {
		t.Fatalf("second host of the tenant not invalidated: %q", tn.Name)
	}
	mustResolve(t, r, "globex.example.com")
	if got := src.hostCalls.Load(); got != 5 {
		t.Fatalf("calls = %d, want 5 (other tenant untouched)", got)
	}

	// InvalidateHost drops one host, known or unknown, in any spelling.
	src.set(func(s *fakeSource) { delete(s.hosts, "passwords.acme.com") })
	r.InvalidateHost("Passwords.ACME.com:443")
	if _, err := r.Resolve(context.Background(), "passwords.acme.com"); !errors.Is(err, ErrUnknownHost) {
		t.Fatalf("removed host still resolves: %v", err)
	}
	src.set(func(s *fakeSource) { s.hosts["passwords.acme.com"] = "t-acme" })
	r.InvalidateHost("passwords.acme.com")
	mustResolve(t, r, "passwords.acme.com")
	r.InvalidateHost("not a host") // harmless
}

// TestResolverInvalidateDuringLookup: a lookup that was running when the
// tenant changed must not put its stale result into the cache.
func TestResolverInvalidateDuringLookup(t *testing.T) {
	src := newFakeSource()
	src.gate = make(chan struct{})
	src.entered = make(chan string, 1)
	r, _ := newTestResolver(src, ResolverOptions{})
	done := make(chan error)
	go func() {
		_, err := r.Resolve(context.Background(), "acme.example.com")
		done <- err
	}()
	<-src.entered
	r.Invalidate("t-acme")
	close(src.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	src.gate, src.entered = nil, nil
	mustResolve(t, r, "acme.example.com")
	if got := src.hostCalls.Load(); got != 2 {
		t.Fatalf("result of a lookup overtaken by Invalidate was cached (%d calls)", got)
	}
}

func TestResolverCollapsesConcurrentMisses(t *testing.T) {
	src := newFakeSource()
	src.gate = make(chan struct{})
	src.entered = make(chan string, 1)
	r, _ := newTestResolver(src, ResolverOptions{})

	const n = 50
	var wg sync.WaitGroup
	results := make(chan *Tenant, n)
	errs := make(chan error, n)
	start := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tn, err := r.Resolve(context.Background(), "acme.example.com")
			if err != nil {
				errs <- err
				return
			}
			results <- tn
		}()
	}
	start()
	<-src.entered // the first caller is inside the source
	for i := 1; i < n; i++ {
		start()
	}
	// Wait until every other caller waits on the in-flight lookup.
	eventually(t, func() bool { return waiters(r, "acme.example.com") == n-1 })
	close(src.gate)
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[*Tenant]bool{}
	for tn := range results {
		if tn.ID != "t-acme" {
			t.Fatalf("got %q", tn.ID)
		}
		if seen[tn] {
			t.Fatal("two callers share one *Tenant")
		}
		seen[tn] = true
	}
	if len(seen) != n {
		t.Fatalf("%d results, want %d", len(seen), n)
	}
	if got := src.hostCalls.Load(); got != 1 {
		t.Fatalf("concurrent misses made %d source calls, want 1", got)
	}
}

// waiters returns how many callers wait on the in-flight lookup of host.
func waiters(r *Resolver, host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.inflight[host]; c != nil {
		return c.waiters
	}
	return -1
}

// eventually yields until cond holds; it counts attempts instead of timing
// anything and fails after a generous number of them.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 50_000_000; i++ {
		if cond() {
			return
		}
		runtime.Gosched()
	}
	t.Fatal("condition never held")
}

func TestResolverWaiterHonoursItsContext(t *testing.T) {
	src := newFakeSource()
	src.gate = make(chan struct{})
	src.entered = make(chan string, 1)
	r, _ := newTestResolver(src, ResolverOptions{})
	go func() { _, _ = r.Resolve(context.Background(), "acme.example.com") }()
	<-src.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Resolve(ctx, "acme.example.com"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	close(src.gate)
}

// TestResolverLeaderCancelled: when the caller doing the lookup gives up, the
// callers waiting on it retry instead of failing with its error.
func TestResolverLeaderCancelled(t *testing.T) {
	src := newFakeSource()
	src.gate = make(chan struct{})
	src.entered = make(chan string, 2)
	r, _ := newTestResolver(src, ResolverOptions{})
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leaderErr := make(chan error)
	go func() {
		_, err := r.Resolve(leaderCtx, "acme.example.com")
		leaderErr <- err
	}()
	<-src.entered
	follower := make(chan error)
	go func() {
		_, err := r.Resolve(context.Background(), "acme.example.com")
		follower <- err
	}()
	eventually(t, func() bool { return waiters(r, "acme.example.com") == 1 })
	cancelLeader()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader err = %v", err)
	}
	<-src.entered // the follower (or, if it came late, it) does its own lookup
	close(src.gate)
	if err := <-follower; err != nil {
		t.Fatalf("follower failed with the leader's cancellation: %v", err)
	}
}

func TestResolverBoundsConcurrentLookups(t *testing.T) {
	src := newFakeSource()
	src.gate = make(chan struct{})
	src.entered = make(chan string, 100)
	r, _ := newTestResolver(src, ResolverOptions{MaxConcurrentLookups: 3})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = r.Resolve(context.Background(), fmt.Sprintf("random%d.example.com", i))
		}()
	}
	for i := 0; i < 3; i++ {
		<-src.entered
	}
	eventually(t, func() bool { return r.slotWaiters.Load() == 17 })
	if got := src.running.Load(); got != 3 {
		t.Fatalf("%d lookups running, want 3", got)
	}
	close(src.gate)
	wg.Wait()
	if got := src.maxRunning.Load(); got > 3 {
		t.Fatalf("%d lookups ran at once, limit 3", got)
	}
	if got := src.hostCalls.Load(); got != 20 {
		t.Fatalf("calls = %d, want 20", got)
	}
}

func TestResolverBoundedSize(t *testing.T) {
	src := newFakeSource()
	for i := 0; i < 10; i++ {
		src.hosts[fmt.Sprintf("h%d.example.com", i)] = "t-acme"
	}
	r, _ := newTestResolver(src, ResolverOptions{MaxEntries: 4})
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		mustResolve(t, r, fmt.Sprintf("h%d.example.com", i))
	}
	// A flood of unknown hosts: bounded too, and it does not evict known ones.
	for i := 0; i < 100; i++ {
		_, _ = r.Resolve(ctx, fmt.Sprintf("junk%d.example.com", i))
	}
	r.mu.Lock()
	known, unknown, indexed := r.known.len(), r.unknown.len(), len(r.byTenant["t-acme"])
	r.mu.Unlock()
	if known != 4 || unknown != 4 || indexed != 4 {
		t.Fatalf("known=%d unknown=%d indexed=%d, want 4 each", known, unknown, indexed)
	}
	calls := src.hostCalls.Load()
	// The four most recent known hosts are still cached; the oldest are not.
	for i := 6; i < 10; i++ {
		mustResolve(t, r, fmt.Sprintf("h%d.example.com", i))
	}
	if got := src.hostCalls.Load(); got != calls {
		t.Fatalf("recent hosts were evicted by unknown ones (%d extra calls)", got-calls)
	}
	mustResolve(t, r, "h0.example.com")
	if got := src.hostCalls.Load(); got != calls+1 {
		t.Fatal("oldest host was not evicted")
	}
	r.Invalidate("t-acme")
	r.mu.Lock()
	known, indexed = r.known.len(), len(r.byTenant)
	r.mu.Unlock()
	if known != 0 || indexed != 0 {
		t.Fatalf("after Invalidate known=%d index=%d", known, indexed)
	}
}

func TestResolverDefaults(t *testing.T) {
	r := NewResolver(newFakeSource(), ResolverOptions{})
	if r.opts.TTL != 30*time.Second || r.opts.NegativeTTL != 5*time.Second || r.opts.MaxEntries != 10000 || r.opts.Now == nil {
		t.Fatalf("defaults: %+v", r.opts)
	}
}

func TestTenantCloneNil(t *testing.T) {
	var tn *Tenant
	if tn.Clone() != nil {
		t.Fatal("Clone of nil")
	}
}

func BenchmarkResolveHit(b *testing.B) {
	src := newFakeSource()
	r := NewResolver(src, ResolverOptions{})
	ctx := context.Background()
	if _, err := r.Resolve(ctx, "acme.example.com"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve(ctx, "acme.example.com"); err != nil {
			b.Fatal(err)
		}
	}
}
