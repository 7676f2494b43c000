-- 0005_devices: enrolled authenticator devices, their push challenges and
-- the users' push history (see docs/schema.md). Run as the owner role.
--
-- The SQLite counterpart is migrations/sqlite/0004_devices.sql (each set is
-- numbered on its own). Both tables follow the schema rule (tenant_id leads
-- every primary and foreign key) and get FORCE row-level security like
-- 0001's tables.

-- The flow engine's push-approval history of the user: its own JSON, kept
-- opaque as bytes (jsonb would reorder it; NULL: none).
ALTER TABLE users
    ADD COLUMN push_history bytea,
    ADD CONSTRAINT users_push_history_size CHECK (octet_length(push_history) <= 65536);

-- A device is an enrolled authenticator: the public half of the key it made
-- at enrollment (PKIX DER, not parsed by the store) and its FCM token ('':
-- polls only). key_id names the key in signed answers, once per user. A
-- user's devices go with the user. The unique key's index (tenant_id,
-- user_id, key_id) also serves the lookup of a user's devices and the
-- cascade.
CREATE TABLE devices (
    tenant_id             uuid        NOT NULL,
    device_id             uuid        NOT NULL,
    user_id               uuid        NOT NULL,
    name                  text        NOT NULL DEFAULT '',
    platform              text        COLLATE "C" NOT NULL,
    key_id                text        COLLATE "C" NOT NULL,
    public_key            bytea       NOT NULL,
    push_token            text        COLLATE "C" NOT NULL DEFAULT '',
    push_token_updated_at timestamptz,
    created_at            timestamptz NOT NULL,
    last_seen_at          timestamptz,
    PRIMARY KEY (tenant_id, device_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE,
    UNIQUE (tenant_id, user_id, key_id),
    CHECK (char_length(name) <= 100),
    CHECK (platform IN ('android', 'ios', 'cli')),
    CHECK (key_id ~ '^[ -~]{1,128}$'),
    CHECK (octet_length(public_key) BETWEEN 1 AND 200),
    CHECK (octet_length(push_token) <= 4096)
);

-- A push challenge (push/challenge): cid is 32 lowercase hex digits; context
-- is the JSON object the phone shows (bytes, checked by the store); number
-- is 0 (no number matching) or 10–99. An answer is one conditional UPDATE on
-- state. A challenge goes with its user and with its device.
CREATE TABLE push_challenges (
    tenant_id   uuid        NOT NULL,
    cid         text        COLLATE "C" NOT NULL,
    user_id     uuid        NOT NULL,
    device_id   uuid        NOT NULL,
    purpose     text        COLLATE "C" NOT NULL,
    context     bytea       NOT NULL,
    number      integer     NOT NULL DEFAULT 0,
    state       text        COLLATE "C" NOT NULL DEFAULT 'pending',
    reason      text        COLLATE "C" NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    answered_at timestamptz,
    PRIMARY KEY (tenant_id, cid),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, device_id) ON DELETE CASCADE,
    CHECK (cid ~ '^[0-9a-f]{32}$'),
    CHECK (purpose <> ''),
    CHECK (octet_length(context) <= 4096),
    CHECK (number = 0 OR number BETWEEN 10 AND 99),
    CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'reported')),
    CHECK (expires_at > created_at)
);

-- The device's polling scan (also the device cascade), and the user cascade.
CREATE INDEX push_challenges_pending ON push_challenges (tenant_id, device_id, state, expires_at);
CREATE INDEX push_challenges_by_user ON push_challenges (tenant_id, user_id);

ALTER TABLE devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE devices FORCE ROW LEVEL SECURITY;
ALTER TABLE push_challenges ENABLE ROW LEVEL SECURITY;
ALTER TABLE push_challenges FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON devices FOR ALL
    USING (tenant_id = latchkey_current_tenant())
    WITH CHECK (tenant_id = latchkey_current_tenant());
CREATE POLICY tenant_isolation ON push_challenges FOR ALL
    USING (tenant_id = latchkey_current_tenant())
    WITH CHECK (tenant_id = latchkey_current_tenant());

-- Challenges are never deleted by the application: they go only with their
-- user or device, and a referential cascade runs as the table owner (not
-- subject to the application role's grants or to FORCE row-level security).
GRANT SELECT, INSERT, UPDATE, DELETE ON devices TO latchkey_app;
GRANT SELECT, INSERT, UPDATE ON push_challenges TO latchkey_app;

---- create above / drop below ----

DROP TABLE IF EXISTS push_challenges;
DROP TABLE IF EXISTS devices;
ALTER TABLE users
    DROP CONSTRAINT IF EXISTS users_push_history_size,
    DROP COLUMN IF EXISTS push_history;
