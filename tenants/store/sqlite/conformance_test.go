package sqlite

import (
	"testing"

	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/storetest"
)

// TestConformance runs the shared storage suite against a fresh database file
// for each group of the suite.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t)
		return s
	})
}
