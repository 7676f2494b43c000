package notify

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// Worker defaults.
const (
	DefaultPoll        = time.Second
	DefaultLease       = 30 * time.Second
	DefaultMaxAttempts = 8
	// DefaultTenantsPerRound and DefaultBatch bound one round: how many
	// tenants it looks at, and how many messages it claims per tenant.
	DefaultTenantsPerRound = 100
	DefaultBatch           = 20
	// markTimeout bounds recording a result, which runs even when the
	// worker's context was cancelled right after a provider accepted.
	markTimeout = 5 * time.Second
	// maxErrText is how much of a provider's error is stored.
	maxErrText = 500
)

// Worker delivers the outbox: each round it asks which tenants have due
// messages, claims a batch per tenant under a lease, opens each, hands it to
// the provider and records the outcome. Several workers (on several nodes)
// may run at once: claims never overlap while a lease lives.
//
// Delivery guarantees (R60): a provider that is down or answers with a
// temporary error never loses a message: it stays pending and is retried
// after Backoff, until MaxAttempts attempts, then it is dead. A message the
// provider accepted is marked sent right away (even when ctx was just
// cancelled), so it is not sent again; only a crash between acceptance and
// that mark can repeat it, and the repeat carries the same Message-ID
// (<id@latchkey>). Each send is bounded by half the lease, so a slow provider
// cannot make the lease lapse mid-send and let another worker send the same
// message.
type Worker struct {
	Store  store.Store
	Sealer *Sealer
	// Email and SMS are the providers. Either may be nil: messages of that
	// channel then wait in the outbox (pending, attempts untouched) until a
	// worker with a provider runs.
	Email EmailSender
	SMS   SMSSender
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Poll is how often Run looks for due messages without a Wake
	// (DefaultPoll); Lease how long a claim holds (DefaultLease);
	// MaxAttempts how many attempts a message gets (DefaultMaxAttempts).
	Poll        time.Duration
	Lease       time.Duration
	MaxAttempts int
	// Backoff is the delay before the next attempt after the attempt-th
	// failed one (1 after the first). nil: ExponentialBackoff(2s, 10min,
	// Rand).
	Backoff func(attempt int) time.Duration
	// Rand is the jitter source of the default Backoff (nil: crypto/rand).
	Rand io.Reader
	// TenantsPerRound and Batch bound a round (defaults above).
	TenantsPerRound int
	Batch           int
	// Registerer, when set, receives the counters
	// latchkey_notify_{sent,failed,dead}_total{channel} (failed counts
	// attempts that will be retried, dead messages given up).
	Registerer prometheus.Registerer

	once    sync.Once
	initErr error
	wake    chan struct{}
	backoff func(int) time.Duration
	metrics *workerMetrics
}

func (w *Worker) init() error {
	w.once.Do(func() {
		w.wake = make(chan struct{}, 1)
		if w.Store == nil || w.Sealer == nil {
			w.initErr = errors.New("notify: worker needs a Store and a Sealer")
			return
		}
		w.backoff = w.Backoff
		if w.backoff == nil {
			w.backoff = ExponentialBackoff(2*time.Second, 10*time.Minute, w.Rand)
		}
		if w.metrics, w.initErr = newWorkerMetrics(w.Registerer); w.initErr != nil {
			return
		}
	})
	return w.initErr
}

func (w *Worker) log() *slog.Logger {
	if w.Logger == nil {
		return slog.Default()
	}
	return w.Logger
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Wake makes Run start a round now. It never blocks; wakes that arrive while
// one is pending are coalesced.
func (w *Worker) Wake() {
	_ = w.init() // creates the channel even when the config is bad
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is done, then returns nil. Errors of a round (the
// store down) are logged and the next round tries again; only a
// misconfigured worker returns an error.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.init(); err != nil {
		return err
	}
	t := time.NewTicker(orDefault(w.Poll, DefaultPoll))
	defer t.Stop()
	for {
		if _, _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.log().Warn("notify: outbox round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-w.wake:
		}
	}
}

// RunOnce runs one round at Now and returns how many messages were sent and
// how many attempts failed (retried or dead). err joins the store errors met;
// the round goes on past them.
func (w *Worker) RunOnce(ctx context.Context) (sent, failed int, err error) {
	if err := w.init(); err != nil {
		return 0, 0, err
	}
	now := clock(w.Now)()
	ids, err := w.Store.Platform().TenantsWithDueMessages(ctx, now, orDefault(w.TenantsPerRound, DefaultTenantsPerRound))
	if err != nil {
		return 0, 0, fmt.Errorf("notify: tenants with due messages: %w", err)
	}
	var errs []error
	waiting := map[tenants.MessageChannel]int{}
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		s, f, err := w.tenantRound(ctx, id, now, waiting)
		sent, failed = sent+s, failed+f
		if err != nil {
			errs = append(errs, err)
		}
	}
	for ch, n := range waiting {
		w.log().Warn("notify: no provider configured, messages wait", "channel", string(ch), "messages", n)
	}
	return sent, failed, errors.Join(errs...)
}

func (w *Worker) tenantRound(ctx context.Context, id tenants.ID, now time.Time, waiting map[tenants.MessageChannel]int) (sent, failed int, err error) {
	ts := w.Store.Tenant(id)
	msgs, err := ts.ClaimMessages(ctx, now, orDefault(w.Lease, DefaultLease), orDefault(w.Batch, DefaultBatch))
	if err != nil {
		return 0, 0, fmt.Errorf("notify: claim messages of tenant %s: %w", id, err)
	}
	var errs []error
	for _, m := range msgs {
		if ctx.Err() != nil {
			break // unsent claims lapse with their lease and are retried
		}
		out, err := w.deliver(ctx, ts, m)
		switch out {
		case outcomeWaiting:
			waiting[m.Channel]++
		case outcomeSent:
			sent++
		case outcomeFailed:
			failed++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return sent, failed, errors.Join(errs...)
}

// outcome is what became of one claimed message.
type outcome int

const (
	outcomeSent    outcome = iota
	outcomeFailed          // retried later, or dead
	outcomeWaiting         // no provider for its channel: claim left to lapse
	outcomeAborted         // ctx ended mid-send: claim left to lapse, attempt not counted
)

// deliver sends one claimed message and records the outcome; err is a store
// error recording it.
func (w *Worker) deliver(ctx context.Context, ts store.TenantStore, m tenants.OutboxMessage) (outcome, error) {
	ch := string(m.Channel)
	log := w.log().With("tenant", string(m.TenantID), "message", m.ID, "channel", ch, "kind", m.Kind)
	if (m.Channel == tenants.MessageEmail && w.Email == nil) || (m.Channel == tenants.MessageSMS && w.SMS == nil) {
		return outcomeWaiting, nil
	}
	var sendErr error
	c, openErr := w.Sealer.Open(m.TenantID, m.ID, m.Sealed)
	if openErr != nil {
		sendErr = Permanent(openErr) // another key, or damaged: no attempt can succeed
	} else {
		sendErr = w.send(ctx, m, c)
	}
	// Record the outcome even if ctx was cancelled meanwhile: an accepted
	// message that is not marked sent would be sent again.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	at := clock(w.Now)()
	if sendErr == nil {
		w.metrics.sent.WithLabelValues(ch).Inc()
		if err := ts.MarkMessageSent(mctx, m.ID, at); err != nil {
			return outcomeSent, fmt.Errorf("notify: mark %s sent: %w", m.ID, err)
		}
		log.Info("notify: message sent", "attempt", m.Attempts+1)
		return outcomeSent, nil
	}
	if ctx.Err() != nil && !IsPermanent(sendErr) {
		// Shutting down mid-send: not the provider's fault; leave the claim
		// to lapse so the attempt is not counted.
		return outcomeAborted, nil
	}
	attempt := m.Attempts + 1
	dead := IsPermanent(sendErr) || attempt >= orDefault(w.MaxAttempts, DefaultMaxAttempts)
	next := at.Add(w.backoff(attempt))
	if err := ts.MarkMessageFailed(mctx, m.ID, errText(sendErr), next, dead); err != nil {
		return outcomeFailed, fmt.Errorf("notify: mark %s failed: %w", m.ID, err)
	}
	if dead {
		w.metrics.dead.WithLabelValues(ch).Inc()
		log.Error("notify: message given up", "attempt", attempt, "err", sendErr)
	} else {
		w.metrics.failed.WithLabelValues(ch).Inc()
		log.Warn("notify: delivery failed, will retry", "attempt", attempt, "next", next, "err", sendErr)
	}
	return outcomeFailed, nil
}

func (w *Worker) send(ctx context.Context, m tenants.OutboxMessage, c Content) error {
	ctx, cancel := context.WithTimeout(WithMessageID(ctx, m.ID), orDefault(w.Lease, DefaultLease)/2)
	defer cancel()
	switch m.Channel {
	case tenants.MessageEmail:
		return w.Email.SendEmail(ctx, Email{MessageID: "<" + m.ID + "@latchkey>", To: m.To,
			Subject: c.Subject, Text: c.Text, HTML: c.HTML})
	case tenants.MessageSMS:
		return w.SMS.SendSMS(ctx, m.TenantID, m.To, c.Text)
	}
	return Permanent(fmt.Errorf("unknown channel %q", m.Channel))
}

// errText is what is stored of a failure: the provider's error, shortened.
// It never contains message content (senders do not put it in errors).
func errText(err error) string {
	s := err.Error()
	if len(s) > maxErrText {
		s = s[:maxErrText]
	}
	return s
}

// ExponentialBackoff returns base·2^(attempt-1), at most max, with "equal
// jitter": a random point in the upper half of that delay, drawn from rnd
// (nil: crypto/rand; should it fail, the full delay). It is safe for
// concurrent use when rnd is.
func ExponentialBackoff(base, max time.Duration, rnd io.Reader) func(attempt int) time.Duration {
	if rnd == nil {
		rnd = crand.Reader
	}
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < max; i++ {
			d *= 2
		}
		d = min(d, max)
		var b [8]byte
		if _, err := io.ReadFull(rnd, b[:]); err != nil || d <= 0 {
			return d
		}
		half := uint64(d / 2)
		return d - time.Duration(half) + time.Duration(binary.BigEndian.Uint64(b[:])%(half+1))
	}
}

type workerMetrics struct {
	sent, failed, dead *prometheus.CounterVec
}

func newWorkerMetrics(reg prometheus.Registerer) (*workerMetrics, error) {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "latchkey", Subsystem: "notify", Name: name, Help: help,
		}, []string{"channel"})
	}
	m := &workerMetrics{
		sent:   counter("sent_total", "Outbox messages a provider accepted, by channel."),
		failed: counter("failed_total", "Failed delivery attempts that will be retried, by channel."),
		dead:   counter("dead_total", "Outbox messages given up (permanent error or last attempt), by channel."),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	for _, c := range []**prometheus.CounterVec{&m.sent, &m.failed, &m.dead} {
		if *c, err = registerCounter(reg, *c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func registerCounter(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, fmt.Errorf("notify: register metrics: %w", err)
	}
	return c, nil
}
