-- 0001_init: Latchkey's control-plane schema on SQLite (see docs/schema.md).
--
-- The same tables, columns and keys as migrations/postgres/0001_init.sql, in
-- SQLite's types: ids are TEXT (canonical UUIDs), timestamps INTEGER
-- nanoseconds since the Unix epoch (UTC), JSON is TEXT, booleans INTEGER 0/1,
-- bytes BLOB. Tables are STRICT, so a value of the wrong type is an error
-- rather than silently stored. Text compares with the BINARY collation (byte
-- order), like the "C" collation the PostgreSQL schema uses.
--
-- Schema rule: every tenant-scoped table has tenant_id as the first column of
-- its primary key and of every foreign key. The store opens every connection
-- with PRAGMA foreign_keys = ON, without which SQLite ignores foreign keys.

CREATE TABLE schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
) STRICT;

CREATE TABLE tenants (
    tenant_id         TEXT    NOT NULL,
    slug              TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    canonical_host    TEXT    NOT NULL DEFAULT '',
    branding          TEXT    NOT NULL DEFAULT '{}' CHECK (json_type(branding) = 'object'),
    logo              BLOB,
    logo_content_type TEXT    NOT NULL DEFAULT '',
    default_locale    TEXT    NOT NULL DEFAULT '',
    policy            TEXT    NOT NULL DEFAULT '{}' CHECK (json_type(policy) = 'object'),
    -- no foreign key: organisations reference tenants (circular)
    default_org_id    TEXT,
    resource_version  INTEGER NOT NULL DEFAULT 1,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id),
    UNIQUE (slug)
) STRICT;

CREATE TABLE tenant_hosts (
    tenant_id  TEXT    NOT NULL,
    host       TEXT    NOT NULL,
    is_primary INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, host),
    UNIQUE (host),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id) ON DELETE CASCADE
) STRICT;

CREATE TABLE organisations (
    tenant_id        TEXT    NOT NULL,
    org_id           TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    rules            TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(rules) = 'array'),
    priority         INTEGER NOT NULL DEFAULT 0,
    policy           TEXT    NOT NULL DEFAULT '{}' CHECK (json_type(policy) = 'object'),
    resource_version INTEGER NOT NULL DEFAULT 1,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, org_id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id)
) STRICT;

CREATE TABLE users (
    tenant_id      TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    directory_guid TEXT,
    username       TEXT    NOT NULL,
    username_lower TEXT    NOT NULL,
    upn            TEXT    NOT NULL DEFAULT '',
    display_name   TEXT    NOT NULL DEFAULT '',
    org_id         TEXT,
    email          TEXT    NOT NULL DEFAULT '',
    email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    phone          TEXT    NOT NULL DEFAULT '',
    phone_verified INTEGER NOT NULL DEFAULT 0 CHECK (phone_verified IN (0, 1)),
    locale         TEXT    NOT NULL DEFAULT '',
    is_admin       INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    UNIQUE (tenant_id, username_lower),
    UNIQUE (tenant_id, directory_guid),
    -- A NULL org_id (no organisation) is not checked (MATCH SIMPLE).
    FOREIGN KEY (tenant_id, org_id) REFERENCES organisations (tenant_id, org_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id)
) STRICT;

CREATE INDEX users_tenant_org ON users (tenant_id, org_id);

-- Append-only: the triggers below refuse every UPDATE and DELETE, the SQLite
-- counterpart of granting the PostgreSQL application role SELECT and INSERT only.
CREATE TABLE audit_events (
    tenant_id      TEXT    NOT NULL,
    seq            INTEGER NOT NULL CHECK (seq > 0),
    at             INTEGER NOT NULL,
    actor          TEXT    NOT NULL DEFAULT '',
    action         TEXT    NOT NULL DEFAULT '',
    target         TEXT    NOT NULL DEFAULT '',
    ip             TEXT    NOT NULL DEFAULT '',
    user_agent     TEXT    NOT NULL DEFAULT '',
    outcome        TEXT    NOT NULL DEFAULT '',
    correlation_id TEXT    NOT NULL DEFAULT '',
    detail         TEXT    NOT NULL DEFAULT '{}' CHECK (json_type(detail) = 'object'),
    prev_hash      BLOB    NOT NULL CHECK (length(prev_hash) = 32),
    hash           BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (tenant_id, seq),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id)
) STRICT;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

---- create above / drop below ----

DROP TRIGGER IF EXISTS audit_events_no_delete;
DROP TRIGGER IF EXISTS audit_events_no_update;
DROP TABLE IF EXISTS audit_events;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS organisations;
DROP TABLE IF EXISTS tenant_hosts;
DROP TABLE IF EXISTS tenants;
DROP TABLE IF EXISTS schema_migrations;
