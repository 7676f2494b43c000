// Package sqlite is the embedded storage backend of Latchkey: one SQLite file,
// pure Go (modernc.org/sqlite, no cgo), for the demo and single-box installs.
// It implements store.Store and passes the conformance suite in
// tenants/store/storetest.
//
// Open prepares the database and keeps it that way:
//   - one file (created 0600 with its directory 0700 when missing) in WAL
//     mode, with foreign_keys=ON, synchronous=NORMAL and a busy timeout on
//     every connection;
//   - every write transaction begins IMMEDIATE, taking the write lock up
//     front, so concurrent writers queue on the busy timeout instead of
//     failing with SQLITE_BUSY halfway through a read-modify-write;
//   - the embedded migrations (migrations.SQLite) are applied in order, each
//     in its own transaction and recorded in schema_migrations; a database
//     whose schema is newer than the binary is refused.
//
// Tenant isolation: there is no row-level security in SQLite, so the filter on
// tenant_id in every tenant-scoped statement is the whole of it. Every query
// of a TenantStore names the tenant_id of the TenantStore it was called on;
// TenantID fields passed in by callers are ignored.
//
// Time is stored as INTEGER nanoseconds since the Unix epoch and returned in
// UTC. The clock is injectable (WithClock) so tests can control timestamps.
package sqlite
