-- 0004_devices: enrolled authenticator devices, their push challenges and
-- the users' push history, on SQLite. The same tables, columns and keys as
-- migrations/postgres/0005_devices.sql in SQLite's types (see 0001; each
-- backend's set is numbered on its own, without gaps).
--
-- Every table follows the schema rule: tenant_id leads the primary key and
-- every foreign key.

-- The flow engine's push-approval history of the user: its own JSON, kept
-- opaque as bytes (NULL: none).
ALTER TABLE users ADD COLUMN push_history BLOB CHECK (length(push_history) <= 65536);

-- A device is an enrolled authenticator: the public half of the key it made
-- at enrollment (PKIX DER, not parsed by the store) and its FCM token ('':
-- polls only). key_id names the key in signed answers, once per user. A
-- user's devices go with the user. The unique key's index (tenant_id,
-- user_id, key_id) also serves the lookup of a user's devices and the
-- cascade.
CREATE TABLE devices (
    tenant_id             TEXT    NOT NULL,
    device_id             TEXT    NOT NULL,
    user_id               TEXT    NOT NULL,
    name                  TEXT    NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    platform              TEXT    NOT NULL CHECK (platform IN ('android', 'ios', 'cli')),
    key_id                TEXT    NOT NULL CHECK (length(key_id) BETWEEN 1 AND 128 AND key_id NOT GLOB '*[^ -~]*'),
    public_key            BLOB    NOT NULL CHECK (length(public_key) BETWEEN 1 AND 200),
    push_token            TEXT    NOT NULL DEFAULT '' CHECK (length(CAST(push_token AS BLOB)) <= 4096),
    push_token_updated_at INTEGER,
    created_at            INTEGER NOT NULL,
    last_seen_at          INTEGER,
    PRIMARY KEY (tenant_id, device_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE,
    UNIQUE (tenant_id, user_id, key_id)
) STRICT;

-- A push challenge (push/challenge): cid is 32 lowercase hex digits; context
-- is the JSON object the phone shows (bytes, checked by the store); number
-- is 0 (no number matching) or 10–99. An answer is one conditional UPDATE on
-- state. A challenge goes with its user and with its device.
CREATE TABLE push_challenges (
    tenant_id   TEXT    NOT NULL,
    cid         TEXT    NOT NULL CHECK (length(cid) = 32 AND cid NOT GLOB '*[^0-9a-f]*'),
    user_id     TEXT    NOT NULL,
    device_id   TEXT    NOT NULL,
    purpose     TEXT    NOT NULL CHECK (purpose <> ''),
    context     BLOB    NOT NULL CHECK (length(context) <= 4096),
    number      INTEGER NOT NULL DEFAULT 0 CHECK (number = 0 OR number BETWEEN 10 AND 99),
    state       TEXT    NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'reported')),
    reason      TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    answered_at INTEGER,
    PRIMARY KEY (tenant_id, cid),
    FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, device_id) ON DELETE CASCADE,
    CHECK (expires_at > created_at)
) STRICT;

-- The device's polling scan (also the device cascade), and the user cascade.
CREATE INDEX push_challenges_pending ON push_challenges (tenant_id, device_id, state, expires_at);
CREATE INDEX push_challenges_by_user ON push_challenges (tenant_id, user_id);

---- create above / drop below ----

DROP INDEX IF EXISTS push_challenges_by_user;
DROP INDEX IF EXISTS push_challenges_pending;
DROP TABLE IF EXISTS push_challenges;
DROP TABLE IF EXISTS devices;
ALTER TABLE users DROP COLUMN push_history;
