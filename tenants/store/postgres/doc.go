// Package postgres is the production storage backend of Latchkey's control
// plane: store.Store on PostgreSQL through a pgx connection pool.
//
// Tenant isolation is enforced twice. Every TenantStore method runs in its own
// transaction that first sets the transaction-local setting app.tenant_id
// (set_config(…, true), never a session-level SET: R40), so the row-level
// security policies of migrations/postgres admit only that tenant's rows (R39,
// R41); and every statement also filters on tenant_id itself. The application
// connects as latchkey_app, which owns no table and cannot bypass row-level
// security; Open refuses a role that could.
//
// The cross-tenant lookups (host → tenant, slug → tenant, the operator's tenant
// list) name what they look for in their own transaction-local setting
// (app.lookup_host, app.lookup_slug, app.platform_list), which the lookup
// policies require.
//
// Schema changes are applied by Migrate, as the owner role, under an advisory
// lock; Open only checks that the schema is current.
//
// Timestamps are stored as timestamptz, whose precision is a microsecond: the
// store truncates every time it writes to microseconds, so what Create and
// Update return equals what is read back later.
package postgres
