package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

var tenantTests = []subTest{
	{"create and get round-trip branding, logo and policy", testTenantCreateGet},
	{"duplicate slug already exists and leaves no trace", testTenantDuplicateSlug},
	{"taken host already exists and nothing is created", testTenantDuplicateHost},
	{"invalid tenants are refused", testTenantInvalid},
	{"primary host becomes the canonical host", testTenantCreatePrimary},
	{"list is ordered by slug", testTenantList},
	{"unknown slug is not found", testTenantUnknownSlug},
	{"update bumps resource version and keeps identity", testTenantUpdate},
	{"update function error aborts the update", testTenantUpdateAbort},
	{"update refuses references outside the tenant", testTenantUpdateReferences},
	{"update of canonical host moves the primary flag", testTenantUpdateCanonical},
	{"concurrent updates lose nothing", testTenantConcurrentUpdate},
	{"self-service settings round-trip through create, get, list and update", testTenantSelfService},
	{"not visible from another tenant", testTenantIsolation},
}

func testTenantCreateGet(t *testing.T, s store.Store) {
	slug := newSlug(t)
	in := tenants.Tenant{
		ID:            "caller-chosen-id-is-ignored",
		Slug:          slug,
		Name:          "Acme " + slug,
		Branding:      richBranding(),
		DefaultLocale: "de",
		Policy:        richPolicy(),
	}
	got, err := s.Platform().CreateTenant(ctx(t), in, []tenants.Host{{Host: platformHost(slug)}})
	must(t, "CreateTenant", err)
	if _, err := uuid.Parse(string(got.ID)); err != nil {
		t.Errorf("ID %q is not a UUID: %v", got.ID, err)
	}
	if got.ResourceVersion != 1 {
		t.Errorf("ResourceVersion = %d, want 1", got.ResourceVersion)
	}
	wantUTC(t, "created tenant", got.CreatedAt, got.UpdatedAt)
	if !got.CreatedAt.Equal(got.UpdatedAt) {
		t.Errorf("CreatedAt %v != UpdatedAt %v on a new tenant", got.CreatedAt, got.UpdatedAt)
	}
	want := in
	want.ID, want.ResourceVersion, want.CreatedAt, want.UpdatedAt = got.ID, 1, got.CreatedAt, got.UpdatedAt
	wantSame(t, "CreateTenant result", got, want)

	fromGet, err := s.Tenant(got.ID).Get(ctx(t))
	must(t, "Get", err)
	wantSame(t, "Get", fromGet, got)
	wantUTC(t, "Get", fromGet.CreatedAt, fromGet.UpdatedAt)

	bySlug, err := s.Platform().TenantBySlug(ctx(t), slug)
	must(t, "TenantBySlug", err)
	wantSame(t, "TenantBySlug", bySlug, got)

	listed := listedTenant(t, s, got.ID)
	wantSame(t, "ListTenants entry", listed, got)
	wantUTC(t, "ListTenants entry", listed.CreatedAt, listed.UpdatedAt)

	id, err := s.Platform().ResolveHost(ctx(t), platformHost(slug))
	must(t, "ResolveHost", err)
	if id != got.ID {
		t.Errorf("ResolveHost = %s, want %s", id, got.ID)
	}
}

// listedTenant returns the tenant with that id from ListTenants, or fails
// the test now.
func listedTenant(t *testing.T, s store.Store, id tenants.ID) tenants.Tenant {
	t.Helper()
	all, err := s.Platform().ListTenants(ctx(t))
	must(t, "ListTenants", err)
	i := slices.IndexFunc(all, func(x tenants.Tenant) bool { return x.ID == id })
	if i < 0 {
		t.Fatalf("ListTenants does not contain %s", id)
	}
	return all[i]
}

func testTenantDuplicateSlug(t *testing.T, s store.Store) {
	a, _ := createTenant(t, s)
	freeHost := newHost(t)
	_, err := s.Platform().CreateTenant(ctx(t), tenants.Tenant{Slug: a.Slug, Name: "Copy"}, []tenants.Host{{Host: freeHost}})
	wantErr(t, "CreateTenant with a taken slug", err, store.ErrAlreadyExists)
	_, err = s.Platform().ResolveHost(ctx(t), freeHost)
	wantErr(t, "ResolveHost of the failed tenant's host", err, store.ErrNotFound)
	got, err := s.Platform().TenantBySlug(ctx(t), a.Slug)
	must(t, "TenantBySlug", err)
	wantSame(t, "original tenant", got, a)
}

func testTenantDuplicateHost(t *testing.T, s store.Store) {
	a, _ := createTenant(t, s)
	slug := newSlug(t)
	_, err := s.Platform().CreateTenant(ctx(t), tenants.Tenant{Slug: slug, Name: "Thief"},
		[]tenants.Host{{Host: platformHost(slug)}, {Host: platformHost(a.Slug)}})
	wantErr(t, "CreateTenant with another tenant's host", err, store.ErrAlreadyExists)
	_, err = s.Platform().TenantBySlug(ctx(t), slug)
	wantErr(t, "TenantBySlug after the failed create", err, store.ErrNotFound)
	_, err = s.Platform().ResolveHost(ctx(t), platformHost(slug))
	wantErr(t, "ResolveHost of the failed tenant's own host", err, store.ErrNotFound)
	id, err := s.Platform().ResolveHost(ctx(t), platformHost(a.Slug))
	must(t, "ResolveHost", err)
	if id != a.ID {
		t.Errorf("host moved to %s, want %s", id, a.ID)
	}

	slug2 := newSlug(t)
	_, err = s.Platform().CreateTenant(ctx(t), tenants.Tenant{Slug: slug2, Name: "Twice"},
		[]tenants.Host{{Host: platformHost(slug2)}, {Host: platformHost(slug2)}})
	wantErr(t, "CreateTenant listing one host twice", err, store.ErrAlreadyExists)
}

func testTenantInvalid(t *testing.T, s store.Store) {
	ok := newSlug(t)
	tests := []struct {
		name  string
		t     tenants.Tenant
		hosts []tenants.Host
	}{
		{"empty slug", tenants.Tenant{Name: "x"}, []tenants.Host{{Host: newHost(t)}}},
		{"upper-case slug", tenants.Tenant{Slug: strings.ToUpper(ok), Name: "x"}, []tenants.Host{{Host: newHost(t)}}},
		{"empty name", tenants.Tenant{Slug: ok}, []tenants.Host{{Host: newHost(t)}}},
		{"no hosts", tenants.Tenant{Slug: ok, Name: "x"}, nil},
		{"empty host", tenants.Tenant{Slug: ok, Name: "x"}, []tenants.Host{{Host: ""}}},
		{"two primary hosts", tenants.Tenant{Slug: ok, Name: "x"}, []tenants.Host{{Host: newHost(t), Primary: true}, {Host: newHost(t), Primary: true}}},
		{"canonical host not among its hosts", tenants.Tenant{Slug: ok, Name: "x", CanonicalHost: newHost(t)}, []tenants.Host{{Host: newHost(t)}}},
	}
	for _, tc := range tests {
		_, err := s.Platform().CreateTenant(ctx(t), tc.t, tc.hosts)
		wantErr(t, "CreateTenant with "+tc.name, err, store.ErrInvalid)
	}
	_, err := s.Platform().TenantBySlug(ctx(t), ok)
	wantErr(t, "TenantBySlug after invalid creates", err, store.ErrNotFound)
}

func testTenantCreatePrimary(t *testing.T, s store.Store) {
	slug, custom := newSlug(t), newHost(t)
	ten, err := s.Platform().CreateTenant(ctx(t), tenants.Tenant{Slug: slug, Name: "P"},
		[]tenants.Host{{Host: platformHost(slug)}, {Host: custom, Primary: true}})
	must(t, "CreateTenant", err)
	if ten.CanonicalHost != custom {
		t.Errorf("CanonicalHost = %q, want %q", ten.CanonicalHost, custom)
	}
	ts := s.Tenant(ten.ID)
	wantSame(t, "Get", getTenant(t, ts), ten)
	wantPrimary(t, ts, custom)

	// Naming the canonical host marks it primary.
	slug2 := newSlug(t)
	ten2, err := s.Platform().CreateTenant(ctx(t), tenants.Tenant{Slug: slug2, Name: "C", CanonicalHost: platformHost(slug2)},
		[]tenants.Host{{Host: platformHost(slug2)}})
	must(t, "CreateTenant with CanonicalHost", err)
	wantPrimary(t, s.Tenant(ten2.ID), platformHost(slug2))
}

func testTenantList(t *testing.T, s store.Store) {
	prefix := newSlug(t)
	var ids []tenants.ID
	for _, suffix := range []string{"c", "a", "b"} {
		slug := prefix + suffix
		ten, err := s.Platform().CreateTenant(ctx(t), tenants.Tenant{Slug: slug, Name: suffix}, []tenants.Host{{Host: platformHost(slug)}})
		must(t, "CreateTenant", err)
		ids = append(ids, ten.ID)
	}
	all, err := s.Platform().ListTenants(ctx(t))
	must(t, "ListTenants", err)
	if !slices.IsSortedFunc(all, func(a, b tenants.Tenant) int { return strings.Compare(a.Slug, b.Slug) }) {
		t.Errorf("ListTenants is not ordered by slug")
	}
	var ours []string
	for _, x := range all {
		if strings.HasPrefix(x.Slug, prefix) {
			ours = append(ours, x.Slug)
		}
	}
	if want := []string{prefix + "a", prefix + "b", prefix + "c"}; !slices.Equal(ours, want) {
		t.Errorf("ListTenants slugs = %v, want %v", ours, want)
	}
}

func testTenantUnknownSlug(t *testing.T, s store.Store) {
	_, err := s.Platform().TenantBySlug(ctx(t), newSlug(t))
	wantErr(t, "TenantBySlug", err, store.ErrNotFound)
	_, err = s.Platform().ResolveHost(ctx(t), newHost(t))
	wantErr(t, "ResolveHost", err, store.ErrNotFound)
}

func testTenantUpdate(t *testing.T, s store.Store) {
	orig, ts := createTenant(t, s)
	rich := richPolicy()
	got, err := ts.Update(ctx(t), func(x *tenants.Tenant) error {
		x.Name = "Renamed"
		x.Branding = richBranding()
		x.Policy = rich
		x.DefaultLocale = "fr"
		// Identity and bookkeeping are the store's, not the caller's.
		x.ID = "hijack"
		x.Slug = "hijack"
		x.ResourceVersion = 100
		x.CreatedAt = x.CreatedAt.Add(-1000000)
		x.UpdatedAt = x.UpdatedAt.Add(-1000000)
		return nil
	})
	must(t, "Update", err)
	want := orig
	want.Name, want.Branding, want.Policy, want.DefaultLocale = "Renamed", richBranding(), rich, "fr"
	want.ResourceVersion = orig.ResourceVersion + 1
	want.UpdatedAt = got.UpdatedAt
	wantSame(t, "Update result", got, want)
	wantUTC(t, "Update result", got.CreatedAt, got.UpdatedAt)
	if got.UpdatedAt.Before(orig.UpdatedAt) {
		t.Errorf("UpdatedAt went back: %v < %v", got.UpdatedAt, orig.UpdatedAt)
	}
	wantSame(t, "Get after Update", getTenant(t, ts), got)

	// Clearing the logo and the policy round-trips too.
	got2, err := ts.Update(ctx(t), func(x *tenants.Tenant) error {
		x.Branding.Logo, x.Branding.LogoContentType = nil, ""
		x.Policy = tenants.Policy{}
		return nil
	})
	must(t, "Update clearing logo", err)
	if got2.ResourceVersion != got.ResourceVersion+1 {
		t.Errorf("ResourceVersion = %d, want %d", got2.ResourceVersion, got.ResourceVersion+1)
	}
	fromGet := getTenant(t, ts)
	wantSame(t, "Get after clearing", fromGet, got2)
	if len(fromGet.Branding.Logo) != 0 || fromGet.Policy.Password != nil || fromGet.Policy.SMSEnabled != nil {
		t.Errorf("cleared fields came back: %+v", fromGet)
	}

	_, err = ts.Update(ctx(t), func(x *tenants.Tenant) error { x.Name = ""; return nil })
	wantErr(t, "Update to an empty name", err, store.ErrInvalid)
	wantSame(t, "Get after invalid Update", getTenant(t, ts), got2)
}

func testTenantUpdateAbort(t *testing.T, s store.Store) {
	orig, ts := createTenant(t, s)
	_, err := ts.Update(ctx(t), func(x *tenants.Tenant) error { x.Name = "changed"; return errBoom })
	if !errors.Is(err, errBoom) {
		t.Errorf("Update error = %v, want the function's error", err)
	}
	wantSame(t, "Get after aborted Update", getTenant(t, ts), orig)
}

func testTenantUpdateReferences(t *testing.T, s store.Store) {
	a, tsA := createTenant(t, s)
	orgA, err := tsA.CreateOrganisation(ctx(t), tenants.Organisation{Name: "A org"})
	must(t, "CreateOrganisation", err)
	b, tsB := createTenant(t, s)

	_, err = tsB.Update(ctx(t), func(x *tenants.Tenant) error { x.DefaultOrganisationID = orgA.ID; return nil })
	wantErr(t, "Update DefaultOrganisationID to another tenant's organisation (R41)", err, store.ErrInvalid)
	_, err = tsB.Update(ctx(t), func(x *tenants.Tenant) error { x.CanonicalHost = platformHost(a.Slug); return nil })
	wantErr(t, "Update CanonicalHost to another tenant's host (R9)", err, store.ErrInvalid)
	_, err = tsB.Update(ctx(t), func(x *tenants.Tenant) error { x.CanonicalHost = newHost(t); return nil })
	wantErr(t, "Update CanonicalHost to a host nobody owns (R9)", err, store.ErrInvalid)
	wantSame(t, "B after refused updates", getTenant(t, tsB), b)
	if got := getTenant(t, tsA); got.DefaultOrganisationID != orgA.ID || got.CanonicalHost != "" {
		t.Errorf("A changed: %+v", got)
	}
	if _, err := tsB.Update(ctx(t), func(x *tenants.Tenant) error { x.DefaultOrganisationID = ""; return nil }); err != nil {
		t.Errorf("Update with no default organisation: %v", err)
	}
}

func testTenantUpdateCanonical(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	other := newHost(t)
	must(t, "AddHost", ts.AddHost(ctx(t), tenants.Host{Host: other}))
	got, err := ts.Update(ctx(t), func(x *tenants.Tenant) error { x.CanonicalHost = other; return nil })
	must(t, "Update CanonicalHost", err)
	if got.CanonicalHost != other {
		t.Errorf("CanonicalHost = %q, want %q", got.CanonicalHost, other)
	}
	wantPrimary(t, ts, other)
	_, err = ts.Update(ctx(t), func(x *tenants.Tenant) error { x.CanonicalHost = platformHost(ten.Slug); return nil })
	must(t, "Update CanonicalHost back", err)
	wantPrimary(t, ts, platformHost(ten.Slug))
	_, err = ts.Update(ctx(t), func(x *tenants.Tenant) error { x.CanonicalHost = ""; return nil })
	must(t, "Update CanonicalHost to empty", err)
	wantPrimary(t, ts, "")
}

func testTenantConcurrentUpdate(t *testing.T, s store.Store) {
	orig, ts := createTenant(t, s)
	ok := concurrently(t, 4, 5, func() error {
		_, err := ts.Update(ctx(t), func(x *tenants.Tenant) error {
			if x.Policy.Password == nil {
				x.Policy.Password = &tenants.PasswordPolicy{}
			}
			x.Policy.Password.History++
			return nil
		})
		return err
	})
	got := getTenant(t, ts)
	if got.Policy.Password == nil || got.Policy.Password.History != ok {
		t.Errorf("History = %+v after %d successful increments", got.Policy.Password, ok)
	}
	if got.ResourceVersion != orig.ResourceVersion+int64(ok) {
		t.Errorf("ResourceVersion = %d, want %d", got.ResourceVersion, orig.ResourceVersion+int64(ok))
	}
}

func testTenantIsolation(t *testing.T, s store.Store) {
	a, tsA := createTenant(t, s)
	b, tsB := createTenant(t, s)
	if got := getTenant(t, tsB); got.ID != b.ID {
		t.Errorf("B's store returned tenant %s", got.ID)
	}
	_, err := tsB.Update(ctx(t), func(x *tenants.Tenant) error {
		if x.ID != b.ID {
			t.Errorf("B's Update saw tenant %s", x.ID)
		}
		x.Name = "B renamed"
		x.ID = a.ID
		return nil
	})
	must(t, "Update B", err)
	wantSame(t, "A after B's update", getTenant(t, tsA), a)
	if got := getTenant(t, tsB); got.Name != "B renamed" {
		t.Errorf("B's Name = %q", got.Name)
	}
}
