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
// Users, Audit, Connectors, Flows, Sessions, Counters, Outbox, Devices,
// Challenges, UnknownTenant)
// and shares that store between the group's
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
//
// # Self-service storage
//
// The flow, session, counter and outbox methods take their times from the
// caller, and the suite passes explicit ones (t0, in 2031, not in UTC), never
// the wall clock; only CreatedAt/UpdatedAt of flows and messages, and the
// defaults of a session's CreatedAt/LastSeenAt, come from the store's clock.
// Beyond the comments in tenants/store, the suite holds backends to:
//   - Flow and session ids are 64 lowercase hex digits: anything else is
//     ErrInvalid on create and ErrNotFound on lookup. A flow's UserID (empty
//     for a decoy, R1) and a session's UserID must be one of the tenant's
//     users (else ErrInvalid); deleting the user deletes its flows and
//     sessions. Flow state is at most 64 KiB.
//   - UpdateFlow is a compare-and-swap on Version: of 20 concurrent updates at
//     one version exactly one succeeds, the others get ErrConflict (R5), and a
//     replayed step conflicts too. It saves UserID, State and ExpiresAt only.
//   - TouchSession never moves LastSeenAt or AuthAt back. The revoke-many
//     methods count (and revoke) live sessions only: not revoked, not expired
//     at the given time.
//   - Hit is atomic: 20 concurrent goroutines' hits sum exactly and each hit
//     sees a count of its own. Windows are [now.Truncate(window), +window),
//     fixed to the clock; one key counted over windows of different lengths
//     keeps a counter per length. Keys are 1–256 bytes of UTF-8 without NUL,
//     compared byte for byte; window ≥ 1µs, n ≥ 1 (else ErrInvalid).
//   - Purges delete what ended strictly before the given time.
//   - ClaimMessages leases due messages (pending, NextAttemptAt <= now, lease
//     lapsed: LeaseUntil <= now) oldest first; two concurrent claimers never
//     get the same message. Mark* apply only to pending messages: settling a
//     sent or dead message is ErrConflict. LastError is cut to 1000 bytes.
//     TenantsWithDueMessages lists tenants by their oldest due message.
//   - The self-service fields of User and Tenant round-trip; zero times are
//     stored as none. User.PushHistory comes back byte for byte (the store
//     does not parse it); empty is none (nil); at most 64 KiB.
//
// # Devices and push challenges
//
//   - A device's ID is the caller's (a UUID) or chosen by the store; its
//     CreatedAt is the store's clock. UserID must be one of the tenant's
//     users (else ErrInvalid); KeyID is unique per user (ErrAlreadyExists);
//     Name is at most 100 characters without control characters, Platform
//     one of android, ios, cli, KeyID 1–128 bytes of printable ASCII,
//     PublicKey 1–200 bytes (not parsed), PushToken at most 4096 bytes.
//     UpdateDevice saves Name, PushToken, PushTokenUpdatedAt and LastSeenAt
//     only. Deleting a device deletes its challenges; deleting a user deletes
//     the user's devices and challenges.
//   - A challenge's CID is 32 lowercase hex digits, unique per tenant; its
//     device must be its user's (else ErrInvalid); Context is a JSON object of
//     at most 4 KiB, kept byte for byte; Number is 0 or 10–99; ExpiresAt is
//     after CreatedAt. AnswerChallenge is one conditional update: of 20
//     concurrent answers to one pending challenge exactly one wins and the
//     others get won=false without an error (R30). ListPendingChallenges has
//     the device's pending challenges with ExpiresAt > now, newest first.
package storetest
