-- 0002_connectors: enrolled connectors and the one-time join tokens that
-- enroll them, on SQLite (same tables and keys as
-- migrations/postgres/0002_connectors.sql; types as in 0001).

CREATE TABLE connectors (
    tenant_id     TEXT    NOT NULL,
    connector_id  TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    sign_key      BLOB    NOT NULL CHECK (length(sign_key) = 32),
    seal_key      BLOB    NOT NULL CHECK (length(seal_key) > 0),
    agent_version TEXT    NOT NULL DEFAULT '',
    domains       TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(domains) = 'array'),
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER,
    revoked_at    INTEGER,
    PRIMARY KEY (tenant_id, connector_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id)
) STRICT;

-- The hub finds a connector by id before it knows the tenant.
CREATE INDEX connectors_by_id ON connectors (connector_id);

-- Only the SHA-256 of a token is stored. Redeeming sets used_at and
-- connector_id in one conditional UPDATE before the connector row is inserted
-- in the same transaction, hence the deferred foreign key.
CREATE TABLE join_tokens (
    tenant_id    TEXT    NOT NULL,
    token_id     TEXT    NOT NULL,
    token_hash   BLOB    NOT NULL CHECK (length(token_hash) = 32),
    created_by   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER,
    connector_id TEXT,
    PRIMARY KEY (tenant_id, token_id),
    UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES connectors (tenant_id, connector_id)
        DEFERRABLE INITIALLY DEFERRED,
    CHECK (expires_at > created_at),
    CHECK ((used_at IS NULL) = (connector_id IS NULL))
) STRICT;

---- create above / drop below ----

DROP TABLE IF EXISTS join_tokens;
DROP INDEX IF EXISTS connectors_by_id;
DROP TABLE IF EXISTS connectors;
