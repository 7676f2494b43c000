package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/connector/protocol"
)

// listen opens the node's dedicated listening connection (outside the pool:
// a LISTEN belongs to its session).
func (r *Relay) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, r.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("relay: connect listener: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel(r.node)}.Sanitize()); err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("relay: listen: %w", err)
	}
	return conn, nil
}

// listenLoop receives wake-ups on conn; when the connection drops it
// reconnects with jittered backoff and runs a full claim round, since
// wake-ups sent meanwhile are lost.
func (r *Relay) listenLoop(ctx context.Context, conn *pgx.Conn) {
	backoff := r.opt.MinBackoff
	for {
		if conn != nil {
			started := time.Now()
			err := r.receive(ctx, conn)
			_ = conn.Close(context.Background())
			conn = nil
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("relay listener lost; reconnecting", slog.String("error", err.Error()))
			if time.Since(started) > 10*r.opt.MaxBackoff {
				backoff = r.opt.MinBackoff
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff/2 + rand.N(backoff)):
		}
		backoff = min(2*backoff, r.opt.MaxBackoff)
		var err error
		if conn, err = r.listen(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("relay listener reconnect", slog.String("error", err.Error()))
			continue
		}
		r.kick("") // whatever was missed
	}
}

func (r *Relay) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		tenant, _, ok := strings.Cut(n.Payload, ":")
		if !ok || !validUUID(tenant) {
			continue
		}
		// An answer for a waiting origin, or work for this node (or both,
		// when a connector moved here).
		r.wakeWaiter(n.Payload)
		r.kick(tenant)
	}
}

// kick asks the claim loop to look at tenant ("" = every tenant).
func (r *Relay) kick(tenant string) {
	select {
	case r.wake <- tenant:
	default:
		select { // full: a full round covers everyone
		case r.wake <- "":
		default:
		}
	}
}

func (r *Relay) claimLoop(ctx context.Context) {
	t := time.NewTicker(r.opt.Poll)
	defer t.Stop()
	for {
		var tenants map[string]bool // nil: all
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case tenant := <-r.wake:
			if tenant != "" {
				tenants = map[string]bool{tenant: true}
			}
		drain:
			for tenants != nil {
				select {
				case more := <-r.wake:
					if more == "" {
						tenants = nil
					} else {
						tenants[more] = true
					}
				default:
					break drain
				}
			}
		}
		if err := r.claimRound(ctx, tenants); err != nil && ctx.Err() == nil {
			r.log.Warn("claim relayed commands", slog.String("error", err.Error()))
		}
	}
}

// claimRound claims the pending commands for connectors this node holds, of
// the given tenants or (nil) of every tenant with pending rows addressed here.
func (r *Relay) claimRound(ctx context.Context, tenants map[string]bool) error {
	h := r.theHub()
	if h == nil {
		return nil
	}
	held := map[string][]string{}
	for _, c := range h.Live() {
		held[c.TenantID] = append(held[c.TenantID], c.ConnectorID)
	}
	if len(held) == 0 {
		return nil
	}
	if tenants == nil {
		var err error
		if tenants, err = r.inbox(ctx); err != nil {
			return err
		}
	}
	var errs []error
	for tenant := range tenants {
		if ids := held[tenant]; len(ids) > 0 {
			_, err := r.claim(ctx, tenant, ids)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// inbox returns the tenants with pending, unexpired commands addressed to
// this node. latchkey_relay_inbox (migration 0003) answers only tenant ids:
// the application role cannot read other tenants' rows.
func (r *Relay) inbox(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	rows, err := r.pool.Query(ctx, `SELECT t::text FROM latchkey_relay_inbox($1) AS t`, r.node)
	if err != nil {
		return out, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, id := range ids {
		out[id] = true
	}
	return out, err
}

// claimed is one command this node took.
type claimed struct {
	tenant, id, connector, origin string
	command                       []byte
	expires                       time.Time
}

// claim takes, in one statement, the tenant's pending unexpired commands for
// the connectors this node holds, and delivers each.
func (r *Relay) claim(ctx context.Context, tenant string, connectors []string) (int, error) {
	var got []claimed
	// Synchronous commit: the claim must be durable before the command goes
	// out, so that after a database crash a command that ran is never seen as
	// pending (and then answered TimedOut).
	_, err := r.pipelined(ctx, tenant, false, func(rows pgx.Rows) error {
		var err error
		got, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (claimed, error) {
			c := claimed{tenant: tenant}
			err := row.Scan(&c.id, &c.connector, &c.origin, &c.command, &c.expires)
			return c, err
		})
		return err
	}, `UPDATE connector_commands
		SET state = 'claimed', claimed_at = now(), target_node = $3
		WHERE tenant_id = $1 AND state = 'pending' AND expires_at > now() AND connector_id::text = ANY($2)
		RETURNING id, connector_id::text, origin_node, command, expires_at`, tenant, connectors, r.node)
	if err != nil {
		return 0, fmt.Errorf("claim for tenant %s: %w", tenant, err)
	}
	for _, c := range got {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			select {
			case r.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-r.sem }()
			r.deliver(ctx, c)
		}()
	}
	return len(got), nil
}

// deliver hands one claimed command to the connector's session on this node,
// records the signed result, commits, and then wakes the origin.
func (r *Relay) deliver(ctx context.Context, c claimed) {
	log := r.log.With(slog.String("tenant_id", c.tenant), slog.String("connector_id", c.connector), slog.String("cmd_id", c.id))
	var sc protocol.SignedCommand
	if err := json.Unmarshal(c.command, &sc); err != nil {
		log.Error("relayed command does not decode; leaving it to expire", slog.String("error", err.Error()))
		return
	}
	h := r.theHub()
	dctx, cancel := context.WithDeadline(ctx, c.expires.Add(r.opt.Grace))
	res, sent, err := h.Deliver(dctx, c.tenant, c.connector, c.id, sc)
	cancel()
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer wcancel()
	if err != nil {
		if sent {
			// It may have run: it stays claimed (Unknown at the origin).
			log.Warn("relayed command unanswered", slog.String("error", err.Error()))
			return
		}
		// Never handed over: back to pending, for whichever node holds the
		// connector now (the origin re-addresses it on its poll).
		if err := r.inTenant(wctx, c.tenant, func(tx pgx.Tx) error {
			_, err := tx.Exec(wctx, `UPDATE connector_commands SET state = 'pending', claimed_at = NULL
				WHERE tenant_id = $1 AND id = $2 AND state = 'claimed'`, c.tenant, c.id)
			return err
		}); err != nil {
			log.Warn("release relayed command", slog.String("error", err.Error()))
		}
		r.notify(wctx, c.origin, c.tenant+":"+c.id)
		return
	}
	raw, err := json.Marshal(res)
	if err != nil {
		log.Error("encode result", slog.String("error", err.Error()))
		return
	}
	_, err = r.pipelined(wctx, c.tenant, true, nil, `UPDATE connector_commands SET state = 'answered', result = $3, answered_at = now()
		WHERE tenant_id = $1 AND id = $2 AND state = 'claimed'`, c.tenant, c.id, raw)
	if err != nil {
		log.Warn("record relayed result", slog.String("error", err.Error()))
		return
	}
	// After the commit, in its own statement.
	r.notify(wctx, c.origin, c.tenant+":"+c.id)
}
