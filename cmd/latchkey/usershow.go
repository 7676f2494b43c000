package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/portal/settings"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// newUserShowCmd prints what the help desk needs before it acts on a user:
// the contacts and factors enrolled, the devices, and whether self-service
// is locked, frozen or waiting for a device reset. It never prints a secret.
func newUserShowCmd() *cobra.Command {
	var (
		sc   storageConfig
		slug string
	)
	cmd := &cobra.Command{
		Use:   "show --tenant SLUG USERNAME",
		Short: "Show a user's enrollment, devices and self-service state (no secrets)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withTenantUser(cmd, sc, slug, args[0], func(ctx context.Context, st store.Store, t tenants.Tenant, u tenants.User) error {
				return showUser(ctx, cmd.OutOrStdout(), st.Tenant(t.ID), u, time.Now())
			})
		},
	}
	sc.register(cmd.Flags(), "latchkey-data")
	cmd.Flags().StringVar(&slug, "tenant", "", "the tenant's slug")
	return cmd
}

func showUser(ctx context.Context, out io.Writer, ts store.TenantStore, u tenants.User, now time.Time) error {
	org := u.OrganisationID
	if o, err := ts.GetOrganisation(ctx, u.OrganisationID); err == nil {
		org = o.Name
	}
	devices, err := ts.ListDevices(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("devices of %s: %w", u.Username, err)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(w, "%s\t%s\n", k, v) }
	row("user", fmt.Sprintf("%s (%s)", u.Username, orDash(u.DisplayName)))
	row("upn", orDash(u.UPN))
	row("organisation", orDash(org))
	row("admin", fmt.Sprint(u.IsAdmin))
	row("email", contact(u.Email, u.EmailVerified, u.Enrollment.EmailFromDirectory))
	row("phone", contact(u.Phone, u.PhoneVerified, u.Enrollment.PhoneFromDirectory))
	row("questions", fmt.Sprintf("%d set up", len(u.Enrollment.Questions)))
	totp := "no"
	if u.Enrollment.TOTP != nil {
		totp = "yes, since " + stamp(u.Enrollment.TOTP.CreatedAt)
	}
	row("authenticator app (TOTP)", totp)
	var passkeys []json.RawMessage
	_ = json.Unmarshal(u.Enrollment.Passkeys, &passkeys) // empty or unreadable: none to show
	row("passkeys", fmt.Sprint(len(passkeys)))
	row("preferred method", orDash(string(u.Enrollment.Preferred)))
	row("devices", fmt.Sprint(len(devices)))
	for _, d := range devices {
		push := "polls"
		if d.PushToken != "" {
			push = "push"
		}
		row("", fmt.Sprintf("%s — %s, %s, enrolled %s, last seen %s", d.Name, d.Platform, push, stamp(d.CreatedAt), stamp(d.LastSeenAt)))
	}
	state := []string{}
	if !u.FrozenAt.IsZero() {
		state = append(state, "FROZEN since "+stamp(u.FrozenAt)+" (\"this wasn't me\"; `latchkey user unlock` lifts it)")
	}
	if now.Before(u.SelfServiceLockedUntil) {
		state = append(state, "LOCKED until "+stamp(u.SelfServiceLockedUntil)+" (too many failed verifications)")
	}
	if n := u.FailedVerifications; n > 0 {
		state = append(state, fmt.Sprintf("%d failed verification(s) since the last success", n))
	}
	if r := u.Enrollment.DeviceResetRequestedAt; !r.IsZero() {
		state = append(state, "the user asked to remove their devices at "+stamp(r))
	}
	if r := u.Enrollment.HelpdeskDeviceReset; r != nil {
		wait := "waiting for a second operator"
		if !now.Before(r.At.Add(settings.HelpdeskWindow)) {
			wait = "expired: asking again starts over"
		}
		state = append(state, fmt.Sprintf("device reset asked by %s at %s, %s", r.By, stamp(r.At), wait))
	}
	if len(state) == 0 {
		state = append(state, "active")
	}
	row("self-service", state[0])
	for _, s := range state[1:] {
		row("", s)
	}
	row("record created", stamp(u.CreatedAt))
	return w.Flush()
}

// contact shows an email address or number with how it was enrolled.
func contact(v string, verified, fromDirectory bool) string {
	if v == "" {
		return "-"
	}
	var how []string
	if fromDirectory {
		how = append(how, "from the directory")
	}
	if verified {
		how = append(how, "verified")
	} else {
		how = append(how, "not verified")
	}
	return v + " (" + strings.Join(how, ", ") + ")"
}
