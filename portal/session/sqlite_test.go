package session

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store/sqlite"
)

// sqliteEnv runs the scenarios against the real SQLite backend: a fresh
// database with one tenant and two users.
func sqliteEnv(t *testing.T) *env {
	t.Helper()
	clk := &clock{t: t0}
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latchkey.db"),
		sqlite.WithClock(clk.Now), sqlite.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	ten, err := db.Platform().CreateTenant(t.Context(), tenants.Tenant{Slug: "acme", Name: "Acme"},
		[]tenants.Host{{Host: "acme.platform.example"}})
	if err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	ts := db.Tenant(ten.ID)
	var ids []string
	for _, name := range []string{"alice", "bob"} {
		u, err := ts.CreateUser(t.Context(), tenants.User{Username: name})
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		ids = append(ids, u.ID)
	}
	return &env{st: ts, alice: ids[0], bob: ids[1], clk: clk, m: managerOn(clk)}
}

func TestScenariosSQLite(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, sqliteEnv(t)) })
	}
}
