package sqlite

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
)

// quiet keeps migration logs out of test output.
var quiet = WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

// openTemp opens a fresh database in a temporary directory and closes it when
// the test ends.
func openTemp(t *testing.T, opts ...Option) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "latchkey.db")
	s, err := Open(t.Context(), path, append([]Option{quiet}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}
