package main

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/connector/directory/dirtest"
	"github.com/latchkey/latchkey/tenants"
)

// "Approve on your phone" end to end: headless Chromium on the tenant's
// host, the real control plane with push approval (FCM through the real
// Firebase Admin SDK to a fake FCM HTTP v1 server), the real
// latchkey-connector in front of the Samba AD DC, and the reference
// authenticator (cmd/latchkey-authenticator) as a separate process enrolled
// with the link the settings page shows; passkeys through Chromium's
// virtual authenticator. The tenant's reset rule asks for two of push, a
// passkey and an email code; the push tests verify the email code first, so
// the push is the last step and its number is always shown.
func TestBrowserPushApprovalAgainstSamba(t *testing.T) {
	ps := startPushStack(t, func(ten *tenants.Tenant) {
		ten.Policy.Actions[tenants.ActionReset].Channels[tenants.ChannelWeb] = &tenants.ChannelRule{
			Allowed: []tenants.Factor{tenants.FactorPush, tenants.FactorPasskey, tenants.FactorEmail}, Required: 2}
		ten.SelfService.Captcha = "off" // every browser here comes from 127.0.0.1
	})

	// R28, R32, R33: sign in, add the app, then two resets approved on it —
	// first through a pushed data message (the app does not poll), then by
	// polling alone (the device has no push token, so nothing goes to FCM).
	// Each time the browser goes on by itself to the new password, and the
	// directory has the new password.
	t.Run("ResetApprovedByPushThenByPolling_R28_R32_R33", func(t *testing.T) {
		u := ps.newUser(t, false)
		token := "fcm-token-" + randomDigits(16)
		a := ps.signInAndEnrollDevice(t, ps.page(t), u, token)
		writes := ps.env.PasswordWrites(t, u.DN)

		// (a) FCM: the push reaches the app only through the fake FCM.
		p := ps.page(t)
		sent := len(ps.fcm.Requests())
		n := ps.resetToPush(t, p, u)
		msgs := ps.fcmSince(t, sent)
		if len(msgs) != 1 {
			t.Fatalf("FCM got %d send requests for one push, want 1", len(msgs))
		}
		m := msgs[0]
		if m.Token != token {
			t.Errorf("the push went to token %q, want the device's %q", m.Token, token)
		}
		// R33: a data-only message whose one datum is the challenge id —
		// no notification block, no user, no number.
		if keys := slices.Sorted(maps.Keys(m.Data)); !slices.Equal(keys, []string{"cid"}) || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(m.Data["cid"]) {
			t.Errorf("the push carries data %v, want only a cid of 32 hex digits", m.Data)
		}
		for _, path := range m.Paths {
			if strings.Contains(path, "notification") {
				t.Errorf("the FCM message has a notification part (%s): %s", path, m.Raw)
			}
		}
		for _, secret := range []string{u.Login, strings.ToLower(u.Login), u.Mail} {
			if strings.Contains(string(m.Raw), secret) {
				t.Errorf("the FCM message holds %q: %s", secret, m.Raw)
			}
		}
		w := a.start("--once", "--auto", "approve", "--number", strconv.Itoa(n), "--poll", "0", "--push-listen", "127.0.0.1:0")
		forward(t, w.pushAddr(t), m.Data)
		if code := w.exit(t); code != 0 || !strings.Contains(w.out.String(), "password reset") || !strings.Contains(w.out.String(), "Approved") {
			t.Fatalf("the pushed request was not approved (exit %d):\n%s%s", code, w.out, w.err)
		}
		p.WaitText("Thanks, Test " + u.Login + ".") // the long poll moved the page on
		pw1 := dirtest.RandomPassword()
		setNewPassword(p, pw1)
		p.WaitText("Your password has been changed and your account is unlocked.")
		p.NoConsoleErrors()
		if err := ps.env.Bind(u.DN, pw1); err != nil {
			t.Fatalf("the new password does not bind: %v", err)
		}
		wantInvalidCredentials(t, ps.env.Bind(u.DN, u.Password), "the old password")

		// (b) polling: the device drops its push token; the server sends
		// nothing to FCM and the app finds the request by polling.
		if out, errOut, err := a.run("push-token", ""); err != nil || !strings.Contains(out, "Push token cleared") {
			t.Fatalf("push-token \"\": %v\n%s%s", err, out, errOut)
		}
		p = ps.page(t)
		sent = len(ps.fcm.Requests())
		n = ps.resetToPush(t, p, u)
		w = a.start("--once", "--auto", "approve", "--number", strconv.Itoa(n), "--poll", "1s")
		if code := w.exit(t); code != 0 || !strings.Contains(w.out.String(), "Approved") {
			t.Fatalf("the polled request was not approved (exit %d):\n%s%s", code, w.out, w.err)
		}
		p.WaitText("Thanks, Test " + u.Login + ".")
		if got := ps.fcmSince(t, sent); len(got) != 0 {
			t.Errorf("a device without a push token got %d FCM messages", len(got))
		}
		pw2 := dirtest.RandomPassword()
		setNewPassword(p, pw2)
		p.WaitText("Your password has been changed and your account is unlocked.")
		p.NoConsoleErrors()
		if err := ps.env.Bind(u.DN, pw2); err != nil {
			t.Fatalf("the second new password does not bind: %v", err)
		}
		wantInvalidCredentials(t, ps.env.Bind(u.DN, pw1), "the first new password")
		wantInvalidCredentials(t, ps.env.Bind(u.DN, u.Password), "the original password")
		if got := ps.env.PasswordWrites(t, u.DN); got != writes+2 {
			t.Errorf("the DC wrote the password %d times for two resets", got-writes)
		}
	})

	// R28: a wrong number typed on the device denies the request; the
	// browser says so, and the directory is unchanged.
	t.Run("WrongNumberDenies_R28", func(t *testing.T) {
		u := ps.newUser(t, false)
		a := ps.signInAndEnrollDevice(t, ps.page(t), u, "")
		writes := ps.env.PasswordWrites(t, u.DN)
		p := ps.page(t)
		n := ps.resetToPush(t, p, u)
		w := a.start("--once", "--auto", "approve", "--number", strconv.Itoa(otherPushNumber(n)), "--poll", "1s")
		if code := w.exit(t); code != 1 || !strings.Contains(w.err.String(), "That number was wrong; the request was denied.") {
			t.Fatalf("a wrong number: exit %d, want 1 and the explanation:\n%s%s", code, w.out, w.err)
		}
		p.WaitText("The request was denied on your phone. Choose a method to try again.")
		if strings.Contains(p.Body(), "Thanks, ") {
			t.Error("after a wrong number the page offers a new password")
		}
		if err := ps.env.Bind(u.DN, u.Password); err != nil {
			t.Errorf("the password changed or the account locked in the directory: %v", err)
		}
		if got := ps.env.PasswordWrites(t, u.DN); got != writes {
			t.Errorf("the DC wrote the password %d times", got-writes)
		}
	})

	// R29: "this wasn't me" on the device freezes the user's self-service
	// (the next reset looks the same but sends nothing: no code, no push),
	// ends the user's sessions, and alerts the tenant's admins by email.
	t.Run("ReportFreezesAndAlertsAdmins_R29", func(t *testing.T) {
		adminMail := "admin-" + randomDigits(8) + "@example.net"
		if _, err := ps.node.store.Tenant(ps.tenant.ID).CreateUser(t.Context(), tenants.User{DirectoryGUID: "a0000000-0000-4000-8000-" + randomDigits(12),
			Username: "admin" + randomDigits(6), DisplayName: "Help Desk", Email: adminMail, EmailVerified: true, IsAdmin: true}); err != nil {
			t.Fatal(err)
		}
		u := ps.newUser(t, false)
		signedIn := ps.page(t)
		a := ps.signInAndEnrollDevice(t, signedIn, u, "fcm-token-"+randomDigits(16))
		writes := ps.env.PasswordWrites(t, u.DN)
		p := ps.page(t)
		ps.resetToPush(t, p, u)
		w := a.start("--once", "--auto", "report", "--poll", "1s")
		if code := w.exit(t); code != 0 || !strings.Contains(w.out.String(), "Reported") {
			t.Fatalf("the report was not accepted (exit %d):\n%s%s", code, w.out, w.err)
		}
		p.WaitText("Self-service is now frozen for your account and your administrators have been alerted.")
		p.NoConsoleErrors()

		if rec := ps.user(t, u); rec.FrozenAt.IsZero() {
			t.Fatal("after a report the user's self-service is not frozen")
		}
		alert := ps.sinks.email(t, adminMail, "Security alert")
		if !strings.Contains(alert.Subject, u.Login) && !strings.Contains(alert.Text, u.Login) {
			t.Errorf("the admin alert does not name the user %s: %q\n%s", u.Login, alert.Subject, alert.Text)
		}
		// It says what was reported and where the request came from (the
		// challenge's context), not only that something was.
		if !strings.Contains(alert.Text, "was not made by them: password reset") || !strings.Contains(alert.Text, "From:    127.0.0.1") {
			t.Errorf("the admin alert lacks the reported action or its origin:\n%s", alert.Text)
		}
		ps.sinks.email(t, u.Mail, "Self-service is frozen") // and the user is told
		signedIn.Go(ps.base + "/me")
		if signedIn.Status() != 401 {
			t.Errorf("after a report the user's session still answers /me with %d, want 401", signedIn.Status())
		}

		// The next reset looks the same but nothing is sent: no push to
		// FCM or for polling, no code to the mailbox.
		sentFCM, queued := len(ps.fcm.Requests()), ps.queued(t, u.Mail)
		p = ps.page(t)
		ps.startFlow(p, "/reset", u.Login)
		chooseFactor(p, tenants.FactorPush)
		p.WaitText("Type this number in the app:")
		if got := ps.fcmSince(t, sentFCM); len(got) != 0 {
			t.Errorf("a frozen user's reset sent %d FCM messages", len(got))
		}
		if out, errOut, err := a.run("list"); err != nil || !strings.Contains(out, "No pending requests.") {
			t.Errorf("a frozen user's device has requests waiting: %v\n%s%s", err, out, errOut)
		}
		p.ClickText("Use instead: Email code")
		p.WaitText("we have sent a code to it")
		if after := ps.queued(t, u.Mail); after != queued {
			t.Errorf("a frozen user's reset queued %d messages", after-queued)
		}
		if err := ps.env.Bind(u.DN, u.Password); err != nil {
			t.Errorf("the password changed in the directory: %v", err)
		}
		if got := ps.env.PasswordWrites(t, u.DN); got != writes {
			t.Errorf("the DC wrote the password %d times", got-writes)
		}
	})

	// R35: a passkey registered on the settings page (Chromium's virtual
	// platform authenticator, user verification on) signs the user in
	// without a password and verifies a reset, whose new password then
	// binds; with user verification failing nobody is signed in.
	t.Run("PasskeySignInAndReset_R35", func(t *testing.T) {
		u := ps.newUser(t, false)
		p := ps.page(t)
		auth := p.VirtualAuthenticator(true)
		ps.signIn(t, p, u)
		p.FillLabel("Name for the new passkey", "Work laptop")
		p.ClickText("Add a passkey")
		p.WaitText("1 passkey(s) set up")
		p.NoConsoleErrors() // before the 401s below, which the console logs
		if n := len(auth.Credentials()); n != 1 {
			t.Fatalf("the authenticator holds %d credentials after one registration", n)
		}
		if rec := ps.user(t, u); len(rec.Enrollment.Passkeys) == 0 {
			t.Fatal("the settings page says the passkey is set up, but the user record has none")
		}
		p.ClickText("Sign out")
		p.Go(ps.base + "/me")
		if p.Status() != 401 {
			t.Fatalf("after signing out /me answers %d", p.Status())
		}

		// Passwordless: no username, no password.
		p.Go(ps.base + "/enroll")
		p.ClickText("Sign in with a passkey")
		p.ClickText("Use my passkey")
		p.WaitText("Your verification methods")
		p.Go(ps.base + "/me")
		if p.Status() != 200 || !strings.Contains(p.Body(), u.Login) {
			t.Fatalf("after the passkey sign-in /me answers %d %s", p.Status(), p.Body())
		}
		p.Go(ps.base + "/settings")
		p.ClickText("Sign out")

		// A reset with the passkey and an email code.
		writes := ps.env.PasswordWrites(t, u.DN)
		ps.startFlow(p, "/reset", u.Login)
		chooseFactor(p, tenants.FactorPasskey)
		p.ClickText("Use my passkey")
		p.WaitText("Verified. Choose one more way to verify (1 left).")
		chooseFactor(p, tenants.FactorEmail)
		enterCode(p, ps.sinks.emailCode(t, u.Mail))
		p.WaitText("Thanks, Test " + u.Login + ".")
		pw := dirtest.RandomPassword()
		setNewPassword(p, pw)
		p.WaitText("Your password has been changed and your account is unlocked.")
		if err := ps.env.Bind(u.DN, pw); err != nil {
			t.Fatalf("the new password does not bind: %v", err)
		}
		wantInvalidCredentials(t, ps.env.Bind(u.DN, u.Password), "the old password")
		if got := ps.env.PasswordWrites(t, u.DN); got != writes+1 {
			t.Errorf("the DC wrote the password %d times, want once", got-writes)
		}

		// User verification fails (no fingerprint, no PIN): no sign-in.
		auth.SetUserVerified(false)
		p.Go(ps.base + "/enroll")
		p.ClickText("Sign in with a passkey")
		p.ClickText("Use my passkey")
		p.WaitText("The passkey could not be used.")
		p.Go(ps.base + "/me")
		if p.Status() != 401 {
			t.Errorf("a passkey without user verification signed the user in (/me answers %d)", p.Status())
		}
	})
}
