-- 0001_init: Latchkey's control-plane schema on PostgreSQL (see docs/schema.md).
--
-- Run as the owner role (LATCHKEY_DATABASE_MIGRATE_URL). The application
-- connects as latchkey_app, which owns nothing and cannot bypass row-level
-- security (R39). Every tenant-scoped table has tenant_id as the first column
-- of its primary key and of every foreign key (the schema rule).
--
-- Text columns that are ordered or compared for equality use the "C"
-- collation, so ordering is byte order whatever the database's locale (and the
-- same as the SQLite backend's).

-- latchkey_current_tenant is the tenant of the current transaction, set by the
-- store with set_config('app.tenant_id', $1, true). An unset or reset setting
-- yields NULL, which matches no row and never raises an error.
CREATE FUNCTION latchkey_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE TABLE schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL
);

CREATE TABLE tenants (
    tenant_id         uuid        NOT NULL,
    slug              text        COLLATE "C" NOT NULL,
    name              text        NOT NULL,
    canonical_host    text        COLLATE "C" NOT NULL DEFAULT '',
    branding          jsonb       NOT NULL DEFAULT '{}',
    logo              bytea,
    logo_content_type text        NOT NULL DEFAULT '',
    default_locale    text        NOT NULL DEFAULT '',
    policy            jsonb       NOT NULL DEFAULT '{}',
    -- no foreign key: organisations reference tenants (circular)
    default_org_id    uuid,
    resource_version  bigint      NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id),
    UNIQUE (slug),
    CHECK (jsonb_typeof(branding) = 'object'),
    CHECK (jsonb_typeof(policy) = 'object')
);

CREATE TABLE tenant_hosts (
    tenant_id  uuid        NOT NULL,
    host       text        COLLATE "C" NOT NULL,
    is_primary boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, host),
    UNIQUE (host),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id) ON DELETE CASCADE
);

CREATE TABLE organisations (
    tenant_id        uuid        NOT NULL,
    org_id           uuid        NOT NULL,
    name             text        COLLATE "C" NOT NULL,
    rules            jsonb       NOT NULL DEFAULT '[]',
    priority         integer     NOT NULL DEFAULT 0,
    policy           jsonb       NOT NULL DEFAULT '{}',
    resource_version bigint      NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, org_id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CHECK (jsonb_typeof(rules) = 'array'),
    CHECK (jsonb_typeof(policy) = 'object')
);

CREATE TABLE users (
    tenant_id      uuid        NOT NULL,
    user_id        uuid        NOT NULL,
    directory_guid text        COLLATE "C",
    username       text        COLLATE "C" NOT NULL,
    username_lower text        COLLATE "C" NOT NULL,
    upn            text        NOT NULL DEFAULT '',
    display_name   text        NOT NULL DEFAULT '',
    org_id         uuid,
    email          text        NOT NULL DEFAULT '',
    email_verified boolean     NOT NULL DEFAULT false,
    phone          text        NOT NULL DEFAULT '',
    phone_verified boolean     NOT NULL DEFAULT false,
    locale         text        NOT NULL DEFAULT '',
    is_admin       boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    UNIQUE (tenant_id, username_lower),
    UNIQUE (tenant_id, directory_guid),
    FOREIGN KEY (tenant_id, org_id) REFERENCES organisations (tenant_id, org_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id)
);

CREATE INDEX users_tenant_org ON users (tenant_id, org_id);

-- Append-only: latchkey_app gets SELECT and INSERT only.
CREATE TABLE audit_events (
    tenant_id      uuid        NOT NULL,
    seq            bigint      NOT NULL,
    at             timestamptz NOT NULL,
    actor          text        NOT NULL DEFAULT '',
    action         text        NOT NULL DEFAULT '',
    target         text        NOT NULL DEFAULT '',
    ip             text        NOT NULL DEFAULT '',
    user_agent     text        NOT NULL DEFAULT '',
    outcome        text        NOT NULL DEFAULT '',
    correlation_id text        NOT NULL DEFAULT '',
    detail         jsonb       NOT NULL DEFAULT '{}',
    prev_hash      bytea       NOT NULL,
    hash           bytea       NOT NULL,
    PRIMARY KEY (tenant_id, seq),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CHECK (seq > 0),
    CHECK (jsonb_typeof(detail) = 'object'),
    CHECK (octet_length(prev_hash) = 32),
    CHECK (octet_length(hash) = 32)
);

-- Row-level security (R39). FORCE makes the policies apply to the table owner
-- too. Permissive policies are OR-ed: a row is visible when any policy admits it.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
ALTER TABLE tenant_hosts ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_hosts FORCE ROW LEVEL SECURITY;
ALTER TABLE organisations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organisations FORCE ROW LEVEL SECURITY;
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON tenants FOR ALL
    USING (tenant_id = latchkey_current_tenant())
    WITH CHECK (tenant_id = latchkey_current_tenant());
CREATE POLICY tenant_isolation ON tenant_hosts FOR ALL
    USING (tenant_id = latchkey_current_tenant())
    WITH CHECK (tenant_id = latchkey_current_tenant());
CREATE POLICY tenant_isolation ON organisations FOR ALL
    USING (tenant_id = latchkey_current_tenant())
    WITH CHECK (tenant_id = latchkey_current_tenant());
CREATE POLICY tenant_isolation ON users FOR ALL
    USING (tenant_id = latchkey_current_tenant())
    WITH CHECK (tenant_id = latchkey_current_tenant());
CREATE POLICY tenant_isolation ON audit_events FOR ALL
    USING (tenant_id = latchkey_current_tenant())
    WITH CHECK (tenant_id = latchkey_current_tenant());

-- The lookups that run before a tenant is known. Each reveals a row only to a
-- transaction that already names it in a transaction-local setting.
CREATE POLICY host_lookup ON tenant_hosts FOR SELECT
    USING (host = current_setting('app.lookup_host', true));
CREATE POLICY slug_lookup ON tenants FOR SELECT
    USING (slug = current_setting('app.lookup_slug', true));
-- Used only by the operator command `latchkey tenant list`: exposes the tenants
-- table (no user data) and nothing else.
CREATE POLICY platform_list ON tenants FOR SELECT
    USING (current_setting('app.platform_list', true) = 'on');

-- The application role. Operators create the login role themselves (or grant
-- latchkey_app to theirs); here it is created, without LOGIN, only when missing.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'latchkey_app') THEN
        CREATE ROLE latchkey_app NOLOGIN NOBYPASSRLS;
    END IF;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO latchkey_app', current_schema());
END
$$;
GRANT EXECUTE ON FUNCTION latchkey_current_tenant() TO latchkey_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, tenant_hosts, organisations, users TO latchkey_app;
GRANT SELECT, INSERT ON audit_events TO latchkey_app;
GRANT SELECT ON schema_migrations TO latchkey_app;

---- create above / drop below ----

-- latchkey_app is a cluster-wide role that may serve other databases, so it is
-- left in place; everything this migration created in the database goes.
DROP TABLE IF EXISTS audit_events;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS organisations;
DROP TABLE IF EXISTS tenant_hosts;
DROP TABLE IF EXISTS tenants;
DROP TABLE IF EXISTS schema_migrations;
DROP FUNCTION IF EXISTS latchkey_current_tenant();
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'latchkey_app') THEN
        EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM latchkey_app', current_schema());
    END IF;
END
$$;
