package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/portal/settings"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// withTenantUser runs fn on the tenant slug's user username.
func withTenantUser(cmd *cobra.Command, sc storageConfig, slug, username string,
	fn func(ctx context.Context, t tenants.Tenant, ts store.TenantStore, u tenants.User) error) error {
	return withStore(cmd, sc, func(ctx context.Context, st store.Store) error {
		t, err := tenantBySlug(ctx, st, slug)
		if err != nil {
			return err
		}
		ts := st.Tenant(t.ID)
		u, err := ts.GetUserByUsername(ctx, username)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("tenant %s has no user %q (users appear once they start a flow)", t.Slug, username)
		}
		if err != nil {
			return fmt.Errorf("user %q: %w", username, err)
		}
		return fn(ctx, t, ts, u)
	})
}

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Help-desk operations on a user's self-service state"}
	cmd.AddCommand(newUserUnlockCmd(), newUserSignOutCmd(), newUserResetDevicesCmd())
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
			return withTenantUser(cmd, sc, slug, args[0], func(ctx context.Context, t tenants.Tenant, ts store.TenantStore, u tenants.User) error {
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
					if u, err = ts.GetUserByUsername(ctx, args[0]); err != nil {
						return fmt.Errorf("user %q: %w", args[0], err)
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
func newUserResetDevicesCmd() *cobra.Command {
	var (
		sc   storageConfig
		slug string
	)
	cmd := &cobra.Command{
		Use:   "reset-devices --tenant SLUG USERNAME",
		Short: "Remove a user's authenticator devices (lost phone); they enroll a new one at their next sign-in",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withTenantUser(cmd, sc, slug, args[0], func(ctx context.Context, t tenants.Tenant, ts store.TenantStore, u tenants.User) error {
				n, err := settings.RemoveDevices(ctx, ts, u.ID)
				if err != nil {
					return err
				}
				if _, err := ts.AppendAudit(ctx, tenants.AuditEvent{Actor: "operator", Action: "device.reset", Target: "user:" + u.ID, Outcome: "success",
					Detail: map[string]string{"count": fmt.Sprint(n)}}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed %d device(s) of %s\n", n, u.Username)
				return nil
			})
		},
	}
	sc.register(cmd.Flags(), "latchkey-data")
	cmd.Flags().StringVar(&slug, "tenant", "", "the tenant's slug")
	return cmd
}
