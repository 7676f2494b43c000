package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

var hostTests = []subTest{
	{"add, list and resolve", testHostAdd},
	{"primary host becomes canonical and clears other primaries", testHostPrimary},
	{"duplicate host already exists, even across tenants", testHostDuplicate},
	{"invalid host is refused", testHostInvalid},
	{"remove frees the host", testHostRemove},
	{"removing the canonical host clears it", testHostRemoveCanonical},
	{"not visible from another tenant", testHostIsolation},
}

func testHostAdd(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	extra := newHost(t)
	must(t, "AddHost", ts.AddHost(ctx(t), tenants.Host{Host: extra}))
	hs, err := ts.ListHosts(ctx(t))
	must(t, "ListHosts", err)
	if !slices.IsSortedFunc(hs, func(a, b tenants.Host) int { return strings.Compare(a.Host, b.Host) }) {
		t.Errorf("ListHosts not ordered by host: %+v", hs)
	}
	names := []string{}
	for _, h := range hs {
		names = append(names, h.Host)
		if h.TenantID != ten.ID {
			t.Errorf("host %s: TenantID = %s, want %s", h.Host, h.TenantID, ten.ID)
		}
		if h.Primary {
			t.Errorf("host %s is primary; none was asked to be", h.Host)
		}
		wantUTC(t, "host "+h.Host+" CreatedAt", h.CreatedAt)
	}
	want := []string{platformHost(ten.Slug), extra}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("ListHosts = %v, want %v", names, want)
	}
	id, err := s.Platform().ResolveHost(ctx(t), extra)
	must(t, "ResolveHost", err)
	if id != ten.ID {
		t.Errorf("ResolveHost = %s, want %s", id, ten.ID)
	}
	if got := getTenant(t, ts); got.ResourceVersion <= ten.ResourceVersion {
		t.Errorf("ResourceVersion %d not bumped by AddHost (was %d)", got.ResourceVersion, ten.ResourceVersion)
	}
}

func testHostPrimary(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	h1, h2 := newHost(t), newHost(t)
	must(t, "AddHost h1", ts.AddHost(ctx(t), tenants.Host{Host: h1, Primary: true}))
	after1 := getTenant(t, ts)
	if after1.CanonicalHost != h1 {
		t.Errorf("CanonicalHost = %q, want %q", after1.CanonicalHost, h1)
	}
	if after1.ResourceVersion <= ten.ResourceVersion {
		t.Errorf("ResourceVersion not bumped: %d", after1.ResourceVersion)
	}
	wantPrimary(t, ts, h1)

	must(t, "AddHost h2", ts.AddHost(ctx(t), tenants.Host{Host: h2, Primary: true}))
	after2 := getTenant(t, ts)
	if after2.CanonicalHost != h2 {
		t.Errorf("CanonicalHost = %q, want %q", after2.CanonicalHost, h2)
	}
	if after2.ResourceVersion <= after1.ResourceVersion {
		t.Errorf("ResourceVersion not bumped: %d", after2.ResourceVersion)
	}
	wantPrimary(t, ts, h2)

	// A non-primary host leaves the canonical host alone.
	must(t, "AddHost h3", ts.AddHost(ctx(t), tenants.Host{Host: newHost(t)}))
	if got := getTenant(t, ts); got.CanonicalHost != h2 {
		t.Errorf("CanonicalHost = %q after adding a non-primary host, want %q", got.CanonicalHost, h2)
	}
	wantPrimary(t, ts, h2)
}

func testHostDuplicate(t *testing.T, s store.Store) {
	a, tsA := createTenant(t, s)
	_, tsB := createTenant(t, s)
	extra := newHost(t)
	must(t, "AddHost", tsA.AddHost(ctx(t), tenants.Host{Host: extra}))
	wantErr(t, "AddHost twice in one tenant", tsA.AddHost(ctx(t), tenants.Host{Host: extra}), store.ErrAlreadyExists)
	wantErr(t, "AddHost of A's host to B", tsB.AddHost(ctx(t), tenants.Host{Host: extra, Primary: true}), store.ErrAlreadyExists)
	wantErr(t, "AddHost of A's platform host to B", tsB.AddHost(ctx(t), tenants.Host{Host: platformHost(a.Slug)}), store.ErrAlreadyExists)
	for _, h := range []string{extra, platformHost(a.Slug)} {
		id, err := s.Platform().ResolveHost(ctx(t), h)
		must(t, "ResolveHost", err)
		if id != a.ID {
			t.Errorf("ResolveHost(%s) = %s, want A %s", h, id, a.ID)
		}
	}
	if got := getTenant(t, tsB); got.CanonicalHost != "" {
		t.Errorf("failed primary AddHost changed B's CanonicalHost to %q", got.CanonicalHost)
	}
}

func testHostInvalid(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	wantErr(t, "AddHost of an empty host", ts.AddHost(ctx(t), tenants.Host{}), store.ErrInvalid)
}

func testHostRemove(t *testing.T, s store.Store) {
	_, tsA := createTenant(t, s)
	b, tsB := createTenant(t, s)
	extra := newHost(t)
	must(t, "AddHost", tsA.AddHost(ctx(t), tenants.Host{Host: extra}))
	before := getTenant(t, tsA)
	must(t, "RemoveHost", tsA.RemoveHost(ctx(t), extra))
	if _, ok := hostsOf(t, tsA)[extra]; ok {
		t.Errorf("removed host still listed")
	}
	_, err := s.Platform().ResolveHost(ctx(t), extra)
	wantErr(t, "ResolveHost of a removed host", err, store.ErrNotFound)
	wantErr(t, "RemoveHost twice", tsA.RemoveHost(ctx(t), extra), store.ErrNotFound)
	if got := getTenant(t, tsA); got.ResourceVersion <= before.ResourceVersion {
		t.Errorf("ResourceVersion not bumped by RemoveHost: %d", got.ResourceVersion)
	}
	// The host is free for another tenant now.
	must(t, "AddHost of the freed host to B", tsB.AddHost(ctx(t), tenants.Host{Host: extra}))
	id, err := s.Platform().ResolveHost(ctx(t), extra)
	must(t, "ResolveHost", err)
	if id != b.ID {
		t.Errorf("ResolveHost = %s, want B %s", id, b.ID)
	}
}

func testHostRemoveCanonical(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	custom := newHost(t)
	must(t, "AddHost", ts.AddHost(ctx(t), tenants.Host{Host: custom, Primary: true}))
	must(t, "RemoveHost", ts.RemoveHost(ctx(t), custom))
	if got := getTenant(t, ts); got.CanonicalHost != "" {
		t.Errorf("CanonicalHost = %q after removing it, want empty (the platform host)", got.CanonicalHost)
	}
	wantPrimary(t, ts, "")
}

func testHostIsolation(t *testing.T, s store.Store) {
	a, tsA := createTenant(t, s)
	b, tsB := createTenant(t, s)
	extra := newHost(t)
	must(t, "AddHost A", tsA.AddHost(ctx(t), tenants.Host{Host: extra, Primary: true}))
	aBefore := getTenant(t, tsA)
	hostsBefore := hostsOf(t, tsA)

	for name := range hostsOf(t, tsB) {
		if _, ok := hostsBefore[name]; ok {
			t.Errorf("B's ListHosts shows A's host %s", name)
		}
	}
	wantErr(t, "RemoveHost of A's host through B (R41)", tsB.RemoveHost(ctx(t), extra), store.ErrNotFound)
	wantErr(t, "RemoveHost of A's platform host through B (R41)", tsB.RemoveHost(ctx(t), platformHost(a.Slug)), store.ErrNotFound)

	// A TenantID supplied by the caller is ignored: the host goes to B.
	bHost := newHost(t)
	must(t, "AddHost through B naming A", tsB.AddHost(ctx(t), tenants.Host{TenantID: a.ID, Host: bHost, Primary: true}))
	id, err := s.Platform().ResolveHost(ctx(t), bHost)
	must(t, "ResolveHost", err)
	if id != b.ID {
		t.Errorf("host added through B resolves to %s, want B %s", id, b.ID)
	}

	wantSame(t, "A's hosts after B's attempts", hostsOf(t, tsA), hostsBefore)
	wantSame(t, "A after B's attempts", getTenant(t, tsA), aBefore)
	for _, h := range []string{extra, platformHost(a.Slug)} {
		id, err := s.Platform().ResolveHost(ctx(t), h)
		must(t, "ResolveHost", err)
		if id != a.ID {
			t.Errorf("ResolveHost(%s) = %s, want A", h, id)
		}
	}
}
