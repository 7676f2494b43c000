-- 0003_connector_relay: routing commands to the node that holds a connector's
-- socket (package connector/relay; docs/architecture.md "Several control-plane
-- nodes"). Run as the owner role.
--
-- PostgreSQL only: a single-node SQLite install holds every socket itself and
-- never relays, so there is no SQLite counterpart (the two backends' migration
-- sets are numbered independently).
--
-- Both tables follow the schema rule (tenant_id leads every primary and
-- foreign key) and get the same FORCE row-level security as 0001's tables.
-- Node ids are [a-z0-9_-]{1,48}: the wake-up channel is latchkey_node_<id>,
-- which must fit PostgreSQL's 63-byte identifier limit.

-- Which node holds which connector's WebSocket. One row per connector: a
-- connect takes the row over (epoch + 1), a renewal only extends the lease of
-- the node's own rows, a disconnect deletes only the node's own row. A row
-- whose lease has passed names nobody.
CREATE TABLE connector_presence (
    tenant_id    uuid        NOT NULL,
    connector_id uuid        NOT NULL,
    node_id      text        COLLATE "C" NOT NULL,
    epoch        bigint      NOT NULL DEFAULT 1,
    lease_until  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, connector_id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES connectors (tenant_id, connector_id),
    CHECK (node_id ~ '^[a-z0-9_-]{1,48}$'),
    CHECK (epoch > 0)
);

-- The command outbox. command is the signed command exactly as the Dispatcher
-- built it (JSON of protocol.SignedCommand: the signed body bytes and the
-- signature); passwords inside are already HPKE-sealed to the connector, never
-- plaintext. result is the connector's signed result (protocol.SignedResult),
-- which the origin verifies with the connector's key. A row goes pending →
-- claimed → answered; a claimed row goes back to pending only when it was
-- never handed to a connector, so "expired while pending" means "never sent".
-- Rows are deleted by their origin once answered or expired, and by a sweep.
CREATE TABLE connector_commands (
    tenant_id    uuid        NOT NULL,
    id           text        COLLATE "C" NOT NULL,
    connector_id uuid        NOT NULL,
    origin_node  text        COLLATE "C" NOT NULL,
    target_node  text        COLLATE "C" NOT NULL,
    state        text        COLLATE "C" NOT NULL DEFAULT 'pending',
    command      bytea       NOT NULL,
    expires_at   timestamptz NOT NULL,
    result       bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    claimed_at   timestamptz,
    answered_at  timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES connectors (tenant_id, connector_id),
    CHECK (id ~ '^[0-9a-f]{32}$'),
    CHECK (origin_node ~ '^[a-z0-9_-]{1,48}$' AND target_node ~ '^[a-z0-9_-]{1,48}$'),
    CHECK (state IN ('pending', 'claimed', 'answered')),
    CHECK ((state = 'pending') = (claimed_at IS NULL)),
    CHECK ((state = 'answered') = (result IS NOT NULL AND answered_at IS NOT NULL)),
    CHECK (octet_length(command) <= 65536 AND octet_length(result) <= 65536)
);

-- A node's inbox: what it polls for.
CREATE INDEX connector_commands_inbox ON connector_commands (target_node) WHERE state = 'pending';
-- The sweep.
CREATE INDEX connector_commands_expiry ON connector_commands (expires_at);
CREATE INDEX connector_presence_lease ON connector_presence (lease_until);

ALTER TABLE connector_presence ENABLE ROW LEVEL SECURITY;
ALTER TABLE connector_presence FORCE ROW LEVEL SECURITY;
ALTER TABLE connector_commands ENABLE ROW LEVEL SECURITY;
ALTER TABLE connector_commands FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON connector_presence FOR ALL
    USING (tenant_id = latchkey_current_tenant())
    WITH CHECK (tenant_id = latchkey_current_tenant());
CREATE POLICY tenant_isolation ON connector_commands FOR ALL
    USING (tenant_id = latchkey_current_tenant())
    WITH CHECK (tenant_id = latchkey_current_tenant());

-- A node finds which tenants have pending work for it before it knows the
-- tenant. The application role gets only the tenant ids, through
-- latchkey_relay_inbox(node), which runs as the schema owner (SECURITY
-- DEFINER); the policy that lets it read pending rows is the owner's alone, so
-- no application transaction can read another tenant's command rows. Claiming
-- them then happens per tenant under tenant_isolation.
CREATE POLICY relay_inbox ON connector_commands FOR SELECT TO CURRENT_USER
    USING (state = 'pending');
CREATE FUNCTION latchkey_relay_inbox(node text) RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ SELECT DISTINCT c.tenant_id FROM public.connector_commands c
          WHERE c.state = 'pending' AND c.target_node = node AND c.expires_at > now() $$;
REVOKE ALL ON FUNCTION latchkey_relay_inbox(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION latchkey_relay_inbox(text) TO latchkey_app;

-- The periodic sweep: with app.relay_sweep = 'on' a transaction may delete
-- (not read, not change) rows that are past use: commands expired over a
-- minute ago (no waiter is left: the origin waits expiry + a few seconds, and
-- the agent refuses them anyway) and presence leases that ran out over a
-- minute ago.
CREATE POLICY relay_sweep ON connector_commands FOR DELETE
    USING (current_setting('app.relay_sweep', true) = 'on' AND expires_at < now() - interval '1 minute');
CREATE POLICY relay_sweep ON connector_presence FOR DELETE
    USING (current_setting('app.relay_sweep', true) = 'on' AND lease_until < now() - interval '1 minute');

GRANT SELECT, INSERT, UPDATE, DELETE ON connector_presence, connector_commands TO latchkey_app;

---- create above / drop below ----

DROP FUNCTION IF EXISTS latchkey_relay_inbox(text);
DROP TABLE IF EXISTS connector_commands;
DROP TABLE IF EXISTS connector_presence;
