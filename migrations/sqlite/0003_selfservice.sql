-- 0003_selfservice: self-service flows, browser sessions, rate-limit counters
-- and the notification outbox, plus the self-service columns of users and
-- tenants, on SQLite. The same tables, columns and keys as
-- migrations/postgres/0004_selfservice.sql in SQLite's types (see 0001); the
-- number differs because PostgreSQL has the relay's 0003, which SQLite does
-- not need (each backend's set is numbered on its own, without gaps).
--
-- Every table follows the schema rule: tenant_id leads the primary key and
-- every foreign key.

ALTER TABLE users ADD COLUMN enrollment TEXT NOT NULL DEFAULT '{}' CHECK (json_type(enrollment) = 'object');
ALTER TABLE users ADD COLUMN failed_verifications INTEGER NOT NULL DEFAULT 0 CHECK (failed_verifications >= 0);
ALTER TABLE users ADD COLUMN selfservice_locked_until INTEGER;
ALTER TABLE users ADD COLUMN frozen_at INTEGER;

ALTER TABLE tenants ADD COLUMN selfservice TEXT NOT NULL DEFAULT '{}' CHECK (json_type(selfservice) = 'object');

-- A flow's id is the hex SHA-256 of the browser's flow token. user_id is NULL
-- for a decoy flow (an account that does not exist); a user's flows go with
-- the user. version grows by one on every step (one conditional UPDATE).
CREATE TABLE flows (
    tenant_id  TEXT    NOT NULL,
    flow_id    TEXT    NOT NULL CHECK (length(flow_id) = 64 AND flow_id NOT GLOB '*[^0-9a-f]*'),
    action     TEXT    NOT NULL CHECK (action <> ''),
    channel    TEXT    NOT NULL DEFAULT '',
    user_id    TEXT,
    state      BLOB    NOT NULL DEFAULT x'' CHECK (length(state) <= 65536),
    version    INTEGER NOT NULL DEFAULT 1 CHECK (version > 0),
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, flow_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
) STRICT;

CREATE INDEX flows_expiry ON flows (expires_at);
CREATE INDEX flows_by_user ON flows (tenant_id, user_id);

-- A session's id is the hex SHA-256 of the cookie token.
CREATE TABLE sessions (
    tenant_id    TEXT    NOT NULL,
    session_id   TEXT    NOT NULL CHECK (length(session_id) = 64 AND session_id NOT GLOB '*[^0-9a-f]*'),
    user_id      TEXT    NOT NULL,
    auth_at      INTEGER,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, session_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
) STRICT;

CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id);

-- Fixed-window counters: one row per key and window [window_start,
-- window_end), bumped by one upsert. The window's end is part of the key, so
-- that one key counted over windows of different lengths never mixes.
CREATE TABLE counters (
    tenant_id    TEXT    NOT NULL,
    counter_key  TEXT    NOT NULL CHECK (length(CAST(counter_key AS BLOB)) BETWEEN 1 AND 256),
    window_start INTEGER NOT NULL,
    window_end   INTEGER NOT NULL,
    count        INTEGER NOT NULL CHECK (count > 0),
    PRIMARY KEY (tenant_id, counter_key, window_start, window_end),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CHECK (window_end > window_start)
) STRICT;

CREATE INDEX counters_window_end ON counters (window_end);

-- Notifications waiting for, or past, delivery. sealed is the content sealed
-- by portal/notify (it may carry a one-time code); recipient is the address
-- or number. A pending message is due at next_attempt_at unless a worker's
-- lease (lease_until) is live.
CREATE TABLE outbox (
    tenant_id       TEXT    NOT NULL,
    message_id      TEXT    NOT NULL,
    channel         TEXT    NOT NULL CHECK (channel IN ('email', 'sms')),
    kind            TEXT    NOT NULL CHECK (kind <> ''),
    recipient       TEXT    NOT NULL CHECK (recipient <> ''),
    sealed          BLOB    NOT NULL CHECK (length(sealed) <= 1048576),
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    PRIMARY KEY (tenant_id, message_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CHECK ((state = 'sent') = (sent_at IS NOT NULL)),
    CHECK (state = 'pending' OR lease_until IS NULL)
) STRICT;

-- The scan for tenants with due messages, and each tenant's claim.
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_tenant_due ON outbox (tenant_id, state, next_attempt_at);

---- create above / drop below ----

DROP INDEX IF EXISTS outbox_tenant_due;
DROP INDEX IF EXISTS outbox_due;
DROP TABLE IF EXISTS outbox;
DROP INDEX IF EXISTS counters_window_end;
DROP TABLE IF EXISTS counters;
DROP INDEX IF EXISTS sessions_by_user;
DROP TABLE IF EXISTS sessions;
DROP INDEX IF EXISTS flows_by_user;
DROP INDEX IF EXISTS flows_expiry;
DROP TABLE IF EXISTS flows;
ALTER TABLE tenants DROP COLUMN selfservice;
ALTER TABLE users DROP COLUMN frozen_at;
ALTER TABLE users DROP COLUMN selfservice_locked_until;
ALTER TABLE users DROP COLUMN failed_verifications;
ALTER TABLE users DROP COLUMN enrollment;
