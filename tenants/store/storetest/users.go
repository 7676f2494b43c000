package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

var userTests = []subTest{
	{"create and get by id, username and directory GUID", testUserCreate},
	{"duplicate username already exists case-insensitively, within a tenant only", testUserDuplicateUsername},
	{"duplicate directory GUID already exists within a tenant only", testUserDuplicateGUID},
	{"invalid user is refused", testUserInvalid},
	{"update changes fields and keeps identity", testUserUpdate},
	{"delete frees the username", testUserDelete},
	{"list pages by username", testUserList},
	{"concurrent updates lose nothing", testUserConcurrentUpdate},
	{"unknown and malformed ids are not found", testUserUnknown},
	{"self-service fields round-trip; zero times are none", testUserSelfServiceFields},
	{"push history round-trips through UpdateUser; empty is none", testUserPushHistory},
	{"not visible from another tenant", testUserIsolation},
}

func sampleUser(username, guid, org string) tenants.User {
	return tenants.User{
		DirectoryGUID:  guid,
		Username:       username,
		UPN:            strings.ToLower(username) + "@acme.example",
		DisplayName:    "Ädä " + username,
		OrganisationID: org,
		Email:          strings.ToLower(username) + "@mail.example",
		EmailVerified:  true,
		Phone:          "+4930123456",
		PhoneVerified:  false,
		Locale:         "de-CH",
		IsAdmin:        true,
	}
}

func testUserCreate(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	org, err := ts.CreateOrganisation(ctx(t), tenants.Organisation{Name: "Staff"})
	must(t, "CreateOrganisation", err)
	in := sampleUser("Alice", uuid.NewString(), org.ID)
	in.ID = "caller-chosen"
	got, err := ts.CreateUser(ctx(t), in)
	must(t, "CreateUser", err)
	if _, err := uuid.Parse(got.ID); err != nil {
		t.Errorf("ID %q is not a UUID: %v", got.ID, err)
	}
	wantUTC(t, "CreateUser", got.CreatedAt, got.UpdatedAt)
	want := in
	want.TenantID, want.ID, want.CreatedAt, want.UpdatedAt = ten.ID, got.ID, got.CreatedAt, got.UpdatedAt
	wantSame(t, "CreateUser result", got, want)

	byID, err := ts.GetUser(ctx(t), got.ID)
	must(t, "GetUser", err)
	wantSame(t, "GetUser", byID, got)
	wantUTC(t, "GetUser", byID.CreatedAt, byID.UpdatedAt)
	for _, name := range []string{"Alice", "alice", "ALICE"} {
		byName, err := ts.GetUserByUsername(ctx(t), name)
		must(t, "GetUserByUsername("+name+")", err)
		wantSame(t, "GetUserByUsername("+name+")", byName, got)
	}
	byGUID, err := ts.GetUserByDirectoryGUID(ctx(t), in.DirectoryGUID)
	must(t, "GetUserByDirectoryGUID", err)
	wantSame(t, "GetUserByDirectoryGUID", byGUID, got)

	// A minimal user (no GUID, no organisation) round-trips with empty fields.
	bare, err := ts.CreateUser(ctx(t), tenants.User{Username: "bob"})
	must(t, "CreateUser minimal", err)
	fromGet, err := ts.GetUser(ctx(t), bare.ID)
	must(t, "GetUser minimal", err)
	wantSame(t, "minimal user", fromGet, bare)
	if fromGet.DirectoryGUID != "" || fromGet.OrganisationID != "" {
		t.Errorf("minimal user grew a GUID or organisation: %+v", fromGet)
	}
}

func testUserDuplicateUsername(t *testing.T, s store.Store) {
	_, tsA := createTenant(t, s)
	_, tsB := createTenant(t, s)
	_, err := tsA.CreateUser(ctx(t), tenants.User{Username: "Carol"})
	must(t, "CreateUser", err)
	_, err = tsA.CreateUser(ctx(t), tenants.User{Username: "cAROL"})
	wantErr(t, "CreateUser with the same username in another case", err, store.ErrAlreadyExists)
	if _, err := tsB.CreateUser(ctx(t), tenants.User{Username: "carol"}); err != nil {
		t.Errorf("the same username in another tenant: %v", err)
	}
	dave, err := tsA.CreateUser(ctx(t), tenants.User{Username: "dave"})
	must(t, "CreateUser", err)
	_, err = tsA.UpdateUser(ctx(t), dave.ID, func(u *tenants.User) error { u.Username = "CAROL"; return nil })
	wantErr(t, "UpdateUser to a taken username", err, store.ErrAlreadyExists)
	got, err := tsA.GetUser(ctx(t), dave.ID)
	must(t, "GetUser", err)
	wantSame(t, "user after refused rename", got, dave)
}

func testUserDuplicateGUID(t *testing.T, s store.Store) {
	_, tsA := createTenant(t, s)
	_, tsB := createTenant(t, s)
	guid := uuid.NewString()
	_, err := tsA.CreateUser(ctx(t), tenants.User{Username: "one", DirectoryGUID: guid})
	must(t, "CreateUser", err)
	_, err = tsA.CreateUser(ctx(t), tenants.User{Username: "two", DirectoryGUID: guid})
	wantErr(t, "CreateUser with a taken directory GUID", err, store.ErrAlreadyExists)
	if _, err := tsB.CreateUser(ctx(t), tenants.User{Username: "two", DirectoryGUID: guid}); err != nil {
		t.Errorf("the same directory GUID in another tenant: %v", err)
	}
	// Users without a GUID do not collide.
	for _, name := range []string{"noguid1", "noguid2"} {
		if _, err := tsA.CreateUser(ctx(t), tenants.User{Username: name}); err != nil {
			t.Errorf("CreateUser %s without a GUID: %v", name, err)
		}
	}
}

func testUserInvalid(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	_, err := ts.CreateUser(ctx(t), tenants.User{})
	wantErr(t, "CreateUser without a username", err, store.ErrInvalid)
	_, err = ts.CreateUser(ctx(t), tenants.User{Username: "lost", OrganisationID: uuid.NewString()})
	wantErr(t, "CreateUser with an unknown organisation", err, store.ErrInvalid)
	u, err := ts.CreateUser(ctx(t), tenants.User{Username: "ok"})
	must(t, "CreateUser", err)
	_, err = ts.UpdateUser(ctx(t), u.ID, func(x *tenants.User) error { x.Username = ""; return nil })
	wantErr(t, "UpdateUser to an empty username", err, store.ErrInvalid)
	_, err = ts.UpdateUser(ctx(t), u.ID, func(x *tenants.User) error { x.OrganisationID = uuid.NewString(); return nil })
	wantErr(t, "UpdateUser to an unknown organisation", err, store.ErrInvalid)
}

func testUserUpdate(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	org, err := ts.CreateOrganisation(ctx(t), tenants.Organisation{Name: "Staff"})
	must(t, "CreateOrganisation", err)
	orig, err := ts.CreateUser(ctx(t), tenants.User{Username: "erin"})
	must(t, "CreateUser", err)
	changed := sampleUser("Erin", uuid.NewString(), org.ID)
	got, err := ts.UpdateUser(ctx(t), orig.ID, func(u *tenants.User) error {
		id, tid, created := u.ID, u.TenantID, u.CreatedAt
		*u = changed
		u.ID, u.TenantID, u.CreatedAt = id, tid, created
		return nil
	})
	must(t, "UpdateUser", err)
	want := changed
	want.TenantID, want.ID, want.CreatedAt, want.UpdatedAt = ten.ID, orig.ID, orig.CreatedAt, got.UpdatedAt
	wantSame(t, "UpdateUser result", got, want)
	if got.UpdatedAt.Before(orig.UpdatedAt) {
		t.Errorf("UpdatedAt went back")
	}
	fromGet, err := ts.GetUserByUsername(ctx(t), "ERIN")
	must(t, "GetUserByUsername", err)
	wantSame(t, "GetUserByUsername after update", fromGet, got)

	// The store keeps identity and creation time whatever fn does.
	got2, err := ts.UpdateUser(ctx(t), orig.ID, func(u *tenants.User) error {
		u.ID, u.TenantID, u.CreatedAt = "hijack", "hijack", u.CreatedAt.Add(-1000000)
		u.EmailVerified = false
		return nil
	})
	must(t, "UpdateUser", err)
	if got2.ID != orig.ID || got2.TenantID != ten.ID || !got2.CreatedAt.Equal(orig.CreatedAt) || got2.EmailVerified {
		t.Errorf("UpdateUser result %+v", got2)
	}
	fromGet, err = ts.GetUser(ctx(t), orig.ID)
	must(t, "GetUser", err)
	wantSame(t, "GetUser after second update", fromGet, got2)

	_, err = ts.UpdateUser(ctx(t), orig.ID, func(u *tenants.User) error { u.IsAdmin = false; return errBoom })
	if !errors.Is(err, errBoom) {
		t.Errorf("UpdateUser error = %v, want the function's error", err)
	}
	fromGet, err = ts.GetUser(ctx(t), orig.ID)
	must(t, "GetUser", err)
	wantSame(t, "GetUser after aborted update", fromGet, got2)
}

func testUserDelete(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	guid := uuid.NewString()
	u, err := ts.CreateUser(ctx(t), tenants.User{Username: "Frank", DirectoryGUID: guid})
	must(t, "CreateUser", err)
	must(t, "DeleteUser", ts.DeleteUser(ctx(t), u.ID))
	_, err = ts.GetUser(ctx(t), u.ID)
	wantErr(t, "GetUser after delete", err, store.ErrNotFound)
	_, err = ts.GetUserByUsername(ctx(t), "frank")
	wantErr(t, "GetUserByUsername after delete", err, store.ErrNotFound)
	_, err = ts.GetUserByDirectoryGUID(ctx(t), guid)
	wantErr(t, "GetUserByDirectoryGUID after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteUser twice", ts.DeleteUser(ctx(t), u.ID), store.ErrNotFound)
	_, err = ts.UpdateUser(ctx(t), u.ID, func(*tenants.User) error { return nil })
	wantErr(t, "UpdateUser after delete", err, store.ErrNotFound)
	if _, err := ts.CreateUser(ctx(t), tenants.User{Username: "frank", DirectoryGUID: guid}); err != nil {
		t.Errorf("CreateUser with the freed username and GUID: %v", err)
	}
}

func testUserList(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	var want []string
	for i := range 25 {
		name := fmt.Sprintf("user%02d", i)
		if i%3 == 0 {
			name = strings.ToUpper(name) // ordering is case-insensitive
		}
		want = append(want, name)
	}
	// Create them out of order.
	for _, i := range []int{7, 3, 24, 0, 11, 19, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 20, 21, 22, 23} {
		_, err := ts.CreateUser(ctx(t), tenants.User{Username: want[i]})
		must(t, "CreateUser", err)
	}
	var got []string
	var sizes []int
	after := ""
	for range 10 {
		page, err := ts.ListUsers(ctx(t), after, 10)
		must(t, "ListUsers", err)
		sizes = append(sizes, len(page))
		if len(page) == 0 {
			break
		}
		for _, u := range page {
			got = append(got, u.Username)
		}
		after = page[len(page)-1].Username
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged usernames = %v, want %v", got, want)
	}
	if !slices.Equal(sizes, []int{10, 10, 5, 0}) {
		t.Errorf("page sizes = %v, want [10 10 5 0]", sizes)
	}
	// The cursor is case-insensitive too.
	page, err := ts.ListUsers(ctx(t), "user20", 2)
	must(t, "ListUsers after user20", err)
	if len(page) != 2 || page[0].Username != "USER21" || page[1].Username != "user22" {
		t.Errorf("ListUsers(after user20, 2) = %+v", page)
	}
}

func testUserConcurrentUpdate(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	u, err := ts.CreateUser(ctx(t), tenants.User{Username: "counter"})
	must(t, "CreateUser", err)
	ok := concurrently(t, 4, 5, func() error {
		_, err := ts.UpdateUser(ctx(t), u.ID, func(x *tenants.User) error { x.DisplayName += "x"; return nil })
		return err
	})
	got, err := ts.GetUser(ctx(t), u.ID)
	must(t, "GetUser", err)
	if len(got.DisplayName) != ok {
		t.Errorf("DisplayName %q after %d successful appends", got.DisplayName, ok)
	}
}

func testUserUnknown(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	for _, id := range []string{uuid.NewString(), "not-a-uuid", ""} {
		_, err := ts.GetUser(ctx(t), id)
		wantErr(t, "GetUser("+id+")", err, store.ErrNotFound)
		_, err = ts.UpdateUser(ctx(t), id, func(*tenants.User) error { return nil })
		wantErr(t, "UpdateUser("+id+")", err, store.ErrNotFound)
		wantErr(t, "DeleteUser("+id+")", ts.DeleteUser(ctx(t), id), store.ErrNotFound)
		_, err = ts.GetUserByDirectoryGUID(ctx(t), id)
		wantErr(t, "GetUserByDirectoryGUID("+id+")", err, store.ErrNotFound)
	}
	_, err := ts.GetUserByUsername(ctx(t), "nobody")
	wantErr(t, "GetUserByUsername", err, store.ErrNotFound)
}

func testUserIsolation(t *testing.T, s store.Store) {
	a, tsA := createTenant(t, s)
	b, tsB := createTenant(t, s)
	org, err := tsA.CreateOrganisation(ctx(t), tenants.Organisation{Name: "A staff"})
	must(t, "CreateOrganisation", err)
	guid := uuid.NewString()
	uA, err := tsA.CreateUser(ctx(t), sampleUser("grace", guid, org.ID))
	must(t, "CreateUser A", err)

	_, err = tsB.GetUser(ctx(t), uA.ID)
	wantErr(t, "GetUser of A's user through B (R41)", err, store.ErrNotFound)
	_, err = tsB.GetUserByUsername(ctx(t), "grace")
	wantErr(t, "GetUserByUsername of A's user through B (R41)", err, store.ErrNotFound)
	_, err = tsB.GetUserByDirectoryGUID(ctx(t), guid)
	wantErr(t, "GetUserByDirectoryGUID of A's user through B (R41)", err, store.ErrNotFound)
	list, err := tsB.ListUsers(ctx(t), "", 100)
	must(t, "ListUsers B", err)
	if len(list) != 0 {
		t.Errorf("B lists %d users, want none", len(list))
	}
	_, err = tsB.UpdateUser(ctx(t), uA.ID, func(u *tenants.User) error { u.Email = "attacker@evil.example"; return nil })
	wantErr(t, "UpdateUser of A's user through B (R41)", err, store.ErrNotFound)
	wantErr(t, "DeleteUser of A's user through B (R41)", tsB.DeleteUser(ctx(t), uA.ID), store.ErrNotFound)

	// A TenantID supplied by the caller is ignored.
	uB, err := tsB.CreateUser(ctx(t), tenants.User{TenantID: a.ID, Username: "heidi"})
	must(t, "CreateUser through B naming A", err)
	if uB.TenantID != b.ID {
		t.Errorf("user created through B has TenantID %s, want %s", uB.TenantID, b.ID)
	}
	_, err = tsA.GetUserByUsername(ctx(t), "heidi")
	wantErr(t, "GetUserByUsername of B's user through A", err, store.ErrNotFound)

	got, err := tsA.GetUser(ctx(t), uA.ID)
	must(t, "GetUser A", err)
	wantSame(t, "A's user after B's attempts", got, uA)
	listA, err := tsA.ListUsers(ctx(t), "", 100)
	must(t, "ListUsers A", err)
	wantSame(t, "A's users after B's attempts", listA, []tenants.User{uA})
}
