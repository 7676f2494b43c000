package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// Run runs the whole conformance suite against the stores newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []subTest
	}{
		{"Tenants", tenantTests},
		{"Hosts", hostTests},
		{"Organisations", organisationTests},
		{"Users", userTests},
		{"Audit", auditTests},
		{"Connectors", connectorTests},
		{"Flows", flowTests},
		{"Sessions", sessionTests},
		{"Counters", counterTests},
		{"Outbox", outboxTests},
		{"Devices", deviceTests},
		{"Challenges", challengeTests},
		{"UnknownTenant", unknownTenantTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			for _, st := range g.tests {
				t.Run(st.name, func(t *testing.T) { st.run(t, s) })
			}
		})
	}
}

type subTest struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// randomLabel returns n random bytes as lower-case hex, so that every run
// (and every backend sharing one database) gets fresh slugs and hosts.
func randomLabel(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("read random: %v", err)
	}
	return hex.EncodeToString(b)
}

// newSlug returns a fresh lower-case DNS label.
func newSlug(t *testing.T) string { return "st" + randomLabel(t, 6) }

// newHost returns a fresh host name that no other test uses.
func newHost(t *testing.T) string { return randomLabel(t, 6) + ".hosts.storetest.example" }

// platformHost is the host a tenant gets on the platform domain.
func platformHost(slug string) string { return slug + ".platform.storetest.example" }

// createTenant creates a tenant with a random slug and its platform host and
// returns it with its TenantStore.
func createTenant(t *testing.T, s store.Store) (tenants.Tenant, store.TenantStore) {
	t.Helper()
	slug := newSlug(t)
	ten, err := s.Platform().CreateTenant(t.Context(), tenants.Tenant{Slug: slug, Name: "Tenant " + slug},
		[]tenants.Host{{Host: platformHost(slug)}})
	if err != nil {
		t.Fatalf("CreateTenant(%s): %v", slug, err)
	}
	return ten, s.Tenant(ten.ID)
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want %v", what, err, target)
	}
}

// must fails the test now when err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantSame fails the test when got and want differ (see diff).
func wantSame(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := diff(got, want); d != "" {
		t.Errorf("%s: %s", what, d)
	}
}

// getTenant loads a tenant through its own store or fails the test.
func getTenant(t *testing.T, ts store.TenantStore) tenants.Tenant {
	t.Helper()
	got, err := ts.Get(t.Context())
	must(t, "Get tenant", err)
	return got
}

// errBoom is returned by update functions to check that their error aborts
// the update and reaches the caller.
var errBoom = errors.New("boom")

// ctx is a shorthand used by the groups.
func ctx(t *testing.T) context.Context { return t.Context() }
