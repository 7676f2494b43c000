package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/connector/protocol"
)

// remotePoll is how often Dispatcher.pick asks Remote again while it waits
// for a connector to appear.
const remotePoll = 250 * time.Millisecond

// Remote reaches connectors whose sockets other control-plane nodes hold
// (implemented by package connector/relay).
type Remote interface {
	// Present returns the ids of the tenant's connectors that another node
	// holds now (its presence lease is valid).
	Present(ctx context.Context, tenantID string) ([]string, error)
	// Relay hands a signed command to the node holding its connector and
	// waits (until ctx ends) for the connector's signed result. Its errors
	// say what became of the command: ErrRelayNotSent, ErrRelayExpired,
	// ErrRelayUnanswered; any other error means it may have run.
	Relay(ctx context.Context, c RemoteCommand) (protocol.SignedResult, error)
}

// RemoteCommand is a command for a connector held by another node.
type RemoteCommand struct {
	TenantID    string
	ConnectorID string
	ID          string
	ExpiresAt   time.Time
	Command     protocol.SignedCommand
}

// The fates of a relayed command that got no result. The Dispatcher maps
// them to Offline, TimedOut and Unknown.
var (
	// ErrRelayNotSent: the command was not handed over (no node holds the
	// connector, or it could not be recorded); it cannot run.
	ErrRelayNotSent = errors.New("relay: command not handed over")
	// ErrRelayExpired: no node claimed the command before it expired; it was
	// never sent to the connector and can no longer run.
	ErrRelayExpired = errors.New("relay: command expired before it was claimed")
	// ErrRelayUnanswered: a node claimed the command (it may have reached the
	// connector) but no result came back before the deadline.
	ErrRelayUnanswered = errors.New("relay: command claimed but unanswered by the deadline")
)

// relay runs a signed command on a connector held by another node and checks
// the result's signature with the connector's key: the origin trusts the
// connector, not the node or the database that carried the result.
func (d *Dispatcher) relay(ctx context.Context, log *slog.Logger, out Outcome, rec ConnectorRecord, body protocol.CommandBody, sc protocol.SignedCommand) Outcome {
	raw, err := d.Remote.Relay(ctx, RemoteCommand{TenantID: rec.TenantID, ConnectorID: rec.ID, ID: body.ID, ExpiresAt: body.ExpiresAt, Command: sc})
	switch {
	case err == nil:
	case errors.Is(err, ErrRelayNotSent):
		out.Status = Offline
		return out
	case errors.Is(err, ErrRelayExpired):
		out.Status = TimedOut
		return out
	default:
		if !errors.Is(err, ErrRelayUnanswered) && !errors.Is(err, context.DeadlineExceeded) {
			log.WarnContext(ctx, "relayed command", slog.String("cmd_id", body.ID), slog.String("error", err.Error()))
		}
		out.Status = Unknown
		return out
	}
	r, err := protocol.VerifyResult(rec.SignKey, raw, rec.TenantID, rec.ID)
	if err != nil || r.CommandID != body.ID {
		log.ErrorContext(ctx, "relayed result refused", slog.String("cmd_id", body.ID), slog.String("error", fmt.Sprint(err)))
		out.Status = Unknown
		return out
	}
	return mapResult(out, r)
}

// LiveConnector names a connector connected to this node.
type LiveConnector struct {
	TenantID, ConnectorID string
}

// Live returns the connectors connected to this node.
func (h *Hub) Live() []LiveConnector {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]LiveConnector, 0, len(h.sessions))
	for id, s := range h.sessions {
		if !s.isClosed() {
			out = append(out, LiveConnector{TenantID: s.rec.TenantID, ConnectorID: id})
		}
	}
	return out
}

// ErrNotConnectedHere is returned by Deliver when the connector has no live
// session on this node: nothing was sent.
var ErrNotConnectedHere = errors.New("connector not connected to this node")

// Deliver sends a command signed elsewhere (one relayed from another node) on
// the connector's live session on this node, through the session's one
// writer, and returns the connector's signed result, already verified against
// the connector's key, tenant and the command id. If the connection drops it
// sends the same command again when the connector is back on this node, until
// ctx ends (the agent's journal runs it once). sent reports whether the
// command was handed to a writer at least once (it may have run).
func (h *Hub) Deliver(ctx context.Context, tenantID, connectorID, cmdID string, sc protocol.SignedCommand) (res protocol.SignedResult, sent bool, err error) {
	s := h.session(connectorID)
	if s == nil || s.isClosed() {
		return res, false, ErrNotConnectedHere
	}
	if s.rec.TenantID != tenantID {
		return res, false, fmt.Errorf("deliver: connector %s belongs to another tenant", connectorID)
	}
	r, sent, err := h.sendUntilAnswered(ctx, s, tenantID, connectorID, cmdID, sc, nil)
	return r.raw, sent, err
}

// sendUntilAnswered sends sc on s and, whenever the connection drops, again on
// the connector's next session on this node, until an answer comes or ctx
// ends (the agent's journal runs a command once however often it arrives).
// sent reports whether it was handed to a writer at least once. onLost, if
// set, is called after each lost connection.
func (h *Hub) sendUntilAnswered(ctx context.Context, s *session, tenantID, connectorID, cmdID string, sc protocol.SignedCommand, onLost func()) (verified, bool, error) {
	sent := false
	for {
		if s == nil {
			// Take the change channel before looking, so that a reconnect
			// between the look and the wait is not missed.
			changed := h.waitChange()
			if s = h.liveSession(tenantID, connectorID); s != nil {
				continue
			}
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return verified{}, sent, ctx.Err()
			}
		}
		r, ok, err := s.send(ctx, cmdID, sc)
		sent = sent || ok
		if err == nil || !errors.Is(err, ErrConnectionLost) {
			return r, sent, err
		}
		if onLost != nil {
			onLost()
		}
		s = nil
	}
}

// liveSession is the connector's open session on this node if it belongs to
// tenantID, else nil.
func (h *Hub) liveSession(tenantID, connectorID string) *session {
	s := h.session(connectorID)
	if s == nil || s.isClosed() || s.rec.TenantID != tenantID {
		return nil
	}
	return s
}
