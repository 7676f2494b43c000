package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// PoolOf exposes a store's pool to the external tests, which run SQL on the
// very connections the store used (R40).
func PoolOf(s *Store) *pgxpool.Pool { return s.pool }
