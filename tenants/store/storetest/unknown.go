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
}
