// Package agent is the on-prem side of the connector: it keeps an outbound
// WebSocket to the control plane's hub, and runs the signed directory commands
// that arrive over it — after checking each one against rules the cloud cannot
// change (see package protocol for the wire format and the order of checks).
//
// Structure (after chisel, cloudflared and teleport's reverse tunnel):
//   - Run loops over one connection at a time (connectionOnce) with jittered,
//     capped backoff that resets only after a connection stayed up for
//     StableAfter; a permanent refusal (revoked, unknown connector) stops it.
//   - A connection: dial with proof of possession of the connector's key,
//     hello → config, then a read loop that hands commands to workers (bounded
//     by max in flight) and one writer goroutine that owns the socket; ping/pong
//     push the read deadline forward; drain finishes in-flight work, then closes.
//   - Each command passes Verify (signature, tenant, connector, expiry,
//     operation), then the replay journal (ids on disk: a command runs at most
//     once; a second delivery gets the first result back), then the local
//     guardrails (OUs in scope, protected accounts, rate limit), then runs.
//
// The package imports no database driver, no web framework and nothing of the
// control plane: it ships in the small connector binary.
package agent
