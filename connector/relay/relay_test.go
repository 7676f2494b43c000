package relay_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchkey/latchkey/connector/agent"
	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/connector/relay"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/postgres"
	"github.com/latchkey/latchkey/tenants/store/postgres/pgtest"
)

// countingDir is a tiny directory in front of the agent: one account "g1",
// and a count of every operation that reached it.
type countingDir struct {
	mu      sync.Mutex
	calls   map[string]int
	pw      string
	first   chan struct{} // closed at the first call
	firstAt time.Time
	once    sync.Once
}

func newCountingDir() *countingDir {
	return &countingDir{calls: map[string]int{}, first: make(chan struct{})}
}

func (d *countingDir) hit(op string) {
	d.mu.Lock()
	d.calls[op]++
	d.mu.Unlock()
	d.once.Do(func() { d.firstAt = time.Now(); close(d.first) })
}

func (d *countingDir) count(op string) int { d.mu.Lock(); defer d.mu.Unlock(); return d.calls[op] }

func (d *countingDir) total() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, c := range d.calls {
		n += c
	}
	return n
}

var acct = protocol.Account{GUID: "g1", DN: "CN=Alice,OU=Staff,DC=acme,DC=local", Username: "alice"}

func (d *countingDir) Lookup(context.Context, string) (protocol.Account, error) {
	d.hit("lookup")
	return acct, nil
}
func (d *countingDir) Account(context.Context, string) (protocol.Account, agent.Protection, error) {
	return acct, agent.Protection{}, nil
}
func (d *countingDir) Status(context.Context, string) (protocol.AccountStatus, error) {
	d.hit("status")
	return protocol.AccountStatus{}, nil
}
func (d *countingDir) Policy(context.Context, string) (protocol.PasswordPolicy, error) {
	return protocol.PasswordPolicy{MinLength: 7}, nil
}
func (d *countingDir) VerifyPassword(context.Context, string, string) error {
	d.hit("verify")
	return nil
}
func (d *countingDir) Reset(_ context.Context, _, pw string, _, _ bool) error {
	d.mu.Lock()
	d.pw = pw
	d.mu.Unlock()
	d.hit("reset")
	return nil
}
func (d *countingDir) Change(context.Context, string, string, string) error {
	d.hit("change")
	return nil
}
func (d *countingDir) Unlock(context.Context, string) error      { d.hit("unlock"); return nil }
func (d *countingDir) ForceChange(context.Context, string) error { d.hit("force_change"); return nil }

// hubStore is the hub's view of the PostgreSQL store (as cmd/latchkey's).
type hubStore struct{ s store.Store }

func (h hubStore) Connector(ctx context.Context, id string) (hub.ConnectorRecord, error) {
	c, err := h.s.Platform().ConnectorByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return hub.ConnectorRecord{}, hub.ErrUnknownConnector
	}
	if err != nil {
		return hub.ConnectorRecord{}, err
	}
	return hub.ConnectorRecord{TenantID: string(c.TenantID), ID: c.ID, Name: c.Name,
		SignKey: ed25519.PublicKey(c.SignKey), SealKey: c.SealKey, Revoked: c.Revoked()}, nil
}

// node is one control-plane node: a hub on its own listener, its relay and a
// Dispatcher, all on the shared database.
type node struct {
	name  string
	hub   *hub.Hub
	relay *relay.Relay
	disp  *hub.Dispatcher
	url   string
}

// cluster is one database, two nodes "a" and "b", a tenant with one enrolled
// connector and its agent connected (over a real WebSocket) to node b only.
type cluster struct {
	t                testing.TB
	ownerURL, appURL string
	st               *postgres.Store
	pool             *pgxpool.Pool
	cmdKey           ed25519.PrivateKey
	tenant           tenants.Tenant
	connector        string
	a, b             *node
	dir              *countingDir
	log              *slog.Logger
}

type clusterOpts struct {
	a, b relay.Options
	ttl  time.Duration
}

func newCluster(t testing.TB, o clusterOpts) *cluster {
	t.Helper()
	ownerURL, appURL := pgtest.NewDatabase(t)
	ctx := t.Context()
	st, err := postgres.Open(ctx, appURL)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	pool, err := pgxpool.New(ctx, appURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, cmdKey, _ := ed25519.GenerateKey(nil)
	c := &cluster{t: t, ownerURL: ownerURL, appURL: appURL, st: st, pool: pool, cmdKey: cmdKey, dir: newCountingDir(), log: log}
	if o.ttl == 0 {
		o.ttl = 10 * time.Second
	}
	c.a = c.newNode("a", o.a, o.ttl)
	c.b = c.newNode("b", o.b, o.ttl)

	ten, sign, sealPriv, conn := c.enroll("acme")
	c.tenant, c.connector = ten, conn
	id := agent.Identity{HubURL: "ws" + strings.TrimPrefix(c.b.url, "http") + protocol.ConnectPath, TenantID: string(ten.ID),
		ConnectorID: conn, SignKey: sign, SealKey: sealPriv, CommandKey: cmdKey.Public().(ed25519.PublicKey)}
	ag, err := agent.New(agent.Options{Identity: id, Directory: c.dir, StateDir: t.TempDir(), Logger: log,
		Guardrails: agent.Guardrails{WritesPerMinute: 100000, WriteBurst: 10000},
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, StableAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(actx) }()
	t.Cleanup(func() { cancel(); <-done; ag.Close() })
	c.waitPresent(t, c.a, 1)
	return c
}

// enroll creates a tenant and enrolls a connector with fresh keys through the
// store, as a join token would.
func (c *cluster) enroll(slug string) (tenants.Tenant, ed25519.PrivateKey, []byte, string) {
	t := c.t
	t.Helper()
	ctx := t.Context()
	ten, err := c.st.Platform().CreateTenant(ctx, tenants.Tenant{Slug: slug, Name: slug}, []tenants.Host{{Host: slug + ".example"}})
	if err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	sign, sealPriv, sealPub, err := agent.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	ts := c.st.Tenant(ten.ID)
	hash := sha256.Sum256([]byte("token-" + slug))
	if _, err := ts.CreateJoinToken(ctx, tenants.JoinToken{Hash: hash[:], ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatalf("CreateJoinToken: %v", err)
	}
	conn, err := ts.RedeemJoinToken(ctx, hash[:], tenants.Connector{Name: "dc-" + slug,
		SignKey: sign.Public().(ed25519.PublicKey), SealKey: sealPub, AgentVersion: "test"})
	if err != nil {
		t.Fatalf("RedeemJoinToken: %v", err)
	}
	return ten, sign, sealPriv, conn.ID
}

func (c *cluster) newNode(name string, opt relay.Options, ttl time.Duration) *node {
	t := c.t
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = c.log
	}
	r, err := relay.New(c.pool, name, opt)
	if err != nil {
		t.Fatal(err)
	}
	h := hub.New(hub.Options{Store: hubStore{c.st}, Logger: c.log, Heartbeat: time.Second, OnChange: r.OnChange})
	if err := r.Start(t.Context(), h); err != nil {
		t.Fatalf("start relay %s: %v", name, err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		// serve's order: the hub drains, then the relay closes.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		srv.Close()
		if err := r.Close(ctx); err != nil {
			t.Errorf("close relay %s: %v", name, err)
		}
	})
	return &node{name: name, hub: h, relay: r, url: srv.URL,
		disp: &hub.Dispatcher{Hub: h, Key: c.cmdKey, TTL: ttl, ConnectWait: 300 * time.Millisecond, Log: c.log, Remote: r}}
}

// waitPresent waits until n sees want connectors of the tenant on other nodes.
func (c *cluster) waitPresent(t testing.TB, n *node, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ids, err := n.relay.Present(t.Context(), string(c.tenant.ID))
		if err == nil && len(ids) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s sees %v (%v), want %d connectors elsewhere", n.name, ids, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// admin is a superuser connection (it bypasses row-level security) for
// looking at rows from outside.
func (c *cluster) admin() *pgx.Conn {
	t := c.t
	t.Helper()
	conn, err := pgx.Connect(t.Context(), pgtest.AdminURL(t, pgtest.DatabaseName(t, c.ownerURL)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func (c *cluster) commandRows(conn *pgx.Conn) int {
	c.t.Helper()
	var n int
	if err := conn.QueryRow(c.t.Context(), "SELECT count(*) FROM connector_commands").Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// R57 across nodes: a reset created on node A runs exactly once on the agent
// held by node B, and A gets its one definite, verified answer. On the way the
// outbox row holds the HPKE-sealed command, never the password (R56), and it
// is gone once answered.
func TestCommandOnNodeAReachesConnectorOnNodeB_R57(t *testing.T) {
	var c *cluster
	var seen []byte
	var inspectErr error
	var once sync.Once
	opt := relay.Options{NotifyFilter: func(channel, payload string) bool {
		if channel == "latchkey_node_b" {
			once.Do(func() {
				// The row is committed before the wake-up is sent.
				inspectErr = c.admin().QueryRow(context.Background(),
					"SELECT command FROM connector_commands WHERE tenant_id::text || ':' || id = $1", payload).Scan(&seen)
			})
		}
		return true
	}}
	c = newCluster(t, clusterOpts{a: opt})
	if got := c.a.hub.Connected(string(c.tenant.ID)); len(got) != 0 {
		t.Fatalf("the agent is connected to node a too: %v", got)
	}
	pw := "N3w-Passw0rd-🐎"
	out := c.a.disp.Execute(t.Context(), string(c.tenant.ID), hub.Request{Op: protocol.OpReset, Target: "g1", Password: []byte(pw), Unlock: true})
	if out.Status != hub.Done || out.Connector != c.connector {
		t.Fatalf("reset from node a: %v", out)
	}
	if n := c.dir.count("reset"); n != 1 || c.dir.pw != pw {
		t.Fatalf("the directory saw %d resets (password %q), want exactly 1 with the new password", n, c.dir.pw)
	}
	if inspectErr != nil || len(seen) == 0 {
		t.Fatalf("the outbox row was not committed before the wake-up: %v", inspectErr)
	}
	if strings.Contains(string(seen), pw) || !strings.Contains(string(seen), `"sig"`) {
		t.Fatalf("the outbox row is not the signed, sealed command: %s", seen)
	}
	c.a.relay.WaitCleanup() // the answered row is deleted off the caller's path
	if n := c.commandRows(c.admin()); n != 0 {
		t.Errorf("%d outbox rows left after the answer", n)
	}
	// A read through the same path, and the same answer twice from the
	// journal is not possible: every Execute is a new command id.
	if out := c.a.disp.Execute(t.Context(), string(c.tenant.ID), hub.Request{Op: protocol.OpReadStatus, Target: "g1"}); out.Status != hub.Done {
		t.Fatalf("read_status from node a: %v", out)
	}
	// Node B itself still serves it locally.
	if out := c.b.disp.Execute(t.Context(), string(c.tenant.ID), hub.Request{Op: protocol.OpUnlock, Target: "g1"}); out.Status != hub.Done {
		t.Fatalf("unlock on node b: %v", out)
	}
	if c.dir.count("reset") != 1 || c.dir.count("unlock") != 1 {
		t.Fatalf("directory calls %v", c.dir.calls)
	}
}

// B6, R58: with every NOTIFY lost, the holder still finds the command within
// one poll interval, and the origin the answer within one more.
func TestLostWakeUpDeliveredWithinOnePoll_R58(t *testing.T) {
	const poll = 500 * time.Millisecond
	drop := func(string, string) bool { return false }
	c := newCluster(t, clusterOpts{a: relay.Options{Poll: poll, NotifyFilter: drop}, b: relay.Options{Poll: poll, NotifyFilter: drop}})
	start := time.Now()
	out := c.a.disp.Execute(t.Context(), string(c.tenant.ID), hub.Request{Op: protocol.OpUnlock, Target: "g1"})
	total := time.Since(start)
	<-c.dir.first
	reached := c.dir.firstAt.Sub(start)
	if out.Status != hub.Done || c.dir.count("unlock") != 1 {
		t.Fatalf("unlock with lost wake-ups: %v, %d unlocks", out, c.dir.count("unlock"))
	}
	const slack = 300 * time.Millisecond
	if reached > poll+slack {
		t.Errorf("the connector got the command after %v, want within one poll (%v)", reached, poll)
	}
	if total > 2*poll+slack {
		t.Errorf("the answer came after %v, want within two polls (%v)", total, 2*poll)
	}
	t.Logf("lost wake-ups: connector reached after %v, answer after %v (poll %v)", reached.Round(time.Millisecond), total.Round(time.Millisecond), poll)
}

// R57: a command that expires before any node claims it is never sent (the
// agent sees nothing, and nothing is left to claim later) and the caller gets
// TimedOut.
func TestExpiredBeforeClaimIsNeverSent_R57(t *testing.T) {
	drop := func(channel, _ string) bool { return channel != "latchkey_node_b" }
	c := newCluster(t, clusterOpts{ttl: 700 * time.Millisecond, a: relay.Options{NotifyFilter: drop, Poll: 100 * time.Millisecond},
		b: relay.Options{Poll: time.Hour}})
	start := time.Now()
	out := c.a.disp.Execute(t.Context(), string(c.tenant.ID), hub.Request{Op: protocol.OpReset, Target: "g1", Password: []byte("Never-sent-1")})
	if out.Status != hub.TimedOut {
		t.Fatalf("unclaimed command: %v, want timed_out", out)
	}
	if d := time.Since(start); d > 700*time.Millisecond+time.Second {
		t.Errorf("TimedOut after %v", d)
	}
	// Node B wakes up now: there is nothing left to claim.
	if err := c.b.relay.ClaimRound(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, err := c.b.relay.Claim(t.Context(), string(c.tenant.ID), []string{c.connector}); err != nil || n != 0 {
		t.Fatalf("claim after expiry took %d (%v)", n, err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := c.dir.total(); n != 0 {
		t.Fatalf("the directory saw %d operations of an expired command", n)
	}
	if n := c.commandRows(c.admin()); n != 0 {
		t.Errorf("%d outbox rows left", n)
	}
}

// R58: node B dies without cleaning up (its relay stops renewing; the agent's
// socket stays open on it). Once the lease has run out node A answers Offline
// at once instead of relaying into the void.
func TestPresenceLeaseExpiryAnswersOffline_R58(t *testing.T) {
	const lease = 900 * time.Millisecond
	c := newCluster(t, clusterOpts{b: relay.Options{Lease: lease}})
	// Renewal keeps the lease alive past its first term.
	time.Sleep(lease + 200*time.Millisecond)
	c.waitPresent(t, c.a, 1)
	c.b.relay.Crash()
	time.Sleep(lease + 100*time.Millisecond)
	start := time.Now()
	out := c.a.disp.Execute(t.Context(), string(c.tenant.ID), hub.Request{Op: protocol.OpUnlock, Target: "g1"})
	if out.Status != hub.Offline {
		t.Fatalf("after node b's lease ran out: %v, want offline", out)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Offline took %v", d)
	}
	if n := c.dir.total(); n != 0 || c.commandRows(c.admin()) != 0 {
		t.Fatalf("directory saw %d operations; outbox rows %d", n, c.commandRows(c.admin()))
	}
	if len(c.b.hub.Connected(string(c.tenant.ID))) != 1 {
		t.Fatal("the agent is no longer on node b: the test proves nothing")
	}
}

// R41 at the relay tables: tenant X's presence and commands are invisible
// under app.tenant_id = Y, cannot be written for X from Y's context, and a
// claim running for tenant Y cannot take X's command even when it names X's
// connector.
func TestTenantIsolation_R41(t *testing.T) {
	// Node b never polls or wakes, so X's command stays pending.
	c := newCluster(t, clusterOpts{ttl: 5 * time.Second, a: relay.Options{NotifyFilter: func(string, string) bool { return false }},
		b: relay.Options{Poll: time.Hour}})
	y, _, _, connY := c.enroll("globex")
	x := string(c.tenant.ID)
	done := make(chan hub.Outcome, 1)
	go func() {
		done <- c.a.disp.Execute(context.Background(), x, hub.Request{Op: protocol.OpUnlock, Target: "g1"})
	}()
	admin := c.admin()
	deadline := time.Now().Add(5 * time.Second)
	for c.commandRows(admin) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no pending command for tenant X")
		}
		time.Sleep(10 * time.Millisecond)
	}

	conn, err := pgx.Connect(t.Context(), c.appURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	asTenant := func(tenant string, fn func(tx pgx.Tx) error) error {
		tx, err := conn.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background())
		if _, err := tx.Exec(t.Context(), "SELECT set_config('app.tenant_id', $1, true)", tenant); err != nil {
			t.Fatal(err)
		}
		return fn(tx)
	}
	count := func(tx pgx.Tx, q string, args ...any) int {
		var n int
		if err := tx.QueryRow(t.Context(), q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	err = asTenant(string(y.ID), func(tx pgx.Tx) error {
		for _, table := range []string{"connector_presence", "connector_commands"} {
			if n := count(tx, "SELECT count(*) FROM "+table); n != 0 {
				t.Errorf("%s: Y's context sees %d of X's rows", table, n)
			}
		}
		tag, err := tx.Exec(t.Context(), `UPDATE connector_commands SET state = 'claimed', claimed_at = now()
			WHERE state = 'pending' AND connector_id::text = ANY($1) RETURNING id`, []string{c.connector})
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 0 {
			t.Errorf("Y's claim took %d of X's commands", tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct{ name, sql string }{
		{"insert presence for X", `INSERT INTO connector_presence (tenant_id, connector_id, node_id, lease_until) VALUES ($1, $2, 'evil', now() + interval '1 hour')`},
		{"insert a command for X", `INSERT INTO connector_commands (tenant_id, id, connector_id, origin_node, target_node, command, expires_at)
			VALUES ($1, repeat('ab', 16), $2, 'evil', 'b', '\x00', now() + interval '1 minute')`},
	} {
		err := asTenant(string(y.ID), func(tx pgx.Tx) error {
			_, err := tx.Exec(t.Context(), w.sql, x, c.connector)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "row-level security") {
			t.Errorf("%s under Y: %v, want the WITH CHECK violation", w.name, err)
		}
	}
	// The relay's own claim for Y, naming X's connector, takes nothing; for
	// X it takes the command.
	if n, err := c.b.relay.Claim(t.Context(), string(y.ID), []string{c.connector, connY}); err != nil || n != 0 {
		t.Fatalf("claim as Y took %d (%v)", n, err)
	}
	// Without a tenant the application role sees no command row at all, whatever
	// relay setting it names; latchkey_relay_inbox tells a node only which
	// tenants have work for it, and nothing can be claimed through it.
	err = asTenant("", func(tx pgx.Tx) error {
		for _, node := range []string{"a", "b"} {
			if _, err := tx.Exec(t.Context(), "SELECT set_config('app.relay_node', $1, true)", node); err != nil {
				return err
			}
			if n := count(tx, "SELECT count(*) FROM connector_commands"); n != 0 {
				t.Errorf("with app.relay_node=%s and no tenant the app role reads %d command rows", node, n)
			}
		}
		if n := count(tx, "SELECT count(*) FROM latchkey_relay_inbox('a')"); n != 0 {
			t.Errorf("node a's inbox lists %d tenants for a command addressed to b", n)
		}
		var got []string
		rows, err := tx.Query(t.Context(), "SELECT t::text FROM latchkey_relay_inbox('b') AS t")
		if err != nil {
			return err
		}
		if got, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		if len(got) != 1 || got[0] != x {
			t.Errorf("node b's inbox lists %v, want only tenant %s", got, x)
		}
		tag, err := tx.Exec(t.Context(), "UPDATE connector_commands SET state = 'claimed', claimed_at = now()")
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 0 {
			t.Errorf("an update without a tenant claimed %d rows", tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.b.relay.Claim(t.Context(), x, []string{c.connector}); err != nil || n != 1 {
		t.Fatalf("claim as X took %d (%v), want 1", n, err)
	}
	if out := <-done; out.Status != hub.Done {
		t.Fatalf("X's command after its claim: %v", out)
	}
}

// Sweep removes only rows past use, across tenants.
func TestSweepDeletesOnlyExpiredRows(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	admin := c.admin()
	x := string(c.tenant.ID)
	for _, q := range []string{
		`INSERT INTO connector_commands (tenant_id, id, connector_id, origin_node, target_node, command, expires_at)
			VALUES ($1, repeat('0a', 16), $2, 'a', 'b', '\x00', now() - interval '2 minutes')`,
		`INSERT INTO connector_commands (tenant_id, id, connector_id, origin_node, target_node, command, expires_at)
			VALUES ($1, repeat('0b', 16), $2, 'a', 'b', '\x00', now() - interval '10 seconds')`,
	} {
		if _, err := admin.Exec(t.Context(), q, x, c.connector); err != nil {
			t.Fatal(err)
		}
	}
	n, err := c.a.relay.Sweep(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 row (the one expired over a minute ago)", n, err)
	}
	if n := c.commandRows(admin); n != 1 {
		t.Fatalf("%d rows left, want 1", n)
	}
	c.waitPresent(t, c.a, 1) // the live presence row survived
}

// R39 and the schema rule over the relay tables (the store's catalog tests
// cover every table; these name the two this package owns).
func TestRelayTablesCatalog_R39(t *testing.T) {
	ownerURL, _ := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(t.Context(), pgtest.AdminURL(t, pgtest.DatabaseName(t, ownerURL)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, table := range []string{"connector_presence", "connector_commands"} {
		var rls, force bool
		var qual, check string
		err := conn.QueryRow(t.Context(), `SELECT c.relrowsecurity, c.relforcerowsecurity,
				COALESCE(pg_get_expr(p.polqual, p.polrelid), ''), COALESCE(pg_get_expr(p.polwithcheck, p.polrelid), '')
			FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid AND p.polname = 'tenant_isolation'
			WHERE c.relname = $1`, table).Scan(&rls, &force, &qual, &check)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if !rls || !force || !strings.Contains(qual, "latchkey_current_tenant()") || !strings.Contains(check, "latchkey_current_tenant()") {
			t.Errorf("%s: rls=%v force=%v USING %q WITH CHECK %q", table, rls, force, qual, check)
		}
		rows, err := conn.Query(t.Context(), `SELECT con.contype::text, a.attname, COALESCE(fa.attname, '')
			FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
			JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
			LEFT JOIN pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = con.confkey[1]
			WHERE c.relname = $1 AND con.contype IN ('p', 'f')`, table)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for rows.Next() {
			var kind, first, ref string
			if err := rows.Scan(&kind, &first, &ref); err != nil {
				t.Fatal(err)
			}
			kinds[kind]++
			if first != "tenant_id" || (kind == "f" && ref != "tenant_id") {
				t.Errorf("%s: %s key starts with %q → %q, want tenant_id", table, kind, first, ref)
			}
		}
		rows.Close()
		if kinds["p"] != 1 || kinds["f"] != 1 {
			t.Errorf("%s: keys %v, want one primary and one foreign (to connectors)", table, kinds)
		}
		for _, priv := range []string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
			var ok bool
			if err := conn.QueryRow(t.Context(), "SELECT has_table_privilege('latchkey_app', $1, $2)", table, priv).Scan(&ok); err != nil || !ok {
				t.Errorf("latchkey_app lacks %s on %s (%v)", priv, table, err)
			}
		}
	}
}

// The holder's LISTEN connection is killed (a PostgreSQL restart or a
// network cut would do the same): the relay reconnects with backoff and
// wake-ups work again, with no poll to fall back on.
func TestListenerReconnects(t *testing.T) {
	c := newCluster(t, clusterOpts{b: relay.Options{Poll: time.Hour, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}})
	admin := c.admin()
	listenerPID := func() int {
		var pid int
		err := admin.QueryRow(t.Context(), `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN "latchkey_node_b"'`).Scan(&pid)
		if err != nil {
			return 0
		}
		return pid
	}
	old := listenerPID()
	if old == 0 {
		t.Fatal("no listener for node b")
	}
	if _, err := admin.Exec(t.Context(), "SELECT pg_terminate_backend($1)", old); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for pid := listenerPID(); pid == 0 || pid == old; pid = listenerPID() {
		if time.Now().After(deadline) {
			t.Fatal("node b did not listen again")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if out := c.a.disp.Execute(t.Context(), string(c.tenant.ID), hub.Request{Op: protocol.OpUnlock, Target: "g1"}); out.Status != hub.Done {
		t.Fatalf("after the listener came back: %v", out)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("delivery took %v with wake-ups only", d)
	}
}

// R40 for the pipelined statements: set_config and the statement go in one
// round trip, as one implicit transaction, so the tenant does not outlive it
// on the pooled connection.
func TestPipelinedTenantIsTransactionLocal_R40(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	cfg, err := pgxpool.ParseConfig(c.appURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns, cfg.MinConns = 1, 0
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	probe, err := relay.New(pool, "probe", relay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var before, after int
	if err := pool.QueryRow(t.Context(), "SELECT pg_backend_pid()").Scan(&before); err != nil {
		t.Fatal(err)
	}
	ids, err := probe.Present(t.Context(), string(c.tenant.ID))
	if err != nil || len(ids) != 1 || ids[0] != c.connector {
		t.Fatalf("Present = %v, %v", ids, err)
	}
	var setting *string
	var rows int
	if err := pool.QueryRow(t.Context(), "SELECT pg_backend_pid(), current_setting('app.tenant_id', true), (SELECT count(*) FROM connector_presence)").
		Scan(&after, &setting, &rows); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("the pool changed connections: the test proves nothing")
	}
	if (setting != nil && *setting != "") || rows != 0 {
		t.Fatalf("after the pipeline app.tenant_id = %v and %d presence rows are visible, want empty and 0 (R40)", setting, rows)
	}
}
