package storetest

import (
	"testing"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

var unknownTenantTests = []subTest{
	{"random id finds nothing", func(t *testing.T, s store.Store) { testUnknownTenant(t, s, tenants.ID(uuid.NewString())) }},
	{"malformed id finds nothing", func(t *testing.T, s store.Store) { testUnknownTenant(t, s, "not-a-uuid") }},
	{"empty id finds nothing", func(t *testing.T, s store.Store) { testUnknownTenant(t, s, "") }},
}

// testUnknownTenant checks that a TenantStore for a tenant that does not exist
// reads nothing and writes nothing.
func testUnknownTenant(t *testing.T, s store.Store, id tenants.ID) {
	// A real tenant with data, to make sure nothing leaks into the unknown one.
	_, tsA := createTenant(t, s)
	_, err := tsA.CreateOrganisation(ctx(t), tenants.Organisation{Name: "A"})
	must(t, "CreateOrganisation", err)
	_, err = tsA.CreateUser(ctx(t), tenants.User{Username: "a"})
	must(t, "CreateUser", err)
	_, err = tsA.AppendAudit(ctx(t), sampleEvent("a"))
	must(t, "AppendAudit", err)

	ts := s.Tenant(id)
	_, err = ts.Get(ctx(t))
	wantErr(t, "Get", err, store.ErrNotFound)
	called := false
	_, err = ts.Update(ctx(t), func(*tenants.Tenant) error { called = true; return nil })
	wantErr(t, "Update", err, store.ErrNotFound)
	if called {
		t.Errorf("Update called fn for a tenant that does not exist")
	}

	host := newHost(t)
	wantErr(t, "AddHost", ts.AddHost(ctx(t), tenants.Host{Host: host}), store.ErrNotFound)
	_, err = s.Platform().ResolveHost(ctx(t), host)
	wantErr(t, "ResolveHost of a host added to no tenant", err, store.ErrNotFound)
	hosts, err := ts.ListHosts(ctx(t))
	if err != nil || len(hosts) != 0 {
		t.Errorf("ListHosts = %v, %v; want none", hosts, err)
	}
	wantErr(t, "RemoveHost", ts.RemoveHost(ctx(t), host), store.ErrNotFound)

	_, err = ts.CreateOrganisation(ctx(t), tenants.Organisation{Name: "orphan"})
	wantErr(t, "CreateOrganisation", err, store.ErrNotFound)
	orgs, err := ts.ListOrganisations(ctx(t))
	if err != nil || len(orgs) != 0 {
		t.Errorf("ListOrganisations = %v, %v; want none", orgs, err)
	}

	_, err = ts.CreateUser(ctx(t), tenants.User{Username: "orphan"})
	wantErr(t, "CreateUser", err, store.ErrNotFound)
	_, err = ts.GetUserByUsername(ctx(t), "a")
	wantErr(t, "GetUserByUsername", err, store.ErrNotFound)
	users, err := ts.ListUsers(ctx(t), "", 100)
	if err != nil || len(users) != 0 {
		t.Errorf("ListUsers = %v, %v; want none", users, err)
	}

	_, err = ts.AppendAudit(ctx(t), sampleEvent("orphan"))
	wantErr(t, "AppendAudit", err, store.ErrNotFound)
	events, err := ts.ListAudit(ctx(t), 0, 100)
	if err != nil || len(events) != 0 {
		t.Errorf("ListAudit = %v, %v; want none", events, err)
	}
	testUnknownTenantSelfService(t, ts)
}

// testUnknownTenantSelfService: the self-service methods of a tenant that
// does not exist store nothing and find nothing.
func testUnknownTenantSelfService(t *testing.T, ts store.TenantStore) {
	_, err := ts.CreateFlow(ctx(t), sampleFlow(t, ""))
	wantErr(t, "CreateFlow", err, store.ErrNotFound)
	_, err = ts.GetFlow(ctx(t), newHexID(t))
	wantErr(t, "GetFlow", err, store.ErrNotFound)
	_, err = ts.CreateSession(ctx(t), sampleSession(t, uuid.NewString()))
	wantErr(t, "CreateSession", err, store.ErrNotFound)
	_, err = ts.Hit(ctx(t), "k", hour, t0, 1)
	wantErr(t, "Hit", err, store.ErrNotFound)
	if n, err := ts.Count(ctx(t), "k", hour, t0); err != nil || n != 0 {
		t.Errorf("Count = %d, %v; want 0", n, err)
	}
	_, err = ts.EnqueueMessage(ctx(t), sampleMessage(t0))
	wantErr(t, "EnqueueMessage", err, store.ErrNotFound)
	if ms, err := ts.ClaimMessages(ctx(t), t0, hour, 10); err != nil || len(ms) != 0 {
		t.Errorf("ClaimMessages = %v, %v; want none", ms, err)
	}
	if ms, err := ts.ListMessages(ctx(t), 10); err != nil || len(ms) != 0 {
		t.Errorf("ListMessages = %v, %v; want none", ms, err)
	}
	_, err = ts.CreateDevice(ctx(t), sampleDevice(t, uuid.NewString()))
	wantErr(t, "CreateDevice", err, store.ErrNotFound)
	_, err = ts.GetDevice(ctx(t), uuid.NewString())
	wantErr(t, "GetDevice", err, store.ErrNotFound)
	if ds, err := ts.ListDevices(ctx(t), uuid.NewString()); err != nil || len(ds) != 0 {
		t.Errorf("ListDevices = %v, %v; want none", ds, err)
	}
	err = ts.CreateChallenge(ctx(t), sampleChallenge(t, uuid.NewString(), uuid.NewString()))
	wantErr(t, "CreateChallenge", err, store.ErrNotFound)
	_, err = ts.GetChallenge(ctx(t), randomLabel(t, 16))
	wantErr(t, "GetChallenge", err, store.ErrNotFound)
	if cs, err := ts.ListPendingChallenges(ctx(t), uuid.NewString(), t0); err != nil || len(cs) != 0 {
		t.Errorf("ListPendingChallenges = %v, %v; want none", cs, err)
	}
	for name, purge := range map[string]func() (int, error){
		"PurgeFlows":        func() (int, error) { return ts.PurgeFlows(ctx(t), t0) },
		"PurgeCounters":     func() (int, error) { return ts.PurgeCounters(ctx(t), t0) },
		"RevokeAllSessions": func() (int, error) { return ts.RevokeAllSessions(ctx(t), t0) },
		"PurgeSessions":     func() (int, error) { return ts.PurgeSessions(ctx(t), t0) },
		"PurgeMessages":     func() (int, error) { return ts.PurgeMessages(ctx(t), t0) },
		"PurgeChallenges":   func() (int, error) { return ts.PurgeChallenges(ctx(t), t0) },
	} {
		if n, err := purge(); err != nil || n != 0 {
			t.Errorf("%s = %d, %v; want 0", name, n, err)
		}
	}
}
