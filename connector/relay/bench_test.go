package relay_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
)

// notifyRTT is the raw bus round trip on the same database: NOTIFY on one
// channel, a listener that answers with a NOTIFY on another, and the first
// side's listener receiving it — the two hops a relayed command makes
// (wake the holder, wake the origin), with nothing else.
type notifyRTT struct {
	ping, pong, echo *pgx.Conn
	seq              int
}

func newNotifyRTT(b *testing.B, url string) *notifyRTT {
	ctx := b.Context()
	conn := func(listen string) *pgx.Conn {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close(context.Background()) })
		if listen != "" {
			if _, err := c.Exec(ctx, "LISTEN "+listen); err != nil {
				b.Fatal(err)
			}
		}
		return c
	}
	n := &notifyRTT{ping: conn(""), pong: conn("bench_pong"), echo: conn("bench_ping")}
	go func() {
		for {
			m, err := n.echo.WaitForNotification(ctx)
			if err != nil {
				return
			}
			if _, err := n.echo.Exec(ctx, "SELECT pg_notify('bench_pong', $1)", m.Payload); err != nil {
				return
			}
		}
	}()
	return n
}

func (n *notifyRTT) roundTrip(b *testing.B) time.Duration {
	n.seq++
	want := fmt.Sprint(n.seq)
	start := time.Now()
	if _, err := n.ping.Exec(b.Context(), "SELECT pg_notify('bench_ping', $1)", want); err != nil {
		b.Fatal(err)
	}
	for {
		m, err := n.pong.WaitForNotification(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if m.Payload == want {
			return time.Since(start)
		}
	}
}

func p50(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkCrossNodeDispatch_B6 is performance.md B6: the latency from
// Execute on node A until the verified result, with the agent on node B,
// against the raw NOTIFY→LISTEN round trip on the same database, interleaved
// in one run; the same command executed on node B (local, no relay) is the
// third column. Reported as p50s in ms and the ratios.
func BenchmarkCrossNodeDispatch_B6(b *testing.B) {
	c := newCluster(b, clusterOpts{})
	raw := newNotifyRTT(b, c.appURL)
	tenant := string(c.tenant.ID)
	req := hub.Request{Op: protocol.OpReadStatus, Target: "g1"}
	for range 20 { // warm up statement caches and connections
		c.a.disp.Execute(b.Context(), tenant, req)
		c.b.disp.Execute(b.Context(), tenant, req)
		raw.roundTrip(b)
	}
	var relayed, local, bus []time.Duration
	for b.Loop() {
		start := time.Now()
		if out := c.a.disp.Execute(b.Context(), tenant, req); out.Status != hub.Done {
			b.Fatalf("relayed: %v", out)
		}
		relayed = append(relayed, time.Since(start))
		bus = append(bus, raw.roundTrip(b))
		start = time.Now()
		if out := c.b.disp.Execute(b.Context(), tenant, req); out.Status != hub.Done {
			b.Fatalf("local: %v", out)
		}
		local = append(local, time.Since(start))
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r, n, l := p50(relayed), p50(bus), p50(local)
	b.ReportMetric(ms(r), "relay-p50-ms")
	b.ReportMetric(ms(n), "notify-rtt-p50-ms")
	b.ReportMetric(ms(l), "local-p50-ms")
	b.ReportMetric(float64(r)/float64(n), "relay/notify")
	b.ReportMetric(ms(r-l), "relay-overhead-p50-ms")
}
