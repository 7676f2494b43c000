// Command latchkey is Latchkey's control plane: the tenant portals, the admin
// console, the mobile API, the connector hub and the outbox workers, in one
// stateless process whose state lives in the database.
//
// Subcommands: serve, migrate, tenant (create | list | add-host), audit verify,
// demo, version. Every flag can also be given as an environment variable
// LATCHKEY_<FLAG> (e.g. --database-url → LATCHKEY_DATABASE_URL).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "latchkey:", err)
		os.Exit(1)
	}
}
