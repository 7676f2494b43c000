// Package protocol is the wire protocol between the control plane's connector
// hub and the on-prem connector agent. Both sides import it; it uses only the
// standard library, so the connector binary stays small.
//
// # Transport
//
// The agent dials the hub: an outbound HTTPS WebSocket to
// wss://<control plane>/connector/v1/connect, offering the subprotocol
// Subprotocol ("latchkey-connector.v1"); the hub refuses any other. Every
// connection proves possession of the connector's Ed25519 key: the agent sends
// headers X-Latchkey-Connector (its id), X-Latchkey-Time (RFC 3339) and
// X-Latchkey-Signature, an Ed25519 signature over AuthMessage(id, time, host).
// The hub looks the id up, checks the signature with the key it registered at
// enrollment and the time against ±60 s, and takes the tenant from that record —
// never from a header or the host. A revoked connector is refused (HTTP 403,
// permanent: the agent stops retrying).
//
// # Frames
//
// Each WebSocket text message is one Envelope: {"type", "id", "payload"}, at most
// MaxFrameBytes. Decode rejects unknown types, missing ids and oversized frames.
// The flow on a connection:
//
//	agent → hub  hello   {version, connector_id, agent_version, domains, capabilities}
//	hub → agent  config  {heartbeat_seconds, max_in_flight, server_time}   or  reject {code, message, permanent}
//	hub → agent  command {signed command, see below}            (any number, concurrently)
//	agent → hub  result  {signed result for the command's id}   (exactly one per command it accepted or refused)
//	hub → agent  drain   {}  the hub is shutting down: finish in-flight commands, then close
//
// Liveness uses WebSocket ping/pong control frames every heartbeat_seconds; a
// side that hears nothing for 3× that closes the connection. Each side has one
// writer goroutine.
//
// # Commands
//
// A command's body (CommandBody) is serialised once to JSON and signed with the
// control plane's Ed25519 command key, which the agent pinned at enrollment; the
// envelope carries the exact signed bytes, so no canonicalisation is needed. The
// body names the tenant, the connector, a unique 128-bit id, a sequence number,
// an operation from a fixed allow-list (Ops), the target's objectGUID, and
// issued-at / expires-at at most MaxCommandTTL apart. Passwords never appear in
// clear: they are sealed with HPKE (RFC 9180; ML-KEM-768+X25519 hybrid KEM,
// HKDF-SHA256, AES-256-GCM) to the connector's encryption key, with
// "cmd_id|tenant|target" as associated data, so a ciphertext cannot be moved to
// another command, tenant or account.
//
// The agent checks, in this order: signature, tenant and connector, expiry,
// replay (ids remembered on disk), allow-listed operation, its local scope and
// protection rules, its local rate limit. It runs a command at most once and
// answers with a ResultBody signed by its own Ed25519 key.
//
// # Versioning
//
// Version is a single integer that only goes up. The subprotocol name carries
// the major version; hello carries Version, and the hub answers with the
// features it enables in config. Unknown JSON fields are ignored (forward
// compatible); unknown frame types and operations are refused.
package protocol
