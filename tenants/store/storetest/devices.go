package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

var deviceTests = []subTest{
	{"create and get round-trip; the store chooses the id and the creation time", testDeviceCreateGet},
	{"list returns the user's devices, oldest first", testDeviceList},
	{"duplicate id or (user, key id) already exists", testDeviceDuplicate},
	{"invalid devices are refused", testDeviceInvalid},
	{"update saves name, push token and times and keeps the rest", testDeviceUpdate},
	{"delete removes the device and its challenges", testDeviceDelete},
	{"deleting the user deletes the user's devices", testDeviceUserDeleted},
	{"unknown and malformed ids are not found", testDeviceUnknown},
	{"not visible from another tenant (R41)", testDeviceIsolation},
}

// sampleDevice is a device of user with every field set. Its public key
// holds every byte value (the store does not parse it).
func sampleDevice(t *testing.T, user string) tenants.Device {
	return tenants.Device{
		UserID: user, Name: "Ann's Pixel ✓", Platform: "android", KeyID: "k-" + randomLabel(t, 8),
		PublicKey: logoBytes()[:91], PushToken: "fcm:" + strings.Repeat("APA91b-", 20),
		PushTokenUpdatedAt: t0, LastSeenAt: t0.Add(time.Minute),
	}
}

func createDevice(t *testing.T, ts store.TenantStore, d tenants.Device) tenants.Device {
	t.Helper()
	got, err := ts.CreateDevice(ctx(t), d)
	must(t, "CreateDevice", err)
	return got
}

func getDevice(t *testing.T, ts store.TenantStore, id string) tenants.Device {
	t.Helper()
	got, err := ts.GetDevice(ctx(t), id)
	must(t, "GetDevice", err)
	return got
}

func testDeviceCreateGet(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	u := createFlowUser(t, ts, "ann")
	in := sampleDevice(t, u.ID)
	caller := in
	caller.TenantID, caller.CreatedAt = "someone-else", t0.Add(-time.Hour)
	got, err := ts.CreateDevice(ctx(t), caller)
	must(t, "CreateDevice", err)
	if !isUUID(got.ID) {
		t.Errorf("ID = %q, want a UUID chosen by the store", got.ID)
	}
	if got.CreatedAt.Equal(caller.CreatedAt) {
		t.Errorf("CreatedAt is the caller's, want the store's own time")
	}
	want := in
	want.TenantID, want.ID, want.CreatedAt = ten.ID, got.ID, got.CreatedAt
	wantSame(t, "CreateDevice result", got, want)
	wantUTC(t, "CreateDevice result", got.CreatedAt, got.PushTokenUpdatedAt, got.LastSeenAt)
	fromGet := getDevice(t, ts, got.ID)
	wantSame(t, "GetDevice", fromGet, got)
	wantUTC(t, "GetDevice", fromGet.CreatedAt, fromGet.PushTokenUpdatedAt, fromGet.LastSeenAt)

	// An id chosen by the caller is kept; a device that polls only has no
	// token and no times yet.
	bare := tenants.Device{ID: uuid.NewString(), UserID: u.ID, Platform: "cli", KeyID: "cli key/1",
		PublicKey: []byte{0}}
	gotBare := createDevice(t, ts, bare)
	want = bare
	want.TenantID, want.CreatedAt = ten.ID, gotBare.CreatedAt
	wantSame(t, "bare device", gotBare, want)
	if !gotBare.PushTokenUpdatedAt.IsZero() || !gotBare.LastSeenAt.IsZero() {
		t.Errorf("zero times came back as %s and %s", gotBare.PushTokenUpdatedAt, gotBare.LastSeenAt)
	}
	wantSame(t, "GetDevice bare", getDevice(t, ts, bare.ID), gotBare)
}

func isUUID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

func testDeviceList(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	u, other := createFlowUser(t, ts, "lister"), createFlowUser(t, ts, "other")
	var created []tenants.Device
	for range 3 {
		created = append(created, createDevice(t, ts, sampleDevice(t, u.ID)))
	}
	createDevice(t, ts, sampleDevice(t, other.ID))
	got, err := ts.ListDevices(ctx(t), u.ID)
	must(t, "ListDevices", err)
	want := slices.Clone(created)
	slices.SortFunc(want, func(a, b tenants.Device) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	wantSame(t, "ListDevices (oldest first)", got, want)
	for i := 1; i < len(created); i++ {
		if created[i].CreatedAt.Before(created[i-1].CreatedAt) {
			t.Errorf("device %d was created before device %d", i, i-1)
		}
	}
	for _, id := range []string{uuid.NewString(), createFlowUser(t, ts, "no-devices").ID} {
		if list, err := ts.ListDevices(ctx(t), id); err != nil || len(list) != 0 {
			t.Errorf("ListDevices of a user without devices = %v, %v; want none", list, err)
		}
	}
}

func testDeviceDuplicate(t *testing.T, s store.Store) {
	_, tsA := createTenant(t, s)
	_, tsB := createTenant(t, s)
	u, other := createFlowUser(t, tsA, "dup"), createFlowUser(t, tsA, "other")
	d := createDevice(t, tsA, sampleDevice(t, u.ID))

	sameID := sampleDevice(t, u.ID)
	sameID.ID = d.ID
	_, err := tsA.CreateDevice(ctx(t), sameID)
	wantErr(t, "CreateDevice with a taken id", err, store.ErrAlreadyExists)
	sameKey := sampleDevice(t, u.ID)
	sameKey.KeyID, sameKey.Name = d.KeyID, "second phone"
	_, err = tsA.CreateDevice(ctx(t), sameKey)
	wantErr(t, "CreateDevice with the user's key id taken", err, store.ErrAlreadyExists)
	wantSame(t, "the device after the duplicates", getDevice(t, tsA, d.ID), d)
	if list, err := tsA.ListDevices(ctx(t), u.ID); err != nil || len(list) != 1 {
		t.Errorf("ListDevices after the duplicates = %v, %v; want the one device", list, err)
	}

	// The key id is unique per user: another user of the tenant may have it.
	sameKey.UserID = other.ID
	if _, err := tsA.CreateDevice(ctx(t), sameKey); err != nil {
		t.Errorf("CreateDevice with another user's key id: %v", err)
	}
	// The same id and key id in another tenant are that tenant's own.
	uB := createFlowUser(t, tsB, "dup")
	inB := sampleDevice(t, uB.ID)
	inB.ID, inB.KeyID = d.ID, d.KeyID
	if _, err := tsB.CreateDevice(ctx(t), inB); err != nil {
		t.Errorf("the same device id and key id in another tenant: %v", err)
	}
}

func testDeviceInvalid(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	_, tsOther := createTenant(t, s)
	u := createFlowUser(t, ts, "valid")
	other := createFlowUser(t, tsOther, "other")
	for name, mod := range map[string]func(*tenants.Device){
		"a malformed id":             func(d *tenants.Device) { d.ID = "not-a-uuid" },
		"an upper-case id":           func(d *tenants.Device) { d.ID = strings.ToUpper(uuid.NewString()) },
		"no user":                    func(d *tenants.Device) { d.UserID = "" },
		"unknown user":               func(d *tenants.Device) { d.UserID = uuid.NewString() },
		"another tenant's user":      func(d *tenants.Device) { d.UserID = other.ID },
		"a malformed user id":        func(d *tenants.Device) { d.UserID = "not-a-uuid" },
		"no platform":                func(d *tenants.Device) { d.Platform = "" },
		"an unknown platform":        func(d *tenants.Device) { d.Platform = "windows" },
		"an upper-case platform":     func(d *tenants.Device) { d.Platform = "Android" },
		"a name of 101 characters":   func(d *tenants.Device) { d.Name = strings.Repeat("é", 101) },
		"a newline in the name":      func(d *tenants.Device) { d.Name = "Ann's\nPixel" },
		"a NUL in the name":          func(d *tenants.Device) { d.Name = "Ann\x00" },
		"a C1 control in the name":   func(d *tenants.Device) { d.Name = "Ann\u0085" },
		"invalid UTF-8 in the name":  func(d *tenants.Device) { d.Name = "Ann\xff" },
		"no key id":                  func(d *tenants.Device) { d.KeyID = "" },
		"a key id of 129 bytes":      func(d *tenants.Device) { d.KeyID = strings.Repeat("k", 129) },
		"a tab in the key id":        func(d *tenants.Device) { d.KeyID = "k\t1" },
		"a non-ASCII key id":         func(d *tenants.Device) { d.KeyID = "schlüssel" },
		"no public key":              func(d *tenants.Device) { d.PublicKey = nil },
		"a public key of 201 bytes":  func(d *tenants.Device) { d.PublicKey = make([]byte, 201) },
		"a push token of 4097 bytes": func(d *tenants.Device) { d.PushToken = strings.Repeat("t", 4097) },
		"a NUL in the push token":    func(d *tenants.Device) { d.PushToken = "tok\x00en" },
		"invalid UTF-8 in the token": func(d *tenants.Device) { d.PushToken = "tok\xc3" },
	} {
		d := sampleDevice(t, u.ID)
		mod(&d)
		_, err := ts.CreateDevice(ctx(t), d)
		wantErr(t, "CreateDevice with "+name, err, store.ErrInvalid)
	}
	if list, err := ts.ListDevices(ctx(t), u.ID); err != nil || len(list) != 0 {
		t.Errorf("ListDevices after the refused creates = %v, %v; want none", list, err)
	}
	// The limits themselves are fine.
	edge := sampleDevice(t, u.ID)
	edge.Name, edge.KeyID = strings.Repeat("é", 100), strings.Repeat("~", 127)+" "
	edge.PublicKey, edge.PushToken = make([]byte, 200), strings.Repeat("t", 4096)
	for _, p := range []string{"android", "ios", "cli"} {
		edge.Platform, edge.KeyID = p, edge.KeyID[1:]+p[:1]
		if _, err := ts.CreateDevice(ctx(t), edge); err != nil {
			t.Errorf("CreateDevice at the limits on %s: %v", p, err)
		}
	}

	d := createDevice(t, ts, sampleDevice(t, u.ID))
	for name, mod := range map[string]func(*tenants.Device){
		"a name of 101 characters":   func(d *tenants.Device) { d.Name = strings.Repeat("x", 101) },
		"a control in the name":      func(d *tenants.Device) { d.Name = "\x1b[31mred" },
		"a push token of 4097 bytes": func(d *tenants.Device) { d.PushToken = strings.Repeat("t", 4097) },
	} {
		_, err := ts.UpdateDevice(ctx(t), d.ID, func(x *tenants.Device) error { mod(x); return nil })
		wantErr(t, "UpdateDevice with "+name, err, store.ErrInvalid)
	}
	wantSame(t, "device after refused updates", getDevice(t, ts, d.ID), d)
}

func testDeviceUpdate(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	u, other := createFlowUser(t, ts, "updater"), createFlowUser(t, ts, "other")
	created := createDevice(t, ts, sampleDevice(t, u.ID))

	got, err := ts.UpdateDevice(ctx(t), created.ID, func(d *tenants.Device) error {
		wantSame(t, "the device fn is given", *d, created)
		d.Name, d.PushToken = "Ann's new name", "fcm:rotated"
		d.PushTokenUpdatedAt, d.LastSeenAt = t0.Add(time.Hour), t0.Add(2*time.Hour)
		// None of these is saved.
		d.TenantID, d.ID, d.UserID, d.Platform = "someone-else", uuid.NewString(), other.ID, "ios"
		d.KeyID, d.PublicKey, d.CreatedAt = "forged", []byte("forged key"), t0.Add(-time.Hour)
		return nil
	})
	must(t, "UpdateDevice", err)
	want := created
	want.Name, want.PushToken = "Ann's new name", "fcm:rotated"
	want.PushTokenUpdatedAt, want.LastSeenAt = t0.Add(time.Hour), t0.Add(2*time.Hour)
	wantSame(t, "UpdateDevice result (immutable fields kept)", got, want)
	wantUTC(t, "UpdateDevice result", got.CreatedAt, got.PushTokenUpdatedAt, got.LastSeenAt)
	if got.TenantID != ten.ID {
		t.Errorf("TenantID = %s, want %s", got.TenantID, ten.ID)
	}
	wantSame(t, "GetDevice after update", getDevice(t, ts, created.ID), got)
	if list, err := ts.ListDevices(ctx(t), other.ID); err != nil || len(list) != 0 {
		t.Errorf("the device moved to another user: %v, %v", list, err)
	}

	// FCM reported the token unregistered: the token and its time go.
	cleared, err := ts.UpdateDevice(ctx(t), created.ID, func(d *tenants.Device) error {
		d.PushToken, d.PushTokenUpdatedAt = "", time.Time{}
		return nil
	})
	must(t, "UpdateDevice clearing the token", err)
	if cleared.PushToken != "" || !cleared.PushTokenUpdatedAt.IsZero() {
		t.Errorf("cleared token came back as %q at %s", cleared.PushToken, cleared.PushTokenUpdatedAt)
	}
	wantSame(t, "GetDevice after clearing", getDevice(t, ts, created.ID), cleared)

	// An error from fn aborts the update and reaches the caller.
	_, err = ts.UpdateDevice(ctx(t), created.ID, func(d *tenants.Device) error {
		d.Name = "never saved"
		return errBoom
	})
	wantErr(t, "UpdateDevice with a failing fn", err, errBoom)
	wantSame(t, "device after the aborted update", getDevice(t, ts, created.ID), cleared)
}

func testDeviceDelete(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	u := createFlowUser(t, ts, "deleter")
	d, keep := createDevice(t, ts, sampleDevice(t, u.ID)), createDevice(t, ts, sampleDevice(t, u.ID))
	c, kept := sampleChallenge(t, u.ID, d.ID), sampleChallenge(t, u.ID, keep.ID)
	must(t, "CreateChallenge", ts.CreateChallenge(ctx(t), c))
	must(t, "CreateChallenge", ts.CreateChallenge(ctx(t), kept))

	must(t, "DeleteDevice", ts.DeleteDevice(ctx(t), d.ID))
	_, err := ts.GetDevice(ctx(t), d.ID)
	wantErr(t, "GetDevice after delete", err, store.ErrNotFound)
	_, err = ts.GetChallenge(ctx(t), c.CID)
	wantErr(t, "GetChallenge of the deleted device's challenge", err, store.ErrNotFound)
	if _, err := ts.GetChallenge(ctx(t), kept.CID); err != nil {
		t.Errorf("GetChallenge of another device's challenge: %v", err)
	}
	_, err = ts.UpdateDevice(ctx(t), d.ID, func(*tenants.Device) error { return nil })
	wantErr(t, "UpdateDevice after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteDevice twice", ts.DeleteDevice(ctx(t), d.ID), store.ErrNotFound)
	wantSame(t, "ListDevices after delete", listDevices(t, ts, u.ID), []tenants.Device{keep})
	// The key id is free again.
	again := sampleDevice(t, u.ID)
	again.KeyID = d.KeyID
	if _, err := ts.CreateDevice(ctx(t), again); err != nil {
		t.Errorf("CreateDevice with the key id of a deleted device: %v", err)
	}
}

func listDevices(t *testing.T, ts store.TenantStore, user string) []tenants.Device {
	t.Helper()
	list, err := ts.ListDevices(ctx(t), user)
	must(t, "ListDevices", err)
	return list
}

func testDeviceUserDeleted(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	u, keep := createFlowUser(t, ts, "leaver"), createFlowUser(t, ts, "stayer")
	gone, kept := createDevice(t, ts, sampleDevice(t, u.ID)), createDevice(t, ts, sampleDevice(t, keep.ID))
	c := sampleChallenge(t, u.ID, gone.ID)
	must(t, "CreateChallenge", ts.CreateChallenge(ctx(t), c))

	must(t, "DeleteUser", ts.DeleteUser(ctx(t), u.ID))
	_, err := ts.GetDevice(ctx(t), gone.ID)
	wantErr(t, "GetDevice of the deleted user's device", err, store.ErrNotFound)
	_, err = ts.GetChallenge(ctx(t), c.CID)
	wantErr(t, "GetChallenge of the deleted user's challenge", err, store.ErrNotFound)
	if list := listDevices(t, ts, u.ID); len(list) != 0 {
		t.Errorf("ListDevices of the deleted user = %v", list)
	}
	wantSame(t, "the other user's device", getDevice(t, ts, kept.ID), kept)
}

func testDeviceUnknown(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	for _, id := range []string{uuid.NewString(), "not-a-uuid", "", "'; DROP TABLE devices; --"} {
		_, err := ts.GetDevice(ctx(t), id)
		wantErr(t, "GetDevice("+id+")", err, store.ErrNotFound)
		called := false
		_, err = ts.UpdateDevice(ctx(t), id, func(*tenants.Device) error { called = true; return nil })
		wantErr(t, "UpdateDevice("+id+")", err, store.ErrNotFound)
		if called {
			t.Errorf("UpdateDevice(%q) called fn", id)
		}
		wantErr(t, "DeleteDevice("+id+")", ts.DeleteDevice(ctx(t), id), store.ErrNotFound)
		if list, err := ts.ListDevices(ctx(t), id); err != nil || len(list) != 0 {
			t.Errorf("ListDevices(%q) = %v, %v; want none", id, list, err)
		}
	}
	ghost := s.Tenant(tenants.ID(uuid.NewString()))
	_, err := ghost.CreateDevice(ctx(t), sampleDevice(t, uuid.NewString()))
	wantErr(t, "CreateDevice for a tenant that does not exist", err, store.ErrNotFound)
}

func testDeviceIsolation(t *testing.T, s store.Store) {
	a, tsA := createTenant(t, s)
	b, tsB := createTenant(t, s)
	uA := createFlowUser(t, tsA, "alice")
	dA := createDevice(t, tsA, sampleDevice(t, uA.ID))

	_, err := tsB.GetDevice(ctx(t), dA.ID)
	wantErr(t, "GetDevice of A's device through B (R41)", err, store.ErrNotFound)
	if list, err := tsB.ListDevices(ctx(t), uA.ID); err != nil || len(list) != 0 {
		t.Errorf("ListDevices of A's user through B = %v, %v; want none (R41)", list, err)
	}
	_, err = tsB.UpdateDevice(ctx(t), dA.ID, func(d *tenants.Device) error { d.PushToken = "attacker"; return nil })
	wantErr(t, "UpdateDevice of A's device through B (R41)", err, store.ErrNotFound)
	wantErr(t, "DeleteDevice of A's device through B (R41)", tsB.DeleteDevice(ctx(t), dA.ID), store.ErrNotFound)
	_, err = tsB.CreateDevice(ctx(t), sampleDevice(t, uA.ID))
	wantErr(t, "CreateDevice through B for A's user (R41)", err, store.ErrInvalid)

	// A TenantID supplied by the caller is ignored.
	uB := createFlowUser(t, tsB, "bob")
	in := sampleDevice(t, uB.ID)
	in.TenantID = a.ID
	dB := createDevice(t, tsB, in)
	if dB.TenantID != b.ID {
		t.Errorf("device created through B has TenantID %s, want %s", dB.TenantID, b.ID)
	}
	_, err = tsA.GetDevice(ctx(t), dB.ID)
	wantErr(t, "GetDevice of B's device through A", err, store.ErrNotFound)

	wantSame(t, "A's device after B's attempts", getDevice(t, tsA, dA.ID), dA)
	wantSame(t, "A's devices after B's attempts", listDevices(t, tsA, uA.ID), []tenants.Device{dA})
}
