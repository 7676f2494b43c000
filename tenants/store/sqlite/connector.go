package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

const connectorColumns = `tenant_id, connector_id, name, sign_key, seal_key, agent_version, domains,
	created_at, last_seen_at, revoked_at`

func scanConnector(r scanner) (tenants.Connector, error) {
	var (
		c                tenants.Connector
		tid, domains     string
		created          int64
		lastSeen, revokd sql.NullInt64
	)
	if err := r.Scan(&tid, &c.ID, &c.Name, &c.SignKey, &c.SealKey, &c.AgentVersion, &domains,
		&created, &lastSeen, &revokd); err != nil {
		return c, err
	}
	c.TenantID = tenants.ID(tid)
	c.CreatedAt = fromNanos(created)
	if lastSeen.Valid {
		c.LastSeenAt = fromNanos(lastSeen.Int64)
	}
	if revokd.Valid {
		c.RevokedAt = fromNanos(revokd.Int64)
	}
	if err := json.Unmarshal([]byte(domains), &c.Domains); err != nil {
		return c, fmt.Errorf("decode connector %s domains: %w", c.ID, err)
	}
	if len(c.Domains) == 0 {
		c.Domains = nil
	}
	return c, nil
}

const joinTokenColumns = `token_id, token_hash, created_by, created_at, expires_at, used_at, connector_id`

func (ts tenantStore) scanJoinToken(r scanner) (tenants.JoinToken, error) {
	j := tenants.JoinToken{TenantID: tenants.ID(ts.id)}
	var (
		created, expires int64
		used             sql.NullInt64
		connector        sql.NullString
	)
	if err := r.Scan(&j.ID, &j.Hash, &j.CreatedBy, &created, &expires, &used, &connector); err != nil {
		return j, err
	}
	j.CreatedAt, j.ExpiresAt = fromNanos(created), fromNanos(expires)
	if used.Valid {
		j.UsedAt = fromNanos(used.Int64)
	}
	j.ConnectorID = connector.String
	return j, nil
}

// CreateJoinToken stores a token's hash.
func (ts tenantStore) CreateJoinToken(ctx context.Context, tok tenants.JoinToken) (tenants.JoinToken, error) {
	if err := tok.Validate(); err != nil {
		return tenants.JoinToken{}, fmt.Errorf("create join token: %w: %w", store.ErrInvalid, err)
	}
	now := ts.s.clock()
	expires, err := toNanos("create join token", tok.ExpiresAt)
	if err != nil {
		return tenants.JoinToken{}, err
	}
	if expires <= now.UnixNano() {
		return tenants.JoinToken{}, fmt.Errorf("create join token: %w", invalidf("expires_at %s is not in the future", tok.ExpiresAt))
	}
	tok.TenantID, tok.ID, tok.CreatedAt, tok.ExpiresAt = tenants.ID(ts.id), uuid.NewString(), now, fromNanos(expires)
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		if err := ts.exists(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO join_tokens (tenant_id, `+joinTokenColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)`,
			ts.id, tok.ID, tok.Hash, tok.CreatedBy, now.UnixNano(), expires)
		return mapErr("insert join token", err)
	})
	if err != nil {
		return tenants.JoinToken{}, fmt.Errorf("create join token: %w", err)
	}
	return tok, nil
}

// ListJoinTokens returns the tenant's tokens, newest first.
func (ts tenantStore) ListJoinTokens(ctx context.Context) ([]tenants.JoinToken, error) {
	rows, err := ts.s.db.QueryContext(ctx, `SELECT `+joinTokenColumns+` FROM join_tokens
		WHERE tenant_id = ? ORDER BY created_at DESC, token_id`, ts.id)
	if err != nil {
		return nil, fmt.Errorf("list join tokens: %w", err)
	}
	defer rows.Close()
	var out []tenants.JoinToken
	for rows.Next() {
		j, err := ts.scanJoinToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list join tokens: %w", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list join tokens: %w", err)
	}
	return out, nil
}

// RedeemJoinToken claims the token with one conditional UPDATE and inserts
// the connector, in one IMMEDIATE transaction (which SQLite serialises with
// every other writer, so concurrent redemptions queue and only the first
// finds the token unused).
func (ts tenantStore) RedeemJoinToken(ctx context.Context, tokenHash []byte, c tenants.Connector) (tenants.Connector, error) {
	if err := c.Validate(); err != nil {
		return tenants.Connector{}, fmt.Errorf("redeem join token: %w: %w", store.ErrInvalid, err)
	}
	domains, err := encodeDomains(c.Domains)
	if err != nil {
		return tenants.Connector{}, fmt.Errorf("redeem join token: %w", err)
	}
	now := ts.s.clock()
	c.TenantID, c.ID, c.CreatedAt = tenants.ID(ts.id), uuid.NewString(), now
	c.LastSeenAt, c.RevokedAt = time.Time{}, time.Time{}
	if len(c.Domains) == 0 {
		c.Domains = nil
	}
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		var tokenID string
		err := tx.QueryRowContext(ctx, `UPDATE join_tokens SET used_at = ?, connector_id = ?
			WHERE tenant_id = ? AND token_hash = ? AND used_at IS NULL AND expires_at > ?
			RETURNING token_id`, now.UnixNano(), c.ID, ts.id, tokenHash, now.UnixNano()).Scan(&tokenID)
		if err != nil {
			return mapErr("claim join token", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO connectors (`+connectorColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)`,
			ts.id, c.ID, c.Name, c.SignKey, c.SealKey, c.AgentVersion, domains, now.UnixNano())
		return mapErr("insert connector", err)
	})
	if err != nil {
		return tenants.Connector{}, fmt.Errorf("redeem join token: %w", err)
	}
	return c, nil
}

func encodeDomains(d []string) (string, error) {
	if d == nil {
		d = []string{}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encode domains: %w", err)
	}
	return string(b), nil
}

// GetConnector returns one of the tenant's connectors.
func (ts tenantStore) GetConnector(ctx context.Context, id string) (tenants.Connector, error) {
	c, err := scanConnector(ts.s.db.QueryRowContext(ctx, `SELECT `+connectorColumns+` FROM connectors
		WHERE tenant_id = ? AND connector_id = ?`, ts.id, id))
	if err != nil {
		return tenants.Connector{}, mapErr(fmt.Sprintf("get connector %q", id), err)
	}
	return c, nil
}

// ListConnectors returns the tenant's connectors, oldest first.
func (ts tenantStore) ListConnectors(ctx context.Context) ([]tenants.Connector, error) {
	rows, err := ts.s.db.QueryContext(ctx, `SELECT `+connectorColumns+` FROM connectors
		WHERE tenant_id = ? ORDER BY created_at, connector_id`, ts.id)
	if err != nil {
		return nil, fmt.Errorf("list connectors: %w", err)
	}
	defer rows.Close()
	var out []tenants.Connector
	for rows.Next() {
		c, err := scanConnector(rows)
		if err != nil {
			return nil, fmt.Errorf("list connectors: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list connectors: %w", err)
	}
	return out, nil
}

// RevokeConnector marks the connector revoked (once).
func (ts tenantStore) RevokeConnector(ctx context.Context, id string) (tenants.Connector, error) {
	var out tenants.Connector
	err := ts.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE connectors SET revoked_at = COALESCE(revoked_at, ?)
			WHERE tenant_id = ? AND connector_id = ?`, ts.s.clock().UnixNano(), ts.id, id)
		if err != nil {
			return mapErr("revoke connector", err)
		}
		if err := affected("revoke connector", res); err != nil {
			return err
		}
		out, err = scanConnector(tx.QueryRowContext(ctx, `SELECT `+connectorColumns+` FROM connectors
			WHERE tenant_id = ? AND connector_id = ?`, ts.id, id))
		return mapErr("read revoked connector", err)
	})
	if err != nil {
		return tenants.Connector{}, fmt.Errorf("revoke connector %q: %w", id, err)
	}
	return out, nil
}

// TouchConnector moves LastSeenAt forward to at.
func (ts tenantStore) TouchConnector(ctx context.Context, id string, at time.Time) error {
	n, err := toNanos("touch connector", at)
	if err != nil {
		return err
	}
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE connectors SET last_seen_at = ?
			WHERE tenant_id = ? AND connector_id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)`,
			n, ts.id, id, n)
		if err != nil {
			return mapErr("touch connector", err)
		}
		if k, err := res.RowsAffected(); err == nil && k == 0 {
			// Nothing changed: already later, or no such connector.
			var c int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM connectors WHERE tenant_id = ? AND connector_id = ?`,
				ts.id, id).Scan(&c); err != nil {
				return fmt.Errorf("touch connector: %w", err)
			}
			if c == 0 {
				return fmt.Errorf("touch connector: %w", store.ErrNotFound)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("touch connector %q: %w", id, err)
	}
	return nil
}

// ConnectorByID finds a connector by id across tenants, for the hub.
func (p platform) ConnectorByID(ctx context.Context, id string) (tenants.Connector, error) {
	c, err := scanConnector(p.s.db.QueryRowContext(ctx, `SELECT `+connectorColumns+` FROM connectors
		WHERE connector_id = ?`, id))
	if err != nil {
		return tenants.Connector{}, mapErr(fmt.Sprintf("find connector %q", id), err)
	}
	return c, nil
}
