package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchkey/latchkey/connector/hub"
)

// Options tune a Relay. Zero values take the defaults.
type Options struct {
	// Lease is how long a presence row stays valid without renewal
	// (default 15 s); it is renewed every Renew (default Lease/3).
	Lease, Renew time.Duration
	// Poll is the slow poll that covers lost wake-ups, on both sides
	// (default 1 s).
	Poll time.Duration
	// Sweep is how often expired rows are deleted (default 1 min; negative
	// disables the loop).
	Sweep time.Duration
	// Grace is how long after a command's expiry the serving node waits for
	// the connector's result (default 2 s).
	Grace time.Duration
	// MaxDeliveries bounds the commands this node delivers at once
	// (default 256).
	MaxDeliveries int
	// MinBackoff and MaxBackoff bound the listener's reconnect delays
	// (default 50 ms and 5 s).
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	// NotifyFilter, when set, is asked before every NOTIFY; false drops it
	// (tests use it to lose wake-ups).
	NotifyFilter func(channel, payload string) bool
}

// Relay is one node's side of the relay: its presence, its outbox waits and
// its serving loop. It implements hub.Remote. Safe for concurrent use.
type Relay struct {
	pool *pgxpool.Pool
	node string
	opt  Options
	log  *slog.Logger

	mu      sync.Mutex
	hub     *hub.Hub
	waiters map[string]chan struct{} // by "<tenant>:<id>"
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	cleanup sync.WaitGroup // deletions of answered rows

	wake chan string   // tenants with work, from wake-ups and connects
	sem  chan struct{} // bounds deliveries
}

var _ hub.Remote = (*Relay)(nil)

var nodeIDPattern = regexp.MustCompile(`^[a-z0-9_-]{1,48}$`)

// ValidNodeID reports whether id can name a node: 1–48 of [a-z0-9_-] (the
// wake-up channel latchkey_node_<id> must be a PostgreSQL identifier of at
// most 63 bytes).
func ValidNodeID(id string) bool { return nodeIDPattern.MatchString(id) }

// NewNodeID returns a random node id, for a process that has no stable name.
func NewNodeID() string { return "n" + uuid.NewString()[:8] + uuid.NewString()[:8] }

// New returns the relay of node nodeID over pool, which must connect as the
// application role to a database migrated to 0003_connector_relay. Pass
// r.OnChange as the hub's Options.OnChange, then call Start with the hub.
func New(pool *pgxpool.Pool, nodeID string, opt Options) (*Relay, error) {
	if pool == nil {
		return nil, errors.New("relay: no database pool")
	}
	if !ValidNodeID(nodeID) {
		return nil, fmt.Errorf("relay: node id %q: want 1–48 of [a-z0-9_-]", nodeID)
	}
	if opt.Lease <= 0 {
		opt.Lease = 15 * time.Second
	}
	if opt.Renew <= 0 {
		opt.Renew = opt.Lease / 3
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.Sweep == 0 {
		opt.Sweep = time.Minute
	}
	if opt.Grace <= 0 {
		opt.Grace = 2 * time.Second
	}
	if opt.MaxDeliveries <= 0 {
		opt.MaxDeliveries = 256
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = 50 * time.Millisecond
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 5 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return &Relay{pool: pool, node: nodeID, opt: opt, log: opt.Logger.With(slog.String("node_id", nodeID)),
		waiters: map[string]chan struct{}{}, wake: make(chan string, 64), sem: make(chan struct{}, opt.MaxDeliveries)}, nil
}

// NodeID is this node's id.
func (r *Relay) NodeID() string { return r.node }

// Start attaches the hub whose sessions this node serves and starts the
// listener, the claim loop, lease renewal and the sweep. It returns once the
// node is LISTENing on its channel, or the first connection's error.
func (r *Relay) Start(ctx context.Context, h *hub.Hub) error {
	r.mu.Lock()
	if r.closed || r.cancel != nil {
		r.mu.Unlock()
		return errors.New("relay: already started or closed")
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.hub, r.cancel = h, cancel
	r.mu.Unlock()

	conn, err := r.listen(ctx)
	if err != nil {
		cancel()
		return err
	}
	r.wg.Add(3)
	go func() { defer r.wg.Done(); r.listenLoop(lctx, conn) }()
	go func() { defer r.wg.Done(); r.claimLoop(lctx) }()
	go func() { defer r.wg.Done(); r.renewLoop(lctx) }()
	if r.opt.Sweep > 0 {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.sweepLoop(lctx) }()
	}
	r.renew(lctx) // connectors that connected before Start
	return nil
}

// Close stops the loops and deletes this node's presence rows. Call it after
// the hub has shut down and the callers of the Dispatcher are done (commands
// in flight through this node need its loops until then).
func (r *Relay) Close(ctx context.Context) error {
	h := r.stop()
	if h == nil {
		return nil
	}
	byTenant := map[string][]string{}
	for _, c := range h.Live() {
		byTenant[c.TenantID] = append(byTenant[c.TenantID], c.ConnectorID)
	}
	var errs []error
	for tenant, ids := range byTenant {
		if !validUUID(tenant) {
			continue
		}
		errs = append(errs, r.inTenant(ctx, tenant, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM connector_presence WHERE connector_id::text = ANY($1) AND node_id = $2`, ids, r.node)
			return err
		}))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("relay close: delete presence: %w", err)
	}
	return nil
}

// stop ends the loops without touching the database and returns the hub (nil
// when already stopped).
func (r *Relay) stop() *hub.Hub {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	cancel, h := r.cancel, r.hub
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	r.wg.Wait()
	r.cleanup.Wait()
	return h
}

func (r *Relay) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

func (r *Relay) theHub() *hub.Hub {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hub
}

// inTenant runs fn in a transaction scoped to tenant (R40: transaction-local).
func (r *Relay) inTenant(ctx context.Context, tenant string, fn func(pgx.Tx) error) error {
	return r.tenantTx(ctx, tenant, false, fn)
}

// tenantTx runs fn in a transaction scoped to tenant; with async its commit
// does not wait for the WAL flush (see inTenantAsync).
func (r *Relay) tenantTx(ctx context.Context, tenant string, async bool, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, setTenantSQL(async), tenant); err != nil {
			return fmt.Errorf("set tenant: %w", err)
		}
		return fn(tx)
	})
}

// setTenantSQL sets the transaction's tenant ($1), and with async lets its
// commit return before the WAL flush.
func setTenantSQL(async bool) string {
	if async {
		return "SELECT set_config('app.tenant_id', $1, true), set_config('synchronous_commit', 'off', true)"
	}
	return "SELECT set_config('app.tenant_id', $1, true)"
}

// pipelined runs one statement for tenant in a single round trip: the
// set_config and the statement go as one pipeline, which PostgreSQL runs as
// one implicit transaction up to its Sync, so the setting is as
// transaction-local as with inTenant (R40) and a failure rolls both back.
// With async the commit does not wait for the WAL flush (see inTenantAsync).
// scan, when set, reads the statement's rows.
func (r *Relay) pipelined(ctx context.Context, tenant string, async bool, scan func(pgx.Rows) error, sql string, args ...any) (int64, error) {
	b := &pgx.Batch{}
	b.Queue(setTenantSQL(async), tenant)
	b.Queue(sql, args...)
	br := r.pool.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return 0, fmt.Errorf("set tenant: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return 0, err
	}
	if scan != nil {
		err = scan(rows)
	}
	rows.Close()
	if err == nil {
		err = rows.Err()
	}
	n := rows.CommandTag().RowsAffected()
	return n, errors.Join(err, br.Close())
}

// inTenantAsync is inTenant with synchronous_commit off for this transaction
// only: its COMMIT does not wait for the WAL flush. Used where losing the
// write in a database crash is harmless: the origin's INSERT (no node acts
// on it before the claim, whose synchronous COMMIT flushes the WAL up to and
// including it) and the serving node's result (the origin either read it
// already or the row stays claimed: Unknown).
func (r *Relay) inTenantAsync(ctx context.Context, tenant string, fn func(pgx.Tx) error) error {
	return r.tenantTx(ctx, tenant, true, fn)
}

// channel is the wake-up channel of a node.
func channel(node string) string { return "latchkey_node_" + node }

// notify wakes node with payload, in its own statement, never inside a
// writing transaction (performance.md row 18). A lost wake-up costs at most
// one poll interval, so errors are only logged.
func (r *Relay) notify(ctx context.Context, node, payload string) {
	ch := channel(node)
	if f := r.opt.NotifyFilter; f != nil && !f(ch, payload) {
		return
	}
	if _, err := r.pool.Exec(ctx, "SELECT pg_notify($1, $2)", ch, payload); err != nil {
		r.log.Warn("notify", slog.String("channel", ch), slog.String("error", err.Error()))
	}
}

// Sweep deletes commands that expired over a minute ago and presence rows
// whose lease ran out over a minute ago, across tenants (policy relay_sweep:
// delete-only, and only such rows). It returns how many rows went.
func (r *Relay) Sweep(ctx context.Context) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('app.relay_sweep', 'on', true)"); err != nil {
			return err
		}
		// No WHERE clause: a WHERE would need read access, which the policy
		// does not give; the policy itself limits the rows to dead ones.
		for _, table := range []string{"connector_commands", "connector_presence"} {
			tag, err := tx.Exec(ctx, "DELETE FROM "+table)
			if err != nil {
				return err
			}
			n += tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("relay sweep: %w", err)
	}
	return n, nil
}

func (r *Relay) sweepLoop(ctx context.Context) {
	for {
		// Jittered so that nodes do not sweep in step.
		d := r.opt.Sweep/2 + rand.N(r.opt.Sweep)
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
		if n, err := r.Sweep(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("sweep", slog.String("error", err.Error()))
		} else if n > 0 {
			r.log.Debug("swept expired relay rows", slog.Int64("rows", n))
		}
	}
}

// validUUID reports whether s is a canonical UUID (anything else names no
// tenant or connector in the database).
func validUUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}
