// Package migrations embeds Latchkey's SQL schema, one numbered set per backend
// (postgres/ and sqlite/), and parses it. Backends apply the files in order and
// record each applied version; PostgreSQL does so under an advisory lock.
//
// File format (as tern's): NNNN_name.sql, numbered from 0001 without gaps; the
// "up" SQL comes first, then a line "---- create above / drop below ----", then
// the "down" SQL (which may be empty).
//
// Schema rule (enforced by tests on both sets): every tenant-scoped table has
// tenant_id as the first column of its primary key and of every foreign key, so
// the schema can later be distributed by tenant (Citus) without a rewrite.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Separator divides a migration file's up part from its down part.
const Separator = "---- create above / drop below ----"

// Migration is one numbered schema step.
type Migration struct {
	Version int
	Name    string
	Up      string
	Down    string
}

// Postgres returns the PostgreSQL migrations in order.
func Postgres() ([]Migration, error) { return Load(files, "postgres") }

// SQLite returns the SQLite migrations in order.
func SQLite() ([]Migration, error) { return Load(files, "sqlite") }

// Load parses the migrations in dir of fsys.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations %s: %w", dir, err)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s/%s: name must be NNNN_name.sql", dir, e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s/%s: %w", dir, e.Name(), err)
		}
		up, down, _ := strings.Cut(string(b), Separator)
		if strings.TrimSpace(up) == "" {
			return nil, fmt.Errorf("migration %s/%s: empty up part", dir, e.Name())
		}
		out = append(out, Migration{Version: v, Name: name, Up: up, Down: down})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations %s: missing migration %d (found %d)", dir, i+1, m.Version)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("migrations %s: none found", dir)
	}
	return out, nil
}
