package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/audit"
)

// AppendAudit appends e to the tenant's hash chain. The tenant's row lock
// serialises appends, so concurrent ones still form one unbroken chain; the
// application role may insert audit events but never change or delete them.
func (ts tenantStore) AppendAudit(ctx context.Context, e tenants.AuditEvent) (tenants.AuditEvent, error) {
	detail, err := detailDoc(e.Detail)
	if err != nil {
		return tenants.AuditEvent{}, fmt.Errorf("append audit event: %w", err)
	}
	var out tenants.AuditEvent
	err = ts.run(ctx, func(tx pgx.Tx) error {
		if _, err := ts.lock(ctx, tx); err != nil {
			return err
		}
		var prev *tenants.AuditEvent
		last, err := scanAudit(tx.QueryRow(ctx,
			`SELECT `+auditColumns+` FROM audit_events WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1`, ts.id))
		switch err := classify(err); {
		case err == nil:
			prev = &last
		case isNotFound(err):
		default:
			return fmt.Errorf("read last event: %w", err)
		}
		ev := e
		ev.TenantID = tenants.ID(ts.id)
		// The hash covers the time in nanoseconds: seal the time as stored.
		if ev.Time.IsZero() {
			ev.Time = ts.s.timestamp()
		} else {
			ev.Time = storedTime(ev.Time)
		}
		ev = audit.Seal(prev, ev)
		_, err = tx.Exec(ctx, `INSERT INTO audit_events (`+auditColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			ts.id, ev.Seq, ev.Time, ev.Actor, ev.Action, ev.Target, ev.IP, ev.UserAgent, ev.Outcome,
			ev.CorrelationID, detail, ev.PrevHash, ev.Hash)
		if err != nil {
			return classify(err)
		}
		out = ev
		return nil
	})
	if err != nil {
		return tenants.AuditEvent{}, fmt.Errorf("append audit event: %w", err)
	}
	return out, nil
}

// ListAudit returns up to limit events with Seq > afterSeq, in Seq order.
func (ts tenantStore) ListAudit(ctx context.Context, afterSeq int64, limit int) ([]tenants.AuditEvent, error) {
	if !validID(ts.id) || limit <= 0 {
		return nil, nil
	}
	var out []tenants.AuditEvent
	err := ts.run(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+auditColumns+` FROM audit_events
			WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, ts.id, afterSeq, limit)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanAudit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", classify(err))
	}
	return out, nil
}
