package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

func testUserSelfServiceFields(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	in := sampleUser("Ivan", "", "")
	in.Enrollment = richEnrollment()
	in.FailedVerifications = 3
	in.SelfServiceLockedUntil = t0.Add(15 * time.Minute)
	in.FrozenAt = t0
	got, err := ts.CreateUser(ctx(t), in)
	must(t, "CreateUser", err)
	want := in
	want.TenantID, want.ID, want.CreatedAt, want.UpdatedAt = ten.ID, got.ID, got.CreatedAt, got.UpdatedAt
	wantSame(t, "CreateUser result", got, want)
	wantUTC(t, "CreateUser times", got.SelfServiceLockedUntil, got.FrozenAt)
	for name, read := range map[string]func() (tenants.User, error){
		"GetUser":           func() (tenants.User, error) { return ts.GetUser(ctx(t), got.ID) },
		"GetUserByUsername": func() (tenants.User, error) { return ts.GetUserByUsername(ctx(t), "ivan") },
		"ListUsers": func() (tenants.User, error) {
			us, err := ts.ListUsers(ctx(t), "", 10)
			if err != nil || len(us) != 1 {
				return tenants.User{}, err
			}
			return us[0], nil
		},
	} {
		u, err := read()
		must(t, name, err)
		wantSame(t, name, u, got)
		wantUTC(t, name, u.SelfServiceLockedUntil, u.FrozenAt)
	}

	// Unfreezing and unlocking clears the times; the enrollment changes.
	next, err := ts.UpdateUser(ctx(t), got.ID, func(u *tenants.User) error {
		u.FrozenAt, u.SelfServiceLockedUntil, u.FailedVerifications = time.Time{}, time.Time{}, 0
		u.Enrollment.Questions = u.Enrollment.Questions[:1]
		u.Enrollment.Preferred = tenants.FactorEmail
		return nil
	})
	must(t, "UpdateUser", err)
	fromGet, err := ts.GetUser(ctx(t), got.ID)
	must(t, "GetUser after update", err)
	wantSame(t, "GetUser after update", fromGet, next)
	if !fromGet.FrozenAt.IsZero() || !fromGet.SelfServiceLockedUntil.IsZero() || fromGet.FailedVerifications != 0 {
		t.Errorf("cleared fields came back as %+v", fromGet)
	}
	if len(fromGet.Enrollment.Questions) != 1 || fromGet.Enrollment.Preferred != tenants.FactorEmail ||
		!fromGet.Enrollment.EmailFromDirectory {
		t.Errorf("Enrollment after update = %+v", fromGet.Enrollment)
	}

	// Freezing later sets the time again.
	frozen, err := ts.UpdateUser(ctx(t), got.ID, func(u *tenants.User) error { u.FrozenAt = t0.Add(time.Hour); return nil })
	must(t, "UpdateUser freeze", err)
	wantStored(t, "FrozenAt", frozen.FrozenAt, t0.Add(time.Hour))
	fromGet, err = ts.GetUser(ctx(t), got.ID)
	must(t, "GetUser after freeze", err)
	wantSame(t, "GetUser after freeze", fromGet, frozen)

	_, err = ts.CreateUser(ctx(t), tenants.User{Username: "negative", FailedVerifications: -1})
	wantErr(t, "CreateUser with negative failed verifications", err, store.ErrInvalid)
	_, err = ts.UpdateUser(ctx(t), got.ID, func(u *tenants.User) error { u.FailedVerifications = -1; return nil })
	wantErr(t, "UpdateUser to negative failed verifications", err, store.ErrInvalid)
}

func testTenantSelfService(t *testing.T, s store.Store) {
	slug := newSlug(t)
	in := tenants.Tenant{Slug: slug, Name: "Self " + slug, SelfService: richSelfService()}
	got, err := s.Platform().CreateTenant(ctx(t), in, []tenants.Host{{Host: platformHost(slug)}})
	must(t, "CreateTenant", err)
	wantSame(t, "CreateTenant self-service", got.SelfService, in.SelfService)
	fromGet := getTenant(t, s.Tenant(got.ID))
	wantSame(t, "Get", fromGet, got)
	bySlug, err := s.Platform().TenantBySlug(ctx(t), slug)
	must(t, "TenantBySlug", err)
	wantSame(t, "TenantBySlug", bySlug, got)
	wantSame(t, "ListTenants entry", listedTenant(t, s, got.ID), got)

	updated, err := s.Tenant(got.ID).Update(ctx(t), func(x *tenants.Tenant) error {
		x.SelfService.Captcha = "off"
		x.SelfService.SMSProvider = nil
		delete(x.SelfService.Messages, "code")
		x.SelfService.LockoutDuration = time.Hour
		return nil
	})
	must(t, "Update", err)
	fromGet = getTenant(t, s.Tenant(got.ID))
	wantSame(t, "Get after update", fromGet, updated)
	ss := fromGet.SelfService
	if ss.Captcha != "off" || ss.SMSProvider != nil || len(ss.Messages) != 1 || ss.LockoutDuration != time.Hour ||
		len(ss.Questions) != 2 {
		t.Errorf("self-service settings after update = %+v", ss)
	}

	// A tenant created without settings has the zero value.
	bare, _ := createTenant(t, s)
	wantSame(t, "settings of a new tenant", bare.SelfService, tenants.SelfServiceSettings{})
	wantSame(t, "Get settings of a new tenant", getTenant(t, s.Tenant(bare.ID)).SelfService, tenants.SelfServiceSettings{})
}

func testUserPushHistory(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	u, err := ts.CreateUser(ctx(t), tenants.User{Username: "pusher"})
	must(t, "CreateUser", err)
	if u.PushHistory != nil {
		t.Errorf("PushHistory of a new user = %q, want nil", u.PushHistory)
	}
	// The store keeps the history as bytes: key order, spacing and escapes
	// come back as they went in.
	history := []byte(`{"z":1,  "a":[{"at":"2031-05-06T07:08:09Z","ok":true}],"s":"\u00e9"}`)
	got, err := ts.UpdateUser(ctx(t), u.ID, func(x *tenants.User) error { x.PushHistory = history; return nil })
	must(t, "UpdateUser", err)
	fromGet, err := ts.GetUser(ctx(t), u.ID)
	must(t, "GetUser", err)
	wantSame(t, "GetUser after setting the history", fromGet, got)
	if !bytes.Equal(fromGet.PushHistory, history) {
		t.Errorf("PushHistory = %q, want %q", fromGet.PushHistory, history)
	}
	// Another update keeps it; emptying it leaves none.
	kept, err := ts.UpdateUser(ctx(t), u.ID, func(x *tenants.User) error { x.Locale = "de"; return nil })
	must(t, "UpdateUser keeping the history", err)
	if !bytes.Equal(kept.PushHistory, history) {
		t.Errorf("PushHistory after an unrelated update = %q", kept.PushHistory)
	}
	for _, empty := range [][]byte{{}, nil} {
		cleared, err := ts.UpdateUser(ctx(t), u.ID, func(x *tenants.User) error { x.PushHistory = empty; return nil })
		must(t, "UpdateUser clearing the history", err)
		fromGet, err = ts.GetUser(ctx(t), u.ID)
		must(t, "GetUser after clearing", err)
		if cleared.PushHistory != nil || fromGet.PushHistory != nil {
			t.Errorf("cleared PushHistory came back as %q and %q, want nil", cleared.PushHistory, fromGet.PushHistory)
		}
	}
	// Created with a history; at most 64 KiB.
	withHistory, err := ts.CreateUser(ctx(t), tenants.User{Username: "pusher2", PushHistory: []byte(`[]`)})
	must(t, "CreateUser with a history", err)
	fromGet, err = ts.GetUser(ctx(t), withHistory.ID)
	must(t, "GetUser", err)
	wantSame(t, "GetUser of a user created with a history", fromGet, withHistory)
	full := bytes.Repeat([]byte{' '}, 64<<10)
	if _, err := ts.UpdateUser(ctx(t), u.ID, func(x *tenants.User) error { x.PushHistory = full; return nil }); err != nil {
		t.Errorf("UpdateUser with a history of exactly 64 KiB: %v", err)
	}
	_, err = ts.UpdateUser(ctx(t), u.ID, func(x *tenants.User) error { x.PushHistory = append(full, ' '); return nil })
	wantErr(t, "UpdateUser with a history over 64 KiB", err, store.ErrInvalid)
	_, err = ts.CreateUser(ctx(t), tenants.User{Username: "pusher3", PushHistory: append(full, ' ')})
	wantErr(t, "CreateUser with a history over 64 KiB", err, store.ErrInvalid)
}
