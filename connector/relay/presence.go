package relay

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// takeover records that this node now holds the connector: a new connection
// wins over any earlier holder (epoch + 1).
const takeover = `INSERT INTO connector_presence (tenant_id, connector_id, node_id, epoch, lease_until)
	VALUES ($1, $2, $3, 1, now() + make_interval(secs => $4))
	ON CONFLICT (tenant_id, connector_id) DO UPDATE
	SET node_id = excluded.node_id, lease_until = excluded.lease_until, epoch = connector_presence.epoch + 1`

// renewal extends this node's own lease, or takes over a row whose lease ran
// out, but never a live lease of another node (whose connection is newer).
const renewal = `INSERT INTO connector_presence (tenant_id, connector_id, node_id, epoch, lease_until)
	VALUES ($1, $2, $3, 1, now() + make_interval(secs => $4))
	ON CONFLICT (tenant_id, connector_id) DO UPDATE
	SET node_id = excluded.node_id, lease_until = excluded.lease_until,
		epoch = CASE WHEN connector_presence.node_id = excluded.node_id THEN connector_presence.epoch ELSE connector_presence.epoch + 1 END
	WHERE connector_presence.node_id = excluded.node_id OR connector_presence.lease_until < now()`

// OnChange records a connect or disconnect of a connector on this node; pass
// it as hub.Options.OnChange. It writes synchronously (bounded by 5 s);
// a failed write is repaired by the next renewal or by the lease running out.
func (r *Relay) OnChange(tenantID, connectorID string, connected bool) {
	if r.isClosed() || !validUUID(tenantID) || !validUUID(connectorID) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !connected {
		if h := r.theHub(); h != nil && h.IsConnected(connectorID) {
			// A newer connection of the same connector replaced this one here.
			connected = true
		}
	}
	var err error
	if connected {
		err = r.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, takeover, tenantID, connectorID, r.node, r.opt.Lease.Seconds())
			return err
		})
		if err == nil {
			r.kick(tenantID) // commands may be waiting for it
		}
	} else {
		err = r.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM connector_presence WHERE tenant_id = $1 AND connector_id = $2 AND node_id = $3`,
				tenantID, connectorID, r.node)
			return err
		})
	}
	if err != nil {
		r.log.Warn("record connector presence", slog.String("tenant_id", tenantID), slog.String("connector_id", connectorID),
			slog.Bool("connected", connected), slog.String("error", err.Error()))
	}
}

func (r *Relay) renewLoop(ctx context.Context) {
	t := time.NewTicker(r.opt.Renew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.renew(ctx)
		}
	}
}

// renew extends the leases of every connector the hub holds, in one
// transaction that switches app.tenant_id per tenant.
func (r *Relay) renew(ctx context.Context) {
	h := r.theHub()
	if h == nil {
		return
	}
	live := h.Live()
	if len(live) == 0 {
		return
	}
	b := &pgx.Batch{}
	for _, c := range live {
		if !validUUID(c.TenantID) || !validUUID(c.ConnectorID) {
			continue
		}
		b.Queue("SELECT set_config('app.tenant_id', $1, true)", c.TenantID)
		b.Queue(renewal, c.TenantID, c.ConnectorID, r.node, r.opt.Lease.Seconds())
	}
	if b.Len() == 0 {
		return
	}
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	if err != nil && ctx.Err() == nil {
		r.log.Warn("renew presence leases", slog.Int("connectors", len(live)), slog.String("error", err.Error()))
	}
}

// Present returns the ids of the tenant's connectors that another node holds
// with a valid lease (hub.Remote).
func (r *Relay) Present(ctx context.Context, tenantID string) ([]string, error) {
	if !validUUID(tenantID) || r.isClosed() {
		return nil, nil
	}
	var ids []string
	_, err := r.pipelined(ctx, tenantID, false, func(rows pgx.Rows) error {
		var err error
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}, `SELECT connector_id::text FROM connector_presence
		WHERE tenant_id = $1 AND node_id <> $2 AND lease_until > now()`, tenantID, r.node)
	return ids, err
}

// holder returns the node holding the connector with a valid lease, or "".
func (r *Relay) holder(ctx context.Context, tx pgx.Tx, tenantID, connectorID string) (string, error) {
	var node string
	err := tx.QueryRow(ctx, `SELECT node_id FROM connector_presence
		WHERE tenant_id = $1 AND connector_id = $2 AND lease_until > now()`, tenantID, connectorID).Scan(&node)
	if err == pgx.ErrNoRows {
		return "", nil
	}
	return node, err
}
