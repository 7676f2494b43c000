package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/audit"
	"github.com/latchkey/latchkey/tenants/store"
)

const auditColumns = `seq, at, actor, action, target, ip, user_agent, outcome, correlation_id, detail, prev_hash, hash`

func (ts tenantStore) scanAudit(r scanner) (tenants.AuditEvent, error) {
	e := tenants.AuditEvent{TenantID: tenants.ID(ts.id)}
	var at int64
	var detail string
	if err := r.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.IP, &e.UserAgent, &e.Outcome,
		&e.CorrelationID, &detail, &e.PrevHash, &e.Hash); err != nil {
		return e, err
	}
	e.Time = fromNanos(at)
	var err error
	e.Detail, err = decodeDetail(detail)
	return e, err
}

// AppendAudit appends e to the tenant's hash chain. Reading the last event and
// inserting the next happen in one IMMEDIATE transaction, which holds the
// write lock throughout, so concurrent appends queue and form one chain.
func (ts tenantStore) AppendAudit(ctx context.Context, e tenants.AuditEvent) (tenants.AuditEvent, error) {
	e.TenantID = tenants.ID(ts.id)
	if e.Time.IsZero() {
		e.Time = ts.s.clock()
	}
	at, err := toNanos("append audit event", e.Time)
	if err != nil {
		return tenants.AuditEvent{}, err
	}
	e.Time = fromNanos(at) // what the hash covers is exactly what is stored
	if len(e.Detail) == 0 {
		e.Detail = nil
	}
	detail, err := encodeDetail(e.Detail)
	if err != nil {
		return tenants.AuditEvent{}, fmt.Errorf("append audit event: %w", err)
	}
	var out tenants.AuditEvent
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		if err := ts.exists(ctx, tx); err != nil {
			return err
		}
		var prev *tenants.AuditEvent
		last, err := ts.scanAudit(tx.QueryRowContext(ctx,
			`SELECT `+auditColumns+` FROM audit_events WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1`, ts.id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("read last audit event: %w", err)
		default:
			prev = &last
		}
		out = audit.Seal(prev, e)
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_events (tenant_id, seq, at, actor, action, target, ip,
			user_agent, outcome, correlation_id, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ts.id, out.Seq, at, out.Actor, out.Action, out.Target, out.IP, out.UserAgent, out.Outcome,
			out.CorrelationID, detail, out.PrevHash, out.Hash)
		return mapErr("insert audit event", err)
	})
	if err != nil {
		return tenants.AuditEvent{}, fmt.Errorf("append audit event to tenant %s: %w", ts.id, err)
	}
	return out, nil
}

// ListAudit returns up to limit events with Seq > afterSeq, in Seq order.
func (ts tenantStore) ListAudit(ctx context.Context, afterSeq int64, limit int) ([]tenants.AuditEvent, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("list audit events: limit %d: %w", limit, store.ErrInvalid)
	}
	rows, err := ts.s.db.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_events
		WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`, ts.id, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit events of tenant %s: %w", ts.id, err)
	}
	defer rows.Close()
	var out []tenants.AuditEvent
	for rows.Next() {
		e, err := ts.scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("list audit events of tenant %s: %w", ts.id, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit events of tenant %s: %w", ts.id, err)
	}
	return out, nil
}
