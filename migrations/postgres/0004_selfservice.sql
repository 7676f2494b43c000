-- 0004_selfservice: self-service flows, browser sessions, rate-limit counters
-- and the notification outbox, plus the self-service columns of users and
-- tenants (see docs/schema.md). Run as the owner role.
--
-- The SQLite counterpart is migrations/sqlite/0003_selfservice.sql (SQLite
-- has no relay migration; each set is numbered on its own). Every table
-- follows the schema rule (tenant_id leads every primary and foreign key) and
-- gets the same FORCE row-level security and grants as 0001's tables.

ALTER TABLE users
    ADD COLUMN enrollment               jsonb       NOT NULL DEFAULT '{}',
    ADD COLUMN failed_verifications     integer     NOT NULL DEFAULT 0,
    ADD COLUMN selfservice_locked_until timestamptz,
    ADD COLUMN frozen_at                timestamptz,
    ADD CONSTRAINT users_enrollment_object CHECK (jsonb_typeof(enrollment) = 'object'),
    ADD CONSTRAINT users_failed_verifications_check CHECK (failed_verifications >= 0);

ALTER TABLE tenants
    ADD COLUMN selfservice jsonb NOT NULL DEFAULT '{}',
    ADD CONSTRAINT tenants_selfservice_object CHECK (jsonb_typeof(selfservice) = 'object');

-- A flow's id is the hex SHA-256 of the browser's flow token. user_id is NULL
-- for a decoy flow (an account that does not exist); a user's flows go with
-- the user. version grows by one on every step (one conditional UPDATE).
CREATE TABLE flows (
    tenant_id  uuid        NOT NULL,
    flow_id    text        COLLATE "C" NOT NULL,
    action     text        COLLATE "C" NOT NULL,
    channel    text        COLLATE "C" NOT NULL DEFAULT '',
    user_id    uuid,
    state      bytea       NOT NULL DEFAULT '',
    version    bigint      NOT NULL DEFAULT 1,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, flow_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE,
    CHECK (flow_id ~ '^[0-9a-f]{64}$'),
    CHECK (action <> ''),
    CHECK (octet_length(state) <= 65536),
    CHECK (version > 0)
);

CREATE INDEX flows_expiry ON flows (expires_at);
CREATE INDEX flows_by_user ON flows (tenant_id, user_id);

-- A session's id is the hex SHA-256 of the cookie token.
CREATE TABLE sessions (
    tenant_id    uuid        NOT NULL,
    session_id   text        COLLATE "C" NOT NULL,
    user_id      uuid        NOT NULL,
    auth_at      timestamptz,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    ip           text        NOT NULL DEFAULT '',
    user_agent   text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, session_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE,
    CHECK (session_id ~ '^[0-9a-f]{64}$')
);

CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id);

-- Fixed-window counters: one row per key and window [window_start,
-- window_end), bumped by one upsert. The window's end is part of the key, so
-- that one key counted over windows of different lengths never mixes.
CREATE TABLE counters (
    tenant_id    uuid        NOT NULL,
    counter_key  text        COLLATE "C" NOT NULL,
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    count        bigint      NOT NULL,
    PRIMARY KEY (tenant_id, counter_key, window_start, window_end),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CHECK (octet_length(counter_key) BETWEEN 1 AND 256),
    CHECK (window_end > window_start),
    CHECK (count > 0)
);

CREATE INDEX counters_window_end ON counters (window_end);

-- Notifications waiting for, or past, delivery. sealed is the content sealed
-- by portal/notify (it may carry a one-time code); recipient is the address
-- or number. A pending message is due at next_attempt_at unless a worker's
-- lease (lease_until) is live.
CREATE TABLE outbox (
    tenant_id       uuid        NOT NULL,
    message_id      uuid        NOT NULL,
    channel         text        COLLATE "C" NOT NULL,
    kind            text        COLLATE "C" NOT NULL,
    recipient       text        NOT NULL,
    sealed          bytea       NOT NULL,
    state           text        COLLATE "C" NOT NULL DEFAULT 'pending',
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    lease_until     timestamptz,
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    PRIMARY KEY (tenant_id, message_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CHECK (channel IN ('email', 'sms')),
    CHECK (kind <> '' AND recipient <> ''),
    CHECK (octet_length(sealed) <= 1048576),
    CHECK (state IN ('pending', 'sent', 'dead')),
    CHECK (attempts >= 0),
    CHECK ((state = 'sent') = (sent_at IS NOT NULL)),
    CHECK (state = 'pending' OR lease_until IS NULL)
);

-- The scan for tenants with due messages, and each tenant's claim.
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_tenant_due ON outbox (tenant_id, state, next_attempt_at);

ALTER TABLE flows ENABLE ROW LEVEL SECURITY;
ALTER TABLE flows FORCE ROW LEVEL SECURITY;
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
ALTER TABLE counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE counters FORCE ROW LEVEL SECURITY;
ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON flows FOR ALL
    USING (tenant_id = latchkey_current_tenant())
    WITH CHECK (tenant_id = latchkey_current_tenant());
CREATE POLICY tenant_isolation ON sessions FOR ALL
    USING (tenant_id = latchkey_current_tenant())
    WITH CHECK (tenant_id = latchkey_current_tenant());
CREATE POLICY tenant_isolation ON counters FOR ALL
    USING (tenant_id = latchkey_current_tenant())
    WITH CHECK (tenant_id = latchkey_current_tenant());
CREATE POLICY tenant_isolation ON outbox FOR ALL
    USING (tenant_id = latchkey_current_tenant())
    WITH CHECK (tenant_id = latchkey_current_tenant());

-- The notification workers find which tenants have due messages before they
-- know the tenant. The application role gets only the tenant ids, through
-- latchkey_outbox_due(due_at, max_tenants), which runs as the schema owner
-- (SECURITY DEFINER); the policy that lets it read pending rows is the
-- owner's alone, so no application transaction can read another tenant's
-- messages. Claiming them then happens per tenant under tenant_isolation.
-- Tenants come oldest due message first, so that a limit is fair.
CREATE POLICY outbox_due ON outbox FOR SELECT TO CURRENT_USER
    USING (state = 'pending');
CREATE FUNCTION latchkey_outbox_due(due_at timestamptz, max_tenants integer) RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ SELECT o.tenant_id FROM public.outbox o
          WHERE o.state = 'pending' AND o.next_attempt_at <= due_at
            AND (o.lease_until IS NULL OR o.lease_until <= due_at)
          GROUP BY o.tenant_id
          ORDER BY min(o.next_attempt_at), o.tenant_id
          LIMIT max_tenants $$;
REVOKE ALL ON FUNCTION latchkey_outbox_due(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION latchkey_outbox_due(timestamptz, integer) TO latchkey_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON flows, sessions, counters, outbox TO latchkey_app;

---- create above / drop below ----

DROP FUNCTION IF EXISTS latchkey_outbox_due(timestamptz, integer);
DROP TABLE IF EXISTS outbox;
DROP TABLE IF EXISTS counters;
DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS flows;
ALTER TABLE tenants DROP COLUMN IF EXISTS selfservice;
ALTER TABLE users
    DROP COLUMN IF EXISTS frozen_at,
    DROP COLUMN IF EXISTS selfservice_locked_until,
    DROP COLUMN IF EXISTS failed_verifications,
    DROP COLUMN IF EXISTS enrollment;
