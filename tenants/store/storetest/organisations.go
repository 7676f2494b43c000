package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

var organisationTests = []subTest{
	{"create, get and list round-trip rules and policy", testOrgCreate},
	{"first organisation becomes the default", testOrgDefault},
	{"list is ordered by priority then name", testOrgOrder},
	{"duplicate name already exists within a tenant only", testOrgDuplicate},
	{"invalid organisation is refused", testOrgInvalid},
	{"update bumps resource version and keeps identity", testOrgUpdate},
	{"delete refuses the default and organisations with users", testOrgDelete},
	{"concurrent updates lose nothing", testOrgConcurrentUpdate},
	{"unknown and malformed ids are not found", testOrgUnknown},
	{"not visible from another tenant", testOrgIsolation},
}

func sampleOrg(name string) tenants.Organisation {
	return tenants.Organisation{
		Name: name,
		Rules: []tenants.MatchRule{
			{Kind: tenants.MatchDNSuffix, Value: "OU=Staff,DC=acme,DC=example"},
			{Kind: tenants.MatchGroup, Value: "CN=Helpdesk,OU=Groups,DC=acme,DC=example"},
			{Kind: tenants.MatchUPNDomain, Value: "acme.example"},
		},
		Priority: 7,
		Policy:   richPolicy(),
	}
}

func testOrgCreate(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	in := sampleOrg("Staff")
	in.ID = "caller-chosen"
	got, err := ts.CreateOrganisation(ctx(t), in)
	must(t, "CreateOrganisation", err)
	if _, err := uuid.Parse(got.ID); err != nil {
		t.Errorf("ID %q is not a UUID: %v", got.ID, err)
	}
	wantUTC(t, "CreateOrganisation", got.CreatedAt, got.UpdatedAt)
	want := in
	want.TenantID, want.ID, want.ResourceVersion, want.CreatedAt, want.UpdatedAt = ten.ID, got.ID, 1, got.CreatedAt, got.UpdatedAt
	wantSame(t, "CreateOrganisation result", got, want)

	fromGet, err := ts.GetOrganisation(ctx(t), got.ID)
	must(t, "GetOrganisation", err)
	wantSame(t, "GetOrganisation", fromGet, got)
	wantUTC(t, "GetOrganisation", fromGet.CreatedAt, fromGet.UpdatedAt)

	bare, err := ts.CreateOrganisation(ctx(t), tenants.Organisation{Name: "No rules"})
	must(t, "CreateOrganisation without rules", err)
	list, err := ts.ListOrganisations(ctx(t))
	must(t, "ListOrganisations", err)
	wantSame(t, "ListOrganisations", list, []tenants.Organisation{bare, got})
}

func testOrgDefault(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	first, err := ts.CreateOrganisation(ctx(t), tenants.Organisation{Name: "First"})
	must(t, "CreateOrganisation", err)
	after := getTenant(t, ts)
	if after.DefaultOrganisationID != first.ID {
		t.Errorf("DefaultOrganisationID = %q, want %q", after.DefaultOrganisationID, first.ID)
	}
	if after.ResourceVersion <= ten.ResourceVersion {
		t.Errorf("ResourceVersion not bumped when the default organisation was set: %d", after.ResourceVersion)
	}
	_, err = ts.CreateOrganisation(ctx(t), tenants.Organisation{Name: "Second", Priority: -1})
	must(t, "CreateOrganisation", err)
	if got := getTenant(t, ts); got.DefaultOrganisationID != first.ID {
		t.Errorf("DefaultOrganisationID = %q after a second organisation, want %q", got.DefaultOrganisationID, first.ID)
	}
}

func testOrgOrder(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	for _, o := range []tenants.Organisation{
		{Name: "zeta", Priority: 1}, {Name: "beta", Priority: 2}, {Name: "alpha", Priority: 2}, {Name: "omega", Priority: -5},
	} {
		_, err := ts.CreateOrganisation(ctx(t), o)
		must(t, "CreateOrganisation", err)
	}
	list, err := ts.ListOrganisations(ctx(t))
	must(t, "ListOrganisations", err)
	var names []string
	for _, o := range list {
		names = append(names, o.Name)
	}
	if want := []string{"omega", "zeta", "alpha", "beta"}; !slices.Equal(names, want) {
		t.Errorf("ListOrganisations = %v, want %v", names, want)
	}
}

func testOrgDuplicate(t *testing.T, s store.Store) {
	_, tsA := createTenant(t, s)
	_, tsB := createTenant(t, s)
	_, err := tsA.CreateOrganisation(ctx(t), tenants.Organisation{Name: "Staff"})
	must(t, "CreateOrganisation", err)
	_, err = tsA.CreateOrganisation(ctx(t), tenants.Organisation{Name: "Staff"})
	wantErr(t, "CreateOrganisation with a taken name", err, store.ErrAlreadyExists)
	_, err = tsB.CreateOrganisation(ctx(t), tenants.Organisation{Name: "Staff"})
	if err != nil {
		t.Errorf("the same name in another tenant: %v", err)
	}
	other, err := tsA.CreateOrganisation(ctx(t), tenants.Organisation{Name: "Other"})
	must(t, "CreateOrganisation", err)
	_, err = tsA.UpdateOrganisation(ctx(t), other.ID, func(o *tenants.Organisation) error { o.Name = "Staff"; return nil })
	wantErr(t, "UpdateOrganisation to a taken name", err, store.ErrAlreadyExists)
}

func testOrgInvalid(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	_, err := ts.CreateOrganisation(ctx(t), tenants.Organisation{})
	wantErr(t, "CreateOrganisation without a name", err, store.ErrInvalid)
	o, err := ts.CreateOrganisation(ctx(t), tenants.Organisation{Name: "ok"})
	must(t, "CreateOrganisation", err)
	_, err = ts.UpdateOrganisation(ctx(t), o.ID, func(o *tenants.Organisation) error { o.Name = ""; return nil })
	wantErr(t, "UpdateOrganisation to an empty name", err, store.ErrInvalid)
}

func testOrgUpdate(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	orig, err := ts.CreateOrganisation(ctx(t), tenants.Organisation{Name: "Before"})
	must(t, "CreateOrganisation", err)
	rich := sampleOrg("After")
	got, err := ts.UpdateOrganisation(ctx(t), orig.ID, func(o *tenants.Organisation) error {
		o.Name, o.Rules, o.Priority, o.Policy = rich.Name, rich.Rules, rich.Priority, rich.Policy
		o.ID, o.TenantID, o.ResourceVersion = "hijack", "hijack", 99
		o.CreatedAt = o.CreatedAt.Add(-1000000)
		return nil
	})
	must(t, "UpdateOrganisation", err)
	want := rich
	want.TenantID, want.ID, want.ResourceVersion, want.CreatedAt, want.UpdatedAt = ten.ID, orig.ID, 2, orig.CreatedAt, got.UpdatedAt
	wantSame(t, "UpdateOrganisation result", got, want)
	if got.UpdatedAt.Before(orig.UpdatedAt) {
		t.Errorf("UpdatedAt went back")
	}
	fromGet, err := ts.GetOrganisation(ctx(t), orig.ID)
	must(t, "GetOrganisation", err)
	wantSame(t, "GetOrganisation after update", fromGet, got)

	_, err = ts.UpdateOrganisation(ctx(t), orig.ID, func(o *tenants.Organisation) error { o.Priority = 1000; return errBoom })
	if !errors.Is(err, errBoom) {
		t.Errorf("UpdateOrganisation error = %v, want the function's error", err)
	}
	fromGet, err = ts.GetOrganisation(ctx(t), orig.ID)
	must(t, "GetOrganisation", err)
	wantSame(t, "GetOrganisation after aborted update", fromGet, got)
}

func testOrgDelete(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	def, err := ts.CreateOrganisation(ctx(t), tenants.Organisation{Name: "Default"})
	must(t, "CreateOrganisation", err)
	staff, err := ts.CreateOrganisation(ctx(t), tenants.Organisation{Name: "Staff"})
	must(t, "CreateOrganisation", err)
	u, err := ts.CreateUser(ctx(t), tenants.User{Username: "member", OrganisationID: staff.ID})
	must(t, "CreateUser", err)

	wantErr(t, "DeleteOrganisation of the default", ts.DeleteOrganisation(ctx(t), def.ID), store.ErrConflict)
	wantErr(t, "DeleteOrganisation with a user in it", ts.DeleteOrganisation(ctx(t), staff.ID), store.ErrConflict)
	if _, err := ts.GetOrganisation(ctx(t), staff.ID); err != nil {
		t.Errorf("organisation gone after a refused delete: %v", err)
	}

	_, err = ts.UpdateUser(ctx(t), u.ID, func(x *tenants.User) error { x.OrganisationID = def.ID; return nil })
	must(t, "UpdateUser", err)
	must(t, "DeleteOrganisation after its user moved", ts.DeleteOrganisation(ctx(t), staff.ID))
	_, err = ts.GetOrganisation(ctx(t), staff.ID)
	wantErr(t, "GetOrganisation after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteOrganisation twice", ts.DeleteOrganisation(ctx(t), staff.ID), store.ErrNotFound)
	_, err = ts.UpdateOrganisation(ctx(t), staff.ID, func(*tenants.Organisation) error { return nil })
	wantErr(t, "UpdateOrganisation after delete", err, store.ErrNotFound)

	// Once it is no longer the default, the former default can go too.
	_, err = ts.Update(ctx(t), func(x *tenants.Tenant) error { x.DefaultOrganisationID = ""; return nil })
	must(t, "Update", err)
	_, err = ts.UpdateUser(ctx(t), u.ID, func(x *tenants.User) error { x.OrganisationID = ""; return nil })
	must(t, "UpdateUser", err)
	must(t, "DeleteOrganisation of the former default", ts.DeleteOrganisation(ctx(t), def.ID))
	if got := getTenant(t, ts); got.ID != ten.ID || got.DefaultOrganisationID != "" {
		t.Errorf("tenant after deleting its organisations: %+v", got)
	}
}

func testOrgConcurrentUpdate(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	o, err := ts.CreateOrganisation(ctx(t), tenants.Organisation{Name: "Counter"})
	must(t, "CreateOrganisation", err)
	ok := concurrently(t, 4, 5, func() error {
		_, err := ts.UpdateOrganisation(ctx(t), o.ID, func(x *tenants.Organisation) error { x.Priority++; return nil })
		return err
	})
	got, err := ts.GetOrganisation(ctx(t), o.ID)
	must(t, "GetOrganisation", err)
	if got.Priority != ok || got.ResourceVersion != int64(1+ok) {
		t.Errorf("Priority %d, ResourceVersion %d after %d successful updates", got.Priority, got.ResourceVersion, ok)
	}
}

func testOrgUnknown(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	for _, id := range []string{uuid.NewString(), "not-a-uuid", ""} {
		_, err := ts.GetOrganisation(ctx(t), id)
		wantErr(t, "GetOrganisation("+id+")", err, store.ErrNotFound)
		_, err = ts.UpdateOrganisation(ctx(t), id, func(*tenants.Organisation) error { return nil })
		wantErr(t, "UpdateOrganisation("+id+")", err, store.ErrNotFound)
		wantErr(t, "DeleteOrganisation("+id+")", ts.DeleteOrganisation(ctx(t), id), store.ErrNotFound)
	}
}

func testOrgIsolation(t *testing.T, s store.Store) {
	a, tsA := createTenant(t, s)
	b, tsB := createTenant(t, s)
	orgA, err := tsA.CreateOrganisation(ctx(t), sampleOrg("A staff"))
	must(t, "CreateOrganisation A", err)
	second, err := tsA.CreateOrganisation(ctx(t), tenants.Organisation{Name: "A second"})
	must(t, "CreateOrganisation A", err)
	aTenant := getTenant(t, tsA)

	_, err = tsB.GetOrganisation(ctx(t), orgA.ID)
	wantErr(t, "GetOrganisation of A's organisation through B (R41)", err, store.ErrNotFound)
	list, err := tsB.ListOrganisations(ctx(t))
	must(t, "ListOrganisations B", err)
	if len(list) != 0 {
		t.Errorf("B lists %d organisations, want none: %+v", len(list), list)
	}
	_, err = tsB.UpdateOrganisation(ctx(t), orgA.ID, func(o *tenants.Organisation) error { o.Name = "stolen"; return nil })
	wantErr(t, "UpdateOrganisation of A's organisation through B (R41)", err, store.ErrNotFound)
	wantErr(t, "DeleteOrganisation of A's organisation through B (R41)", tsB.DeleteOrganisation(ctx(t), second.ID), store.ErrNotFound)

	// B cannot point its users at A's organisation.
	_, err = tsB.CreateUser(ctx(t), tenants.User{Username: "intruder", OrganisationID: orgA.ID})
	wantErr(t, "CreateUser in B with A's organisation (R41)", err, store.ErrInvalid)
	_, err = tsB.GetUserByUsername(ctx(t), "intruder")
	wantErr(t, "GetUserByUsername after the refused create", err, store.ErrNotFound)

	// A TenantID supplied by the caller is ignored.
	orgB, err := tsB.CreateOrganisation(ctx(t), tenants.Organisation{TenantID: a.ID, Name: "B org"})
	must(t, "CreateOrganisation through B naming A", err)
	if orgB.TenantID != b.ID {
		t.Errorf("organisation created through B has TenantID %s, want %s", orgB.TenantID, b.ID)
	}
	_, err = tsA.GetOrganisation(ctx(t), orgB.ID)
	wantErr(t, "GetOrganisation of B's organisation through A", err, store.ErrNotFound)

	for _, want := range []tenants.Organisation{orgA, second} {
		got, err := tsA.GetOrganisation(ctx(t), want.ID)
		must(t, "GetOrganisation A", err)
		wantSame(t, "A's organisation after B's attempts", got, want)
	}
	listA, err := tsA.ListOrganisations(ctx(t))
	must(t, "ListOrganisations A", err)
	if len(listA) != 2 {
		t.Errorf("A lists %d organisations, want 2", len(listA))
	}
	wantSame(t, "A after B's attempts", getTenant(t, tsA), aTenant)
}
