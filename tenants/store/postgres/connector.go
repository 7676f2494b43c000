package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

const connectorColumns = `tenant_id, connector_id, name, sign_key, seal_key, agent_version, domains,
	created_at, last_seen_at, revoked_at`

func scanConnector(row pgx.Row) (tenants.Connector, error) {
	var (
		c                 tenants.Connector
		tid               string
		domains           []byte
		lastSeen, revoked *time.Time
	)
	if err := row.Scan(&tid, &c.ID, &c.Name, &c.SignKey, &c.SealKey, &c.AgentVersion, &domains,
		&c.CreatedAt, &lastSeen, &revoked); err != nil {
		return tenants.Connector{}, err
	}
	c.TenantID = tenants.ID(tid)
	c.CreatedAt = c.CreatedAt.UTC()
	if lastSeen != nil {
		c.LastSeenAt = lastSeen.UTC()
	}
	if revoked != nil {
		c.RevokedAt = revoked.UTC()
	}
	if err := json.Unmarshal(domains, &c.Domains); err != nil {
		return tenants.Connector{}, fmt.Errorf("decode connector %s domains: %w", c.ID, err)
	}
	if len(c.Domains) == 0 {
		c.Domains = nil
	}
	return c, nil
}

const joinTokenColumns = `tenant_id, token_id, token_hash, created_by, created_at, expires_at, used_at, connector_id`

func scanJoinToken(row pgx.Row) (tenants.JoinToken, error) {
	var (
		j         tenants.JoinToken
		tid       string
		used      *time.Time
		connector *string
	)
	if err := row.Scan(&tid, &j.ID, &j.Hash, &j.CreatedBy, &j.CreatedAt, &j.ExpiresAt, &used, &connector); err != nil {
		return tenants.JoinToken{}, err
	}
	j.TenantID = tenants.ID(tid)
	j.CreatedAt, j.ExpiresAt = j.CreatedAt.UTC(), j.ExpiresAt.UTC()
	if used != nil {
		j.UsedAt = used.UTC()
	}
	j.ConnectorID = deref(connector)
	return j, nil
}

// CreateJoinToken stores a token's hash.
func (ts tenantStore) CreateJoinToken(ctx context.Context, tok tenants.JoinToken) (tenants.JoinToken, error) {
	if err := tok.Validate(); err != nil {
		return tenants.JoinToken{}, fmt.Errorf("create join token: %w: %w", store.ErrInvalid, err)
	}
	now := ts.s.timestamp()
	tok.ExpiresAt = storedTime(tok.ExpiresAt)
	if !tok.ExpiresAt.After(now) {
		return tenants.JoinToken{}, fmt.Errorf("create join token: %w", invalidf("expires_at %s is not in the future", tok.ExpiresAt))
	}
	id, err := ts.s.newID()
	if err != nil {
		return tenants.JoinToken{}, fmt.Errorf("create join token: %w", err)
	}
	tok.TenantID, tok.ID, tok.CreatedAt = tenants.ID(ts.id), id, now
	err = ts.run(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO join_tokens (`+joinTokenColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL)`,
			ts.id, tok.ID, tok.Hash, tok.CreatedBy, now, tok.ExpiresAt)
		return err
	})
	if err != nil {
		// A tenant that does not exist fails the foreign key.
		if isInvalidRef(err) {
			return tenants.JoinToken{}, fmt.Errorf("create join token: %w", store.ErrNotFound)
		}
		return tenants.JoinToken{}, fmt.Errorf("create join token: %w", classify(err))
	}
	return tok, nil
}

// ListJoinTokens returns the tenant's tokens, newest first.
func (ts tenantStore) ListJoinTokens(ctx context.Context) ([]tenants.JoinToken, error) {
	if !validID(ts.id) {
		return nil, nil
	}
	var out []tenants.JoinToken
	err := ts.run(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+joinTokenColumns+` FROM join_tokens
			WHERE tenant_id = $1 ORDER BY created_at DESC, token_id`, ts.id)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanJoinToken)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list join tokens: %w", classify(err))
	}
	return out, nil
}

// RedeemJoinToken claims the token with one conditional UPDATE and inserts
// the connector in the same transaction. Concurrent redemptions of one token
// queue on its row lock; once the winner commits, the others re-check
// "used_at IS NULL" against the new row version and match nothing (R5).
func (ts tenantStore) RedeemJoinToken(ctx context.Context, tokenHash []byte, c tenants.Connector) (tenants.Connector, error) {
	if err := c.Validate(); err != nil {
		return tenants.Connector{}, fmt.Errorf("redeem join token: %w: %w", store.ErrInvalid, err)
	}
	ds := c.Domains
	if ds == nil {
		ds = []string{}
	}
	domains, err := json.Marshal(ds)
	if err != nil {
		return tenants.Connector{}, fmt.Errorf("redeem join token: encode domains: %w", err)
	}
	id, err := ts.s.newID()
	if err != nil {
		return tenants.Connector{}, fmt.Errorf("redeem join token: %w", err)
	}
	now := ts.s.timestamp()
	c.TenantID, c.ID, c.CreatedAt = tenants.ID(ts.id), id, now
	c.LastSeenAt, c.RevokedAt = time.Time{}, time.Time{}
	if len(c.Domains) == 0 {
		c.Domains = nil
	}
	err = ts.run(ctx, func(tx pgx.Tx) error {
		var tokenID string
		err := tx.QueryRow(ctx, `UPDATE join_tokens SET used_at = $3, connector_id = $4
			WHERE tenant_id = $1 AND token_hash = $2 AND used_at IS NULL AND expires_at > $3
			RETURNING token_id`, ts.id, tokenHash, now, c.ID).Scan(&tokenID)
		if err != nil {
			return fmt.Errorf("claim join token: %w", classify(err))
		}
		_, err = tx.Exec(ctx, `INSERT INTO connectors (`+connectorColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)`,
			ts.id, c.ID, c.Name, c.SignKey, c.SealKey, c.AgentVersion, string(domains), now)
		if err != nil {
			return fmt.Errorf("insert connector: %w", classify(err))
		}
		return nil
	})
	if err != nil {
		return tenants.Connector{}, fmt.Errorf("redeem join token: %w", classify(err))
	}
	return c, nil
}

// GetConnector returns one of the tenant's connectors.
func (ts tenantStore) GetConnector(ctx context.Context, id string) (tenants.Connector, error) {
	if !validID(id) {
		return tenants.Connector{}, fmt.Errorf("get connector %q: %w", id, store.ErrNotFound)
	}
	var c tenants.Connector
	err := ts.run(ctx, func(tx pgx.Tx) error {
		var err error
		c, err = scanConnector(tx.QueryRow(ctx, `SELECT `+connectorColumns+` FROM connectors
			WHERE tenant_id = $1 AND connector_id = $2`, ts.id, id))
		return err
	})
	if err != nil {
		return tenants.Connector{}, fmt.Errorf("get connector %q: %w", id, classify(err))
	}
	return c, nil
}

// ListConnectors returns the tenant's connectors, oldest first.
func (ts tenantStore) ListConnectors(ctx context.Context) ([]tenants.Connector, error) {
	if !validID(ts.id) {
		return nil, nil
	}
	var out []tenants.Connector
	err := ts.run(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+connectorColumns+` FROM connectors
			WHERE tenant_id = $1 ORDER BY created_at, connector_id`, ts.id)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanConnector)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list connectors: %w", classify(err))
	}
	return out, nil
}

// RevokeConnector marks the connector revoked (once).
func (ts tenantStore) RevokeConnector(ctx context.Context, id string) (tenants.Connector, error) {
	if !validID(id) {
		return tenants.Connector{}, fmt.Errorf("revoke connector %q: %w", id, store.ErrNotFound)
	}
	var c tenants.Connector
	err := ts.run(ctx, func(tx pgx.Tx) error {
		var err error
		c, err = scanConnector(tx.QueryRow(ctx, `UPDATE connectors SET revoked_at = COALESCE(revoked_at, $3)
			WHERE tenant_id = $1 AND connector_id = $2 RETURNING `+connectorColumns, ts.id, id, ts.s.timestamp()))
		return err
	})
	if err != nil {
		return tenants.Connector{}, fmt.Errorf("revoke connector %q: %w", id, classify(err))
	}
	return c, nil
}

// TouchConnector moves LastSeenAt forward to at. It writes only when that
// changes something.
func (ts tenantStore) TouchConnector(ctx context.Context, id string, at time.Time) error {
	if !validID(id) {
		return fmt.Errorf("touch connector %q: %w", id, store.ErrNotFound)
	}
	at = storedTime(at)
	err := ts.run(ctx, func(tx pgx.Tx) error {
		var found bool
		err := tx.QueryRow(ctx, `WITH upd AS (
				UPDATE connectors SET last_seen_at = $3
				WHERE tenant_id = $1 AND connector_id = $2 AND (last_seen_at IS NULL OR last_seen_at < $3)
				RETURNING 1)
			SELECT EXISTS (SELECT 1 FROM upd) OR EXISTS (SELECT 1 FROM connectors WHERE tenant_id = $1 AND connector_id = $2)`,
			ts.id, id, at).Scan(&found)
		if err != nil {
			return err
		}
		if !found {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("touch connector %q: %w", id, classify(err))
	}
	return nil
}

// ConnectorByID finds a connector by id across tenants through the
// connector_lookup policy: the transaction names the one id it may see.
func (p platform) ConnectorByID(ctx context.Context, id string) (tenants.Connector, error) {
	if !validID(id) {
		return tenants.Connector{}, fmt.Errorf("find connector %q: %w", id, store.ErrNotFound)
	}
	var c tenants.Connector
	err := p.s.inTx(ctx, settingLookupConnector, id, func(tx pgx.Tx) error {
		var err error
		c, err = scanConnector(tx.QueryRow(ctx, `SELECT `+connectorColumns+` FROM connectors WHERE connector_id = $1`, id))
		return err
	})
	if err != nil {
		return tenants.Connector{}, fmt.Errorf("find connector %q: %w", id, classify(err))
	}
	return c, nil
}
