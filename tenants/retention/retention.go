// Package retention deletes what the control plane no longer needs: expired
// flows and counters at once, and ended sessions, delivered or dead outbox
// messages and expired push challenges once they are older than the
// retention period (they carry IP addresses, phone numbers and browsers;
// the audit log keeps the record of what happened). Every node may run it:
// each statement is an idempotent DELETE in one tenant's scope.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// DefaultRetention is how long ended sessions, settled messages and
// expired challenges are kept.
const DefaultRetention = 7 * 24 * time.Hour

// DefaultInterval is how often a node sweeps.
const DefaultInterval = 10 * time.Minute

// Sweeper purges every tenant's expired rows.
type Sweeper struct {
	Store store.Store
	// Retention applies to sessions, outbox messages and push challenges
	// (default DefaultRetention).
	Retention time.Duration
	// Interval between sweeps in Run (default DefaultInterval).
	Interval time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
}

// Report counts what one sweep deleted.
type Report struct {
	Tenants, Flows, Counters, Sessions, Messages, Challenges int
}

func (s *Sweeper) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sweeper) log() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// Sweep runs one pass over every tenant. A failing tenant does not stop the
// others; the errors are joined.
func (s *Sweeper) Sweep(ctx context.Context) (Report, error) {
	keep := s.Retention
	if keep <= 0 {
		keep = DefaultRetention
	}
	ts, err := s.Store.Platform().ListTenants(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("retention: list tenants: %w", err)
	}
	now := s.now()
	old := now.Add(-keep)
	var r Report
	var errs []error
	for _, t := range ts {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		if err := s.sweepTenant(ctx, t, now, old, &r); err != nil {
			errs = append(errs, err)
		}
		r.Tenants++
	}
	return r, errors.Join(errs...)
}

func (s *Sweeper) sweepTenant(ctx context.Context, t tenants.Tenant, now, old time.Time, r *Report) error {
	st := s.Store.Tenant(t.ID)
	var errs []error
	for _, p := range []struct {
		what   string
		before time.Time
		purge  func(context.Context, time.Time) (int, error)
		n      *int
	}{
		{"flows", now, st.PurgeFlows, &r.Flows},
		{"counters", now, st.PurgeCounters, &r.Counters},
		{"sessions", old, st.PurgeSessions, &r.Sessions},
		{"messages", old, st.PurgeMessages, &r.Messages},
		{"challenges", old, st.PurgeChallenges, &r.Challenges},
	} {
		n, err := p.purge(ctx, p.before)
		if err != nil {
			errs = append(errs, fmt.Errorf("retention: tenant %s: %s: %w", t.Slug, p.what, err))
			continue
		}
		*p.n += n
	}
	return errors.Join(errs...)
}

// Run sweeps at once and then every Interval until ctx is done.
func (s *Sweeper) Run(ctx context.Context) error {
	every := s.Interval
	if every <= 0 {
		every = DefaultInterval
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		r, err := s.Sweep(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			s.log().ErrorContext(ctx, "retention sweep", slog.String("err", err.Error()))
		}
		if n := r.Flows + r.Counters + r.Sessions + r.Messages + r.Challenges; n > 0 {
			s.log().InfoContext(ctx, "retention sweep", slog.Int("tenants", r.Tenants), slog.Int("flows", r.Flows),
				slog.Int("counters", r.Counters), slog.Int("sessions", r.Sessions), slog.Int("messages", r.Messages),
				slog.Int("challenges", r.Challenges))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
