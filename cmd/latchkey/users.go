package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/portal/notify"
	"github.com/latchkey/latchkey/portal/settings"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// withTenantUser runs fn on the tenant slug's user username.
func withTenantUser(cmd *cobra.Command, sc storageConfig, slug, username string,
	fn func(ctx context.Context, st store.Store, t tenants.Tenant, u tenants.User) error) error {
	return withStore(cmd, sc, func(ctx context.Context, st store.Store) error {
		t, err := tenantBySlug(ctx, st, slug)
		if err != nil {
			return err
		}
		u, err := userByName(ctx, st, t, username)
		if err != nil {
			return err
		}
		return fn(ctx, st, t, u)
	})
}

// userByName finds the tenant's user username, with an error an operator
// can act on.
func userByName(ctx context.Context, st store.Store, t tenants.Tenant, username string) (tenants.User, error) {
	u, err := st.Tenant(t.ID).GetUserByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return u, fmt.Errorf("tenant %s has no user %q (users appear once they start a flow)", t.Slug, username)
	}
	if err != nil {
		return u, fmt.Errorf("user %q: %w", username, err)
	}
	return u, nil
}

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Help-desk operations on a user's self-service state"}
	cmd.AddCommand(newUserShowCmd(), newUserUnlockCmd(), newUserSignOutCmd(), newUserResetDevicesCmd())
	return cmd
}

// newUserUnlockCmd lifts a self-service lockout (after too many failed
// verifications) and a "this wasn't me" freeze. It never touches the
// directory account.
func newUserUnlockCmd() *cobra.Command {
	var (
		sc   storageConfig
		slug string
	)
	cmd := &cobra.Command{
		Use:   "unlock --tenant SLUG USERNAME",
		Short: "Lift a user's self-service lockout and freeze (not the directory lockout)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withTenantUser(cmd, sc, slug, args[0], func(ctx context.Context, st store.Store, t tenants.Tenant, u tenants.User) error {
				ts := st.Tenant(t.ID)
				was := u
				if _, err := ts.UpdateUser(ctx, u.ID, func(u *tenants.User) error {
					u.FrozenAt, u.SelfServiceLockedUntil, u.FailedVerifications = time.Time{}, time.Time{}, 0
					return nil
				}); err != nil {
					return err
				}
				if _, err := ts.AppendAudit(ctx, tenants.AuditEvent{Actor: "operator", Action: "selfservice.unlock", Target: "user:" + u.ID, Outcome: "success",
					Detail: map[string]string{"was_frozen": fmt.Sprint(!was.FrozenAt.IsZero()), "was_locked_until": stamp(was.SelfServiceLockedUntil)}}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "self-service unlocked for %s of %s (was frozen: %v, locked until: %s)\n",
					u.Username, t.Slug, !was.FrozenAt.IsZero(), stamp(was.SelfServiceLockedUntil))
				return nil
			})
		},
	}
	sc.register(cmd.Flags(), "latchkey-data")
	cmd.Flags().StringVar(&slug, "tenant", "", "the tenant's slug")
	return cmd
}

// newUserSignOutCmd ends one user's sessions, or every session of the tenant
// (R37).
func newUserSignOutCmd() *cobra.Command {
	var (
		sc   storageConfig
		slug string
		all  bool
	)
	cmd := &cobra.Command{
		Use:   "sign-out --tenant SLUG (USERNAME | --all)",
		Short: "End a user's sessions, or everyone's in the tenant",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) == 1) {
				return errors.New("give a USERNAME or --all")
			}
			return withStore(cmd, sc, func(ctx context.Context, st store.Store) error {
				t, err := tenantBySlug(ctx, st, slug)
				if err != nil {
					return err
				}
				ts := st.Tenant(t.ID)
				var n int
				target := "tenant:" + t.Slug
				if all {
					n, err = ts.RevokeAllSessions(ctx, time.Now())
				} else {
					var u tenants.User
					if u, err = userByName(ctx, st, t, args[0]); err != nil {
						return err
					}
					target = "user:" + u.ID
					n, err = ts.RevokeUserSessions(ctx, u.ID, "", time.Now())
				}
				if err != nil {
					return err
				}
				if _, err := ts.AppendAudit(ctx, tenants.AuditEvent{Actor: "operator", Action: "session.revoke", Target: target, Outcome: "success",
					Detail: map[string]string{"count": fmt.Sprint(n)}}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "ended %d session(s)\n", n)
				return nil
			})
		},
	}
	sc.register(cmd.Flags(), "latchkey-data")
	cmd.Flags().StringVar(&slug, "tenant", "", "the tenant's slug")
	cmd.Flags().BoolVar(&all, "all", false, "end every session of the tenant")
	return cmd
}

// newUserResetDevicesCmd removes a user's devices after the help desk
// verified them (lost phone): they enroll a new one at their next sign-in.
// The user is told on every channel (through the outbox the servers send
// from), so the secret key that seals it is needed. An admin's devices take
// two operators (R18).
func newUserResetDevicesCmd() *cobra.Command {
	var (
		sc       storageConfig
		ssc      selfServiceConfig
		slug     string
		operator string
	)
	cmd := &cobra.Command{
		Use:   "reset-devices --tenant SLUG USERNAME",
		Short: "Remove a user's authenticator devices (lost phone) and tell the user; they enroll a new one at their next sign-in",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if operator = strings.TrimSpace(operator); operator == "" {
				return errors.New("--operator: name yourself (it goes into the audit log; default $USER)")
			}
			if err := sc.validate(); err != nil {
				return fmt.Errorf("invalid configuration:\n%w", err)
			}
			key, err := existingSecretKey(ssc, sc)
			if err != nil {
				return err
			}
			sealer, err := notify.NewSealer(subkey(key, "outbox"), nil)
			if err != nil {
				return fmt.Errorf("outbox sealer: %w", err)
			}
			return withTenantUser(cmd, sc, slug, args[0], func(ctx context.Context, st store.Store, t tenants.Tenant, u tenants.User) error {
				svc := &settings.Service{Store: st, Messenger: &messenger{outbox: &notify.Outbox{Store: st, Sealer: sealer}}}
				res, err := svc.ResetDevices(ctx, &t, u.ID, "operator:"+operator)
				out := cmd.OutOrStdout()
				switch {
				case errors.Is(err, settings.ErrSameOperator):
					return fmt.Errorf("%s is an admin and you asked already: another operator must run this command to approve", u.Username)
				case res.Done:
					fmt.Fprintf(out, "removed %d device(s) of %s\n", res.Removed, u.Username)
					if err != nil {
						return fmt.Errorf("the devices are removed, but the user could not be told: %w", err)
					}
					fmt.Fprintln(out, "the user was notified on every channel")
				case err != nil:
					return err
				case res.Pending:
					fmt.Fprintf(out, "%s is an admin: the removal waits for a second operator to run the same command within %v\n",
						u.Username, settings.HelpdeskWindow)
					if res.Alerted == 0 {
						fmt.Fprintln(out, "nobody could be told by email (no admin has an address): tell the other admins yourself")
					} else {
						fmt.Fprintf(out, "%d admin(s), the user included, were told by email\n", res.Alerted)
					}
				}
				return nil
			})
		},
	}
	sc.register(cmd.Flags(), "latchkey-data")
	cmd.Flags().StringVar(&operator, "operator", os.Getenv("USER"), "who you are, for the audit log; an admin's devices need two different operators")
	cmd.Flags().StringVar(&ssc.SecretKeyFile, "secret-key-file", "", "the servers' secret key file (seals the notification); required with PostgreSQL, found under --data-dir with SQLite")
	cmd.Flags().StringVar(&slug, "tenant", "", "the tenant's slug")
	return cmd
}
