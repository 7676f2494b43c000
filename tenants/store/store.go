// Package store declares the storage API of Latchkey's control plane: one set of
// interfaces that every backend implements (tenants/store/sqlite for single-box
// installs and the demo, tenants/store/postgres for production) and that the
// conformance suite in tenants/store/storetest proves.
//
// Tenant isolation is part of the API's shape: everything a tenant owns is reached
// through Store.Tenant(id), whose methods filter on that tenant and (on
// PostgreSQL) run with app.tenant_id set so that row-level security enforces the
// same rule a second time. Cross-tenant operations are few and live in Platform.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/tenants"
)

// Sentinel errors every backend returns (wrapped is fine; compare with errors.Is).
var (
	// ErrNotFound: no such object for this tenant (also when it exists for another).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a unique key (slug, host, username, …) is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: an optimistic update lost against a concurrent change.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the object does not pass validation.
	ErrInvalid = errors.New("invalid")
)

// Store is a storage backend.
type Store interface {
	// Platform returns the cross-tenant operations (operator CLI, host resolution).
	Platform() Platform
	// Tenant returns the operations scoped to one tenant. It does no I/O; an
	// unknown id simply finds nothing.
	Tenant(id tenants.ID) TenantStore
	// Ping checks that the database answers (used by /readyz).
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}

// Platform holds the few operations that are not scoped to one tenant.
type Platform interface {
	// CreateTenant stores a new tenant together with its hosts (at least its
	// platform host). t.ID, ResourceVersion and timestamps are set by the store
	// and returned. ErrAlreadyExists when the slug or a host is taken.
	CreateTenant(ctx context.Context, t tenants.Tenant, hosts []tenants.Host) (tenants.Tenant, error)
	// ListTenants returns every tenant, ordered by slug.
	ListTenants(ctx context.Context) ([]tenants.Tenant, error)
	// TenantBySlug finds a tenant by its slug.
	TenantBySlug(ctx context.Context, slug string) (tenants.Tenant, error)
	// ResolveHost returns the tenant that owns the normalised host, or ErrNotFound.
	ResolveHost(ctx context.Context, host string) (tenants.ID, error)
	// ConnectorByID finds a connector by its id alone, for the hub, which
	// learns the tenant from the record (never from the request). Revoked
	// connectors are returned too (RevokedAt set); ErrNotFound when no tenant
	// has a connector with that id.
	ConnectorByID(ctx context.Context, id string) (tenants.Connector, error)
	// TenantsWithDueMessages returns the ids of the tenants that have outbox
	// messages due at now (pending with NextAttemptAt <= now and no live
	// lease), at most limit of them, for the notification workers. On
	// PostgreSQL it is a SECURITY DEFINER function that returns ids only.
	TenantsWithDueMessages(ctx context.Context, now time.Time, limit int) ([]tenants.ID, error)
}

// TenantStore holds one tenant's data. Every method sees only that tenant.
type TenantStore interface {
	// Get returns the tenant itself.
	Get(ctx context.Context) (tenants.Tenant, error)
	// Update loads the tenant, applies fn and saves it, bumping ResourceVersion.
	// fn may be called more than once. ID, Slug and timestamps are not changed by fn.
	Update(ctx context.Context, fn func(*tenants.Tenant) error) (tenants.Tenant, error)

	// AddHost adds a host (ErrAlreadyExists if any tenant has it). When h.Primary
	// is set the tenant's other hosts stop being primary and the tenant's
	// CanonicalHost becomes h.Host.
	AddHost(ctx context.Context, h tenants.Host) error
	// ListHosts returns the tenant's hosts, ordered by host.
	ListHosts(ctx context.Context) ([]tenants.Host, error)
	// RemoveHost removes one of the tenant's hosts (ErrNotFound if it has no such host).
	RemoveHost(ctx context.Context, host string) error

	// CreateOrganisation stores a new organisation; ID, ResourceVersion and
	// timestamps are set by the store. If the tenant has no default organisation
	// yet, this one becomes it.
	CreateOrganisation(ctx context.Context, o tenants.Organisation) (tenants.Organisation, error)
	GetOrganisation(ctx context.Context, id string) (tenants.Organisation, error)
	// ListOrganisations returns the tenant's organisations by Priority, then Name.
	ListOrganisations(ctx context.Context) ([]tenants.Organisation, error)
	// UpdateOrganisation works like Update.
	UpdateOrganisation(ctx context.Context, id string, fn func(*tenants.Organisation) error) (tenants.Organisation, error)
	// DeleteOrganisation deletes an organisation; ErrConflict if it is the
	// tenant's default organisation or users still belong to it.
	DeleteOrganisation(ctx context.Context, id string) error

	// CreateUser stores a user's enrollment record (ErrAlreadyExists when the
	// username or directory GUID is taken in this tenant).
	CreateUser(ctx context.Context, u tenants.User) (tenants.User, error)
	GetUser(ctx context.Context, id string) (tenants.User, error)
	// GetUserByUsername matches the username case-insensitively.
	GetUserByUsername(ctx context.Context, username string) (tenants.User, error)
	GetUserByDirectoryGUID(ctx context.Context, guid string) (tenants.User, error)
	// ListUsers returns up to limit users ordered by username, after the given
	// username (empty for the first page).
	ListUsers(ctx context.Context, after string, limit int) ([]tenants.User, error)
	UpdateUser(ctx context.Context, id string, fn func(*tenants.User) error) (tenants.User, error)
	DeleteUser(ctx context.Context, id string) error

	// AppendAudit appends e to the tenant's hash chain: it sets Seq, PrevHash and
	// Hash (Time too when zero) inside one transaction, so that concurrent appends
	// still form one unbroken chain, and returns the stored event.
	AppendAudit(ctx context.Context, e tenants.AuditEvent) (tenants.AuditEvent, error)
	// ListAudit returns up to limit events with Seq > afterSeq, in Seq order.
	ListAudit(ctx context.Context, afterSeq int64, limit int) ([]tenants.AuditEvent, error)

	// CreateJoinToken stores a join token: tok.Hash (the SHA-256 of the token,
	// 32 bytes), ExpiresAt (after now) and CreatedBy come from the caller; ID
	// and CreatedAt are set by the store. UsedAt and ConnectorID must be zero.
	CreateJoinToken(ctx context.Context, tok tenants.JoinToken) (tenants.JoinToken, error)
	// ListJoinTokens returns the tenant's join tokens (hashes included),
	// newest first.
	ListJoinTokens(ctx context.Context) ([]tenants.JoinToken, error)
	// RedeemJoinToken uses up the tenant's unused, unexpired token whose hash
	// is tokenHash and registers c in the same transaction: one conditional
	// UPDATE (used_at IS NULL AND expires_at > now) claims the token, so that
	// of any number of concurrent redemptions exactly one succeeds (R5, R52).
	// The store sets c's ID, TenantID and CreatedAt and clears LastSeenAt and
	// RevokedAt. ErrNotFound when no such token is usable — unknown, used,
	// expired or another tenant's alike.
	RedeemJoinToken(ctx context.Context, tokenHash []byte, c tenants.Connector) (tenants.Connector, error)
	GetConnector(ctx context.Context, id string) (tenants.Connector, error)
	// ListConnectors returns the tenant's connectors, oldest first.
	ListConnectors(ctx context.Context) ([]tenants.Connector, error)
	// RevokeConnector sets the connector's RevokedAt (kept when it is revoked
	// already) and returns the record.
	RevokeConnector(ctx context.Context, id string) (tenants.Connector, error)
	// TouchConnector sets the connector's LastSeenAt to at, unless it is
	// later already (a hub heard from it).
	TouchConnector(ctx context.Context, id string, at time.Time) error

	// Self-service flows (portal/flow). CreateFlow stores f (ID, Action,
	// ExpiresAt from the caller; Version becomes 1, timestamps set by the
	// store); ErrAlreadyExists on a duplicate ID.
	CreateFlow(ctx context.Context, f tenants.Flow) (tenants.Flow, error)
	// GetFlow returns the flow with that ID, expired or not (the engine
	// decides); ErrNotFound when there is none.
	GetFlow(ctx context.Context, id string) (tenants.Flow, error)
	// UpdateFlow saves f.UserID, f.State and f.ExpiresAt when the stored
	// Version equals f.Version, in one conditional UPDATE, and returns the
	// flow with Version+1; ErrConflict when the version differs (a
	// concurrent or replayed step), ErrNotFound when the flow is gone.
	UpdateFlow(ctx context.Context, f tenants.Flow) (tenants.Flow, error)
	// DeleteFlow removes a flow (ErrNotFound when there is none).
	DeleteFlow(ctx context.Context, id string) error
	// PurgeFlows deletes the flows that expired before t and returns how many.
	PurgeFlows(ctx context.Context, before time.Time) (int, error)

	// Sessions (R36, R37). CreateSession stores s as given (CreatedAt and
	// LastSeenAt default to now when zero); ErrAlreadyExists on a duplicate ID.
	CreateSession(ctx context.Context, s tenants.Session) (tenants.Session, error)
	// GetSession returns the session, revoked or expired ones included.
	GetSession(ctx context.Context, id string) (tenants.Session, error)
	// TouchSession sets LastSeenAt (and AuthAt when authAt is not zero).
	TouchSession(ctx context.Context, id string, seen, authAt time.Time) error
	// RevokeSession sets RevokedAt on one session (kept when already set).
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// RevokeUserSessions revokes every live session of the user except the
	// one whose ID is except ("" for none) and returns how many it revoked.
	RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int, error)
	// RevokeAllSessions revokes every live session of the tenant.
	RevokeAllSessions(ctx context.Context, at time.Time) (int, error)
	// PurgeSessions deletes the sessions that expired before t (revoked
	// ones go once their expiry has passed too) and returns how many.
	PurgeSessions(ctx context.Context, before time.Time) (int, error)

	// Counters back the rate limits and budgets every node sees (R3, R24,
	// R42). Hit adds n to the fixed-window counter key for the window that
	// contains now (windows start at now.Truncate(window)) in one atomic
	// upsert and returns the new count.
	Hit(ctx context.Context, key string, window time.Duration, now time.Time, n int64) (int64, error)
	// Count returns the counter's value in the window containing now (0
	// when absent).
	Count(ctx context.Context, key string, window time.Duration, now time.Time) (int64, error)
	// PurgeCounters deletes counters whose window ended before t.
	PurgeCounters(ctx context.Context, before time.Time) (int, error)

	// Outbox (portal/notify). EnqueueMessage stores m as pending (ID set by
	// the store when empty; NextAttemptAt defaults to CreatedAt = now).
	EnqueueMessage(ctx context.Context, m tenants.OutboxMessage) (tenants.OutboxMessage, error)
	// ClaimMessages leases up to limit due messages (pending, NextAttemptAt
	// <= now, no live lease) until now+lease and returns them, oldest first.
	// Concurrent claims never return the same message twice while its lease
	// lives (PostgreSQL: FOR UPDATE SKIP LOCKED).
	ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]tenants.OutboxMessage, error)
	// MarkMessageSent records a delivery: state sent, SentAt, Attempts+1,
	// lease cleared.
	MarkMessageSent(ctx context.Context, id string, at time.Time) error
	// MarkMessageFailed records a failed attempt: Attempts+1, LastError, lease
	// cleared, and either pending again at next or, when dead is true, dead.
	MarkMessageFailed(ctx context.Context, id string, errText string, next time.Time, dead bool) error
	// GetMessage returns one outbox message.
	GetMessage(ctx context.Context, id string) (tenants.OutboxMessage, error)
	// ListMessages returns up to limit of the tenant's messages, newest first
	// (admin view, the demo mailbox).
	ListMessages(ctx context.Context, limit int) ([]tenants.OutboxMessage, error)
	// PurgeMessages deletes the sent and dead messages created before t
	// (pending ones always stay) and returns how many.
	PurgeMessages(ctx context.Context, before time.Time) (int, error)

	// Devices (mobile authenticators). CreateDevice stores d (ID set by the
	// store when empty; CreatedAt now); ErrAlreadyExists when the ID or the
	// (user, KeyID) pair is taken; ErrInvalid when UserID is not a user.
	CreateDevice(ctx context.Context, d tenants.Device) (tenants.Device, error)
	GetDevice(ctx context.Context, id string) (tenants.Device, error)
	// ListDevices returns the user's devices, oldest first.
	ListDevices(ctx context.Context, userID string) ([]tenants.Device, error)
	// UpdateDevice loads the device, applies fn and saves Name, PushToken,
	// PushTokenUpdatedAt and LastSeenAt (other fields are kept).
	UpdateDevice(ctx context.Context, id string, fn func(*tenants.Device) error) (tenants.Device, error)
	DeleteDevice(ctx context.Context, id string) error

	// Push challenges. CreateChallenge stores c (ErrAlreadyExists on a
	// duplicate CID; the device must be the user's, else ErrInvalid).
	CreateChallenge(ctx context.Context, c tenants.PushChallenge) error
	GetChallenge(ctx context.Context, cid string) (tenants.PushChallenge, error)
	// AnswerChallenge moves the challenge from state from to state to with
	// reason and AnsweredAt=at in ONE conditional UPDATE and reports whether
	// this call made the change (false, nil when it had left from);
	// ErrNotFound when there is no such challenge.
	AnswerChallenge(ctx context.Context, cid, from, to, reason string, at time.Time) (bool, error)
	// ListPendingChallenges returns the device's challenges that are pending
	// and unexpired at now, newest first (the polling path).
	ListPendingChallenges(ctx context.Context, deviceID string, now time.Time) ([]tenants.PushChallenge, error)
	// PurgeChallenges deletes the challenges that expired before t and
	// returns how many.
	PurgeChallenges(ctx context.Context, before time.Time) (int, error)
}
