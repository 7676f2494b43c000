// Package relay carries a connector command from the control-plane node that
// created it to the node that holds the connector's WebSocket, over
// PostgreSQL (migration 0003_connector_relay), so that nodes stay stateless
// and a connector may land on any of them.
//
// # Presence
//
// Each node records which connectors it holds in connector_presence
// (tenant_id, connector_id, node_id, epoch, lease_until). Relay.OnChange is a
// hub.Options.OnChange callback: a connect takes the row over (epoch + 1), a
// disconnect deletes the node's own row only. Every Lease/3 the node renews
// the leases of the connectors its hub holds (taking over rows whose lease ran
// out, never a live lease of another node). Close deletes the node's rows; a
// node that dies without Close stops renewing, and after Lease nobody routes
// to it: the origin answers Offline rather than relaying into the void.
//
// # Sending (the origin)
//
// hub.Dispatcher calls Relay (hub.Remote) when no connector of the tenant is
// connected to this node but one is present elsewhere. The signed command —
// built, sealed and signed by the Dispatcher exactly as for a local send, so
// the row holds HPKE ciphertext, never a password — is inserted as a pending
// row of connector_commands addressed to the holder's node. Only after COMMIT
// the node is woken with pg_notify('latchkey_node_<target>', '<tenant>:<id>'),
// in a statement of its own: NOTIFY inside a writing transaction takes a
// global lock at commit and halves throughput (performance.md row 18). The
// origin then waits for 'latchkey_node_<origin>' and re-reads the row; a poll
// (Poll, default 1 s) covers lost wake-ups and re-addresses a pending command
// whose connector moved to another node. The answer is the connector's signed
// result, which the Dispatcher verifies with the connector's key: neither the
// database nor the serving node can forge it.
//
// # Serving (the holder)
//
// One dedicated connection LISTENs on 'latchkey_node_<me>' (reconnecting with
// backoff). On a wake-up, and every Poll, the node finds the tenants with
// pending rows addressed to it (latchkey_relay_inbox: tenant ids only) and claims, per
// tenant with app.tenant_id set, the pending unexpired rows of connectors it
// holds: UPDATE … SET state = 'claimed' WHERE state = 'pending' AND
// expires_at > now() RETURNING …. One statement decides, so two nodes can
// never both claim a command. Each claimed command goes through the hub's
// session (hub.Deliver: the socket keeps its one writer); the result is
// written, committed, then the origin is NOTIFYed. A claimed command that
// could not be handed to the connector goes back to pending; one that was
// handed over stays claimed: the agent's journal runs it at most once.
//
// # Definite answers (R57)
//
// When a pending command reaches its expiry, the origin deletes it with
// DELETE … WHERE state = 'pending' AND expires_at <= now(): if that removes
// the row, no node claimed it, it was never sent and it can no longer run
// (hub.ErrRelayExpired → TimedOut). A command claimed but unanswered at the
// deadline may have run (hub.ErrRelayUnanswered → Unknown). No holder at all
// means nothing was recorded (hub.ErrRelayNotSent → Offline).
//
// Every statement on a tenant's rows runs in a transaction with
// set_config('app.tenant_id', …, true) (R40); row-level security applies to
// the application role (R39). Expired rows are removed by Sweep (policy
// relay_sweep: delete-only, rows expired over a minute ago).
package relay
