package relay

import "context"

// Crash stops the node's loops the way a killed process would: no presence
// rows are deleted, no lease is renewed any more.
func (r *Relay) Crash() { r.stop() }

// Claim runs the claim statement for tenant and connectors as the serving
// loop does and reports how many commands it took.
func (r *Relay) Claim(ctx context.Context, tenant string, connectors []string) (int, error) {
	return r.claim(ctx, tenant, connectors)
}

// ClaimRound runs one full claim round (every tenant with work here).
func (r *Relay) ClaimRound(ctx context.Context) error { return r.claimRound(ctx, nil) }

// WaitCleanup waits for the deletions of answered rows started so far (they
// run off the caller's path).
func (r *Relay) WaitCleanup() { r.cleanup.Wait() }
