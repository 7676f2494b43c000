-- 0002_connectors: enrolled connectors and the one-time join tokens that
-- enroll them (see docs/schema.md). Run as the owner role.
--
-- Both tables follow the schema rule (tenant_id leads every primary and
-- foreign key) and get the same FORCE row-level security as 0001's tables.

CREATE TABLE connectors (
    tenant_id     uuid        NOT NULL,
    connector_id  uuid        NOT NULL,
    name          text        NOT NULL,
    sign_key      bytea       NOT NULL,
    seal_key      bytea       NOT NULL,
    agent_version text        NOT NULL DEFAULT '',
    domains       jsonb       NOT NULL DEFAULT '[]',
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz,
    revoked_at    timestamptz,
    PRIMARY KEY (tenant_id, connector_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CHECK (octet_length(sign_key) = 32),
    CHECK (octet_length(seal_key) > 0),
    CHECK (jsonb_typeof(domains) = 'array')
);

-- The hub finds a connector by id before it knows the tenant (the
-- connector_lookup policy below). Not UNIQUE, so that the key stays
-- distributable by tenant_id; ids are random UUIDs.
CREATE INDEX connectors_by_id ON connectors (connector_id);

-- Only the SHA-256 of a token is stored. A token is redeemed by one
-- conditional UPDATE that sets used_at and connector_id together; the
-- connector row is inserted later in the same transaction, hence the
-- deferred foreign key.
CREATE TABLE join_tokens (
    tenant_id    uuid        NOT NULL,
    token_id     uuid        NOT NULL,
    token_hash   bytea       NOT NULL,
    created_by   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    connector_id uuid,
    PRIMARY KEY (tenant_id, token_id),
    UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES connectors (tenant_id, connector_id)
        DEFERRABLE INITIALLY DEFERRED,
    CHECK (octet_length(token_hash) = 32),
    CHECK (expires_at > created_at),
    CHECK ((used_at IS NULL) = (connector_id IS NULL))
);

ALTER TABLE connectors ENABLE ROW LEVEL SECURITY;
ALTER TABLE connectors FORCE ROW LEVEL SECURITY;
ALTER TABLE join_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE join_tokens FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON connectors FOR ALL
    USING (tenant_id = latchkey_current_tenant())
    WITH CHECK (tenant_id = latchkey_current_tenant());
CREATE POLICY tenant_isolation ON join_tokens FOR ALL
    USING (tenant_id = latchkey_current_tenant())
    WITH CHECK (tenant_id = latchkey_current_tenant());

-- The hub's lookup of a connector by id (tenant unknown yet): reveals the one
-- row a transaction names in app.lookup_connector, for reading only. The text
-- comparison never fails on a missing or malformed setting.
CREATE POLICY connector_lookup ON connectors FOR SELECT
    USING (connector_id::text = current_setting('app.lookup_connector', true));

-- Connectors are revoked, never deleted; tokens are kept as the record of who
-- enrolled what. Hence no DELETE.
GRANT SELECT, INSERT, UPDATE ON connectors, join_tokens TO latchkey_app;

---- create above / drop below ----

DROP TABLE IF EXISTS join_tokens;
DROP TABLE IF EXISTS connectors;
