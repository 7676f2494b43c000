package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/postgres"
	"github.com/latchkey/latchkey/tenants/store/sqlite"
)

// openStore opens the configured backend, applying migrations first when it can:
// SQLite always migrates itself; PostgreSQL migrates when the owner URL is given
// (under an advisory lock, so several nodes may start at once) and otherwise
// checks that the schema is current.
func openStore(ctx context.Context, c storageConfig, log *slog.Logger) (store.Store, error) {
	if c.DatabaseURL == "" {
		log.InfoContext(ctx, "using embedded SQLite", slog.String("path", c.sqlitePath()))
		s, err := sqlite.Open(ctx, c.sqlitePath())
		if err != nil {
			return nil, fmt.Errorf("open embedded database %s: %w", c.sqlitePath(), err)
		}
		return s, nil
	}
	if c.DatabaseMigrateURL != "" {
		if err := postgres.Migrate(ctx, c.DatabaseMigrateURL); err != nil {
			return nil, fmt.Errorf("migrate PostgreSQL: %w", err)
		}
	}
	s, err := postgres.Open(ctx, c.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL: %w", err)
	}
	log.InfoContext(ctx, "using PostgreSQL")
	return s, nil
}

// resolverSource adapts a Store to what tenants.Resolver reads.
type resolverSource struct{ s store.Store }

func (r resolverSource) ResolveHost(ctx context.Context, host string) (tenants.ID, error) {
	id, err := r.s.Platform().ResolveHost(ctx, host)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("%w: %s", tenants.ErrUnknownHost, host)
	}
	return id, err
}

func (r resolverSource) Tenant(ctx context.Context, id tenants.ID) (tenants.Tenant, error) {
	t, err := r.s.Tenant(id).Get(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return tenants.Tenant{}, fmt.Errorf("%w: tenant %s", tenants.ErrUnknownHost, id)
	}
	return t, err
}
