// Package storetest is the conformance suite every tenants/store backend must
// pass (in the manner of dex's storage/conformance and kratos's contract
// tests). A backend's test calls Run with a function that returns a ready,
// migrated store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
//	}
//
// # How the suite uses the store
//
// Run calls newStore once per top-level group (Tenants, Hosts, Organisations,
// Users, Audit, Connectors, UnknownTenant) and shares that store between the group's
// subtests. newStore may hand out a fresh database each time or the same one:
// the suite never assumes a table is empty. It creates every tenant it uses
// through Platform().CreateTenant with a random slug and random hosts, and
// only looks at what it created. newStore should register the store's Close
// with t.Cleanup. Subtests do not run in parallel with each other; the
// concurrency tests start their own goroutines.
//
// # What the suite holds a backend to
//
// Beyond the comments in tenants/store, the suite checks:
//   - Isolation (R41): every entity has a "not visible from another tenant"
//     subtest: through tenant B's TenantStore, tenant A's objects cannot be
//     read, listed, updated or deleted (ErrNotFound or an empty list), and A's
//     data is unchanged afterwards. TenantID fields passed in by the caller are
//     ignored; the TenantStore's own tenant is always used. References to
//     another tenant's objects (a user's organisation, a tenant's default
//     organisation or canonical host) are refused.
//   - An unknown or malformed tenant or object id finds nothing (ErrNotFound),
//     it never produces a driver error.
//   - Round-trips: what the store returns from Create/Update equals what Get
//     and List return later, including Branding.Logo bytes and nested Policy
//     JSON (pointers, maps, false booleans). Nil and empty slices/maps count as
//     equal. Timestamps come back in UTC; caller-supplied times (audit events)
//     keep microsecond precision, the finest PostgreSQL stores.
//   - CanonicalHost is empty or one of the tenant's own hosts, and exactly
//     that host is marked Primary. Any change to the tenant's hosts or its
//     default organisation bumps the tenant's ResourceVersion (caches compare
//     it). Removing the canonical host clears CanonicalHost.
//   - Join tokens are single-use under concurrency: of 20 goroutines
//     redeeming one token exactly one gets a connector (R5, R52); expired,
//     used, unknown and other tenants' tokens all find nothing.
//   - Updates never lose a concurrent change; the audit chain stays one
//     unbroken chain under concurrent appends (audit.Verify accepts it).
package storetest
