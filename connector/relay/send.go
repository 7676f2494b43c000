package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
)

// row is what the origin reads of its command.
type row struct {
	state, target string
	result        []byte
}

// Relay records a signed command for the node that holds its connector, wakes
// that node after the commit, and waits until ctx ends for the connector's
// signed result (hub.Remote). See the package comment for its errors.
func (r *Relay) Relay(ctx context.Context, c hub.RemoteCommand) (protocol.SignedResult, error) {
	var none protocol.SignedResult
	if r.isClosed() || !validUUID(c.TenantID) || !validUUID(c.ConnectorID) {
		return none, hub.ErrRelayNotSent
	}
	cmd, err := json.Marshal(c.Command)
	if err != nil {
		return none, fmt.Errorf("%w: encode: %v", hub.ErrRelayNotSent, err)
	}
	key := c.TenantID + ":" + c.ID
	woken := r.addWaiter(key)
	defer r.removeWaiter(key)

	var target string
	// The target is whoever holds the connector now; no holder, no row.
	_, err = r.pipelined(ctx, c.TenantID, true, func(rows pgx.Rows) error {
		var err error
		target, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[string])
		return err
	}, `INSERT INTO connector_commands
			(tenant_id, id, connector_id, origin_node, target_node, command, expires_at)
		SELECT $1, $2, $3, $4, p.node_id, $5, $6 FROM connector_presence p
		WHERE p.tenant_id = $1 AND p.connector_id = $3 AND p.lease_until > now()
		RETURNING target_node`, c.TenantID, c.ID, c.ConnectorID, r.node, cmd, c.ExpiresAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return none, hub.ErrRelayNotSent
	case err != nil:
		// The commit may have happened all the same: take the row back.
		if gone, werr := r.withdraw(context.WithoutCancel(ctx), c, false); werr == nil && gone {
			return none, fmt.Errorf("%w: %v", hub.ErrRelayNotSent, err)
		}
		return none, fmt.Errorf("relay: record command: %w", err)
	}
	// After the commit, in its own statement (performance.md row 18).
	r.notify(ctx, target, key)

	poll := time.NewTicker(r.opt.Poll)
	defer poll.Stop()
	expiry := time.NewTimer(time.Until(c.ExpiresAt) + 5*time.Millisecond)
	defer expiry.Stop()
	for {
		ticked := false
		select {
		case <-woken:
		case <-expiry.C:
		case <-poll.C:
			ticked = true
		case <-ctx.Done():
			return r.final(c)
		}
		st, err := r.read(ctx, c)
		if err != nil {
			if ctx.Err() != nil {
				return r.final(c)
			}
			r.log.Warn("read relayed command", slog.String("cmd_id", c.ID), slog.String("error", err.Error()))
			continue
		}
		switch st.state {
		case "answered":
			return r.answer(ctx, c, st)
		case "pending":
			if !time.Now().Before(c.ExpiresAt) {
				if gone, err := r.withdraw(ctx, c, true); err == nil && gone {
					return none, hub.ErrRelayExpired
				}
			}
			if ticked {
				r.readdress(ctx, c, st.target)
			}
		}
	}
}

// final settles the command once the caller stops waiting.
func (r *Relay) final(c hub.RemoteCommand) (protocol.SignedResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := r.read(ctx, c)
	switch {
	case err == nil && st.state == "answered":
		return r.answer(ctx, c, st)
	case err == nil && st.state == "pending":
		// Taken back before any node claimed it: it never ran and never will.
		if gone, err := r.withdraw(ctx, c, false); err == nil && gone {
			return protocol.SignedResult{}, hub.ErrRelayExpired
		}
	case errors.Is(err, pgx.ErrNoRows):
		return protocol.SignedResult{}, hub.ErrRelayExpired // withdrawn or swept
	}
	return protocol.SignedResult{}, hub.ErrRelayUnanswered
}

// answer decodes the result and deletes the row (its work is done) off the
// caller's path.
func (r *Relay) answer(ctx context.Context, c hub.RemoteCommand, st row) (protocol.SignedResult, error) {
	var res protocol.SignedResult
	if err := json.Unmarshal(st.result, &res); err != nil {
		return res, fmt.Errorf("relay: decode result: %w", err)
	}
	// Add only while open, under the lock stop takes first: a handler still
	// in Relay during shutdown must not Add while stop Waits (the sweep
	// removes the row instead).
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return res, nil
	}
	r.cleanup.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.cleanup.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := r.inTenantAsync(ctx, c.TenantID, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM connector_commands WHERE tenant_id = $1 AND id = $2 AND state = 'answered'`, c.TenantID, c.ID)
			return err
		}); err != nil {
			r.log.Warn("delete answered command (the sweep will)", slog.String("cmd_id", c.ID), slog.String("error", err.Error()))
		}
	}()
	return res, nil
}

func (r *Relay) read(ctx context.Context, c hub.RemoteCommand) (row, error) {
	var st row
	_, err := r.pipelined(ctx, c.TenantID, false, func(rows pgx.Rows) error {
		if !rows.Next() {
			return pgx.ErrNoRows
		}
		return rows.Scan(&st.state, &st.target, &st.result)
	}, `SELECT state, target_node, result FROM connector_commands WHERE tenant_id = $1 AND id = $2`, c.TenantID, c.ID)
	return st, err
}

// withdraw deletes the command if it is still pending (and, with expired, if
// the database's clock says it has expired). gone reports that no row is left
// or the deleted one was pending: then no node ever claimed it.
func (r *Relay) withdraw(ctx context.Context, c hub.RemoteCommand, expired bool) (gone bool, err error) {
	q := `DELETE FROM connector_commands WHERE tenant_id = $1 AND id = $2 AND state = 'pending'`
	if expired {
		q += ` AND expires_at <= now()`
	}
	err = r.inTenant(ctx, c.TenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, q, c.TenantID, c.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			gone = true
			return nil
		}
		if expired {
			return nil // not expired yet by the database's clock, or claimed
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM connector_commands WHERE tenant_id = $1 AND id = $2`, c.TenantID, c.ID).Scan(&n); err != nil {
			return err
		}
		gone = n == 0
		return nil
	})
	return gone, err
}

// readdress points a still-pending command at the connector's current holder
// when it moved to another node, and wakes that node.
func (r *Relay) readdress(ctx context.Context, c hub.RemoteCommand, target string) {
	var moved string
	err := r.inTenant(ctx, c.TenantID, func(tx pgx.Tx) error {
		node, err := r.holder(ctx, tx, c.TenantID, c.ConnectorID)
		if err != nil || node == "" || node == target {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE connector_commands SET target_node = $3
			WHERE tenant_id = $1 AND id = $2 AND state = 'pending'`, c.TenantID, c.ID, node)
		if err == nil && tag.RowsAffected() == 1 {
			moved = node
		}
		return err
	})
	if err != nil {
		r.log.Warn("re-address relayed command", slog.String("cmd_id", c.ID), slog.String("error", err.Error()))
		return
	}
	if moved != "" {
		r.notify(ctx, moved, c.TenantID+":"+c.ID)
	}
}

func (r *Relay) addWaiter(key string) chan struct{} {
	ch := make(chan struct{}, 1)
	r.mu.Lock()
	r.waiters[key] = ch
	r.mu.Unlock()
	return ch
}

func (r *Relay) removeWaiter(key string) {
	r.mu.Lock()
	delete(r.waiters, key)
	r.mu.Unlock()
}

// wakeWaiter signals the origin waiting for key, if any.
func (r *Relay) wakeWaiter(key string) {
	r.mu.Lock()
	ch := r.waiters[key]
	r.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
