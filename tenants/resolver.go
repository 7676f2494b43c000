package tenants

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrUnknownHost means no tenant owns the host (or the host is not a valid
// host at all). Callers answer 404/421 and do nothing else (security.md R9, R38).
var ErrUnknownHost = errors.New("unknown host")

// ResolverSource is where a Resolver looks hosts and tenants up, usually the
// store. Both methods return an error wrapping ErrUnknownHost when there is no
// such host or tenant; any other error is an outage, which the Resolver passes
// on and never caches.
type ResolverSource interface {
	ResolveHost(ctx context.Context, host string) (ID, error)
	Tenant(ctx context.Context, id ID) (Tenant, error)
}

// ResolverOptions tune a Resolver. Zero fields take the defaults.
type ResolverOptions struct {
	// TTL is how long a resolved tenant is served from the cache (default 30s).
	TTL time.Duration
	// NegativeTTL is how long an unknown host is remembered (default 5s).
	NegativeTTL time.Duration
	// MaxEntries bounds the cache of known hosts and, separately, the cache of
	// unknown hosts, so a flood of made-up Host headers can neither grow memory
	// nor push real tenants out (default 10000 each).
	MaxEntries int
	// MaxConcurrentLookups bounds how many source lookups run at once, so
	// cache misses (e.g. random Host headers) cannot take every database
	// connection (default 8). Further misses wait for a slot or their ctx.
	MaxConcurrentLookups int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Resolver maps a request's host to its tenant, with a small cache in front
// of the source: fresh entries are served from memory, concurrent misses for
// the same host share one source call, and unknown hosts are remembered
// briefly. It is safe for concurrent use.
type Resolver struct {
	src  ResolverSource
	opts ResolverOptions
	sem  chan struct{}
	// slotWaiters counts lookups waiting for a free slot of sem.
	slotWaiters atomic.Int64

	mu       sync.Mutex
	known    lru // host → *Tenant
	unknown  lru // host → nil
	byTenant map[ID]map[string]struct{}
	inflight map[string]*lookupCall
	// gen changes on every invalidation; a lookup that started before one
	// does not put its (possibly stale) result into the cache.
	gen uint64
}

// NewResolver returns a Resolver over src (which must not be nil).
func NewResolver(src ResolverSource, opts ResolverOptions) *Resolver {
	if opts.TTL <= 0 {
		opts.TTL = 30 * time.Second
	}
	if opts.NegativeTTL <= 0 {
		opts.NegativeTTL = 5 * time.Second
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10000
	}
	if opts.MaxConcurrentLookups <= 0 {
		opts.MaxConcurrentLookups = 8
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Resolver{
		src:      src,
		opts:     opts,
		sem:      make(chan struct{}, opts.MaxConcurrentLookups),
		known:    newLRU(opts.MaxEntries),
		unknown:  newLRU(opts.MaxEntries),
		byTenant: map[ID]map[string]struct{}{},
		inflight: map[string]*lookupCall{},
	}
}

// lookupCall is one source lookup that concurrent callers wait on.
type lookupCall struct {
	done    chan struct{}
	t       *Tenant
	err     error
	waiters int // callers waiting on done; guarded by Resolver.mu
}

// Resolve returns the tenant that owns host (a raw Host header value). An
// invalid or unknown host gives an error wrapping ErrUnknownHost; a source
// outage gives its error (wrapped). The returned tenant is the caller's own
// copy: changing it does not change the cache.
func (r *Resolver) Resolve(ctx context.Context, host string) (*Tenant, error) {
	h, err := NormalizeHost(host)
	if err != nil {
		return nil, fmt.Errorf("resolve host: %w: %w", ErrUnknownHost, err)
	}
	for {
		r.mu.Lock()
		now := r.opts.Now()
		if e := r.known.get(h); e != nil {
			if now.Before(e.expires) {
				t := e.tenant.Clone()
				r.mu.Unlock()
				return t, nil
			}
			r.dropKnown(h)
		}
		if e := r.unknown.get(h); e != nil {
			if now.Before(e.expires) {
				r.mu.Unlock()
				return nil, fmt.Errorf("resolve host %q: %w", h, ErrUnknownHost)
			}
			r.unknown.remove(h)
		}
		if c := r.inflight[h]; c != nil {
			c.waiters++
			r.mu.Unlock()
			select {
			case <-c.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("resolve host %q: %w", h, ctx.Err())
			}
			if isContextError(c.err) && ctx.Err() == nil {
				continue // the caller that did the lookup gave up; try again
			}
			return c.t.Clone(), c.err
		}
		c := &lookupCall{done: make(chan struct{})}
		r.inflight[h] = c
		gen := r.gen
		r.mu.Unlock()

		r.lead(ctx, h, c, gen)
		return c.t.Clone(), c.err
	}
}

// lead does the source lookup for c and publishes the result, also if the
// source panics.
func (r *Resolver) lead(ctx context.Context, h string, c *lookupCall, gen uint64) {
	c.err = errors.New("resolve host: lookup did not finish") // replaced unless the source panics
	defer func() {
		r.mu.Lock()
		delete(r.inflight, h)
		if gen == r.gen {
			now := r.opts.Now()
			switch {
			case c.err == nil:
				r.storeKnown(h, c.t, now.Add(r.opts.TTL))
			case errors.Is(c.err, ErrUnknownHost):
				r.unknown.put(h, nil, now.Add(r.opts.NegativeTTL))
				// anything else is an outage or a cancelled caller: never cached
			}
		}
		close(c.done)
		r.mu.Unlock()
	}()
	c.t, c.err = r.lookup(ctx, h)
}

// lookup asks the source, holding one of the concurrent-lookup slots.
func (r *Resolver) lookup(ctx context.Context, h string) (*Tenant, error) {
	r.slotWaiters.Add(1)
	select {
	case r.sem <- struct{}{}:
		r.slotWaiters.Add(-1)
		defer func() { <-r.sem }()
	case <-ctx.Done():
		r.slotWaiters.Add(-1)
		return nil, fmt.Errorf("resolve host %q: %w", h, ctx.Err())
	}
	id, err := r.src.ResolveHost(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("resolve host %q: %w", h, err)
	}
	t, err := r.src.Tenant(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("resolve host %q: load tenant %s: %w", h, id, err)
	}
	return t.Clone(), nil
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Invalidate drops every cached host of tenant id (call it after the tenant or
// its hosts change). Lookups already running are not cached.
func (r *Resolver) Invalidate(id ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	for h := range r.byTenant[id] {
		r.dropKnown(h)
	}
}

// InvalidateHost forgets one host, known or unknown (call it after adding or
// removing a host). Lookups already running are not cached.
func (r *Resolver) InvalidateHost(host string) {
	h, err := NormalizeHost(host)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	if err != nil {
		return
	}
	r.dropKnown(h)
	r.unknown.remove(h)
}

// storeKnown caches t for h, evicting the least recently used host when full.
func (r *Resolver) storeKnown(h string, t *Tenant, expires time.Time) {
	r.dropKnown(h)
	if evicted, ok := r.known.put(h, t, expires); ok {
		r.unindex(evicted.host, evicted.tenant.ID)
	}
	hosts := r.byTenant[t.ID]
	if hosts == nil {
		hosts = map[string]struct{}{}
		r.byTenant[t.ID] = hosts
	}
	hosts[h] = struct{}{}
}

func (r *Resolver) dropKnown(h string) {
	if e := r.known.remove(h); e != nil {
		r.unindex(h, e.tenant.ID)
	}
}

func (r *Resolver) unindex(h string, id ID) {
	if hosts := r.byTenant[id]; hosts != nil {
		delete(hosts, h)
		if len(hosts) == 0 {
			delete(r.byTenant, id)
		}
	}
}

// Clone returns a deep copy of t: nothing in the copy (logo, policy maps and
// pointers) aliases t. Clone of nil is nil.
func (t *Tenant) Clone() *Tenant {
	if t == nil {
		return nil
	}
	out := *t
	out.Branding.Logo = bytes.Clone(t.Branding.Logo)
	out.Policy = t.Policy.Clone()
	return &out
}

// lru is a size-bounded map with least-recently-used eviction. It is not
// safe for concurrent use; the Resolver's mutex guards it.
type lru struct {
	max   int
	order *list.List // front = most recently used; values are *lruEntry
	items map[string]*list.Element
}

type lruEntry struct {
	host    string
	tenant  *Tenant
	expires time.Time
}

func newLRU(max int) lru {
	return lru{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *lru) len() int { return len(c.items) }

func (c *lru) get(h string) *lruEntry {
	el := c.items[h]
	if el == nil {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry)
}

// put stores an entry and returns the one it evicted, if any.
func (c *lru) put(h string, t *Tenant, expires time.Time) (lruEntry, bool) {
	if el := c.items[h]; el != nil {
		e := el.Value.(*lruEntry)
		e.tenant, e.expires = t, expires
		c.order.MoveToFront(el)
		return lruEntry{}, false
	}
	c.items[h] = c.order.PushFront(&lruEntry{host: h, tenant: t, expires: expires})
	if len(c.items) <= c.max {
		return lruEntry{}, false
	}
	oldest := c.order.Back()
	e := c.order.Remove(oldest).(*lruEntry)
	delete(c.items, e.host)
	return *e, true
}

func (c *lru) remove(h string) *lruEntry {
	el := c.items[h]
	if el == nil {
		return nil
	}
	delete(c.items, h)
	return c.order.Remove(el).(*lruEntry)
}
