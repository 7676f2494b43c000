package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/latchkey/latchkey/connector/directory/demodir"
	"github.com/latchkey/latchkey/connector/directory/dirtest"
	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/internal/browsertest"
	"github.com/latchkey/latchkey/portal/factor/questions"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/portal/session"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store/postgres/pgtest"
)

// The self-service portal end to end, as a user sees it: real headless
// Chromium on the tenant's host, the real control plane (flow engine, pages,
// sessions, outbox worker), the real latchkey-connector process and the
// Samba AD DC; codes travel through the real SMTP client to a real SMTP
// server and through the Twilio API to a fake that speaks it. Every test
// reads the directory afterwards: what the page says happened must have
// happened, and what it refused must not have.
//
// One node and one connector serve all subtests (each has its own users,
// browser and numbers); the tenant's policy asks two of email, SMS and
// security questions for a reset, locks self-service after 3 failures, and
// has the CAPTCHA off (every browser here comes from 127.0.0.1, so the
// per-IP CAPTCHA would otherwise catch the tests themselves).
func TestBrowserSelfServiceAgainstSamba(t *testing.T) {
	st := startSelfServiceStack(t, func(ten *tenants.Tenant) {
		ten.Policy.Actions[tenants.ActionReset].Channels[tenants.ChannelWeb] = &tenants.ChannelRule{
			Allowed: []tenants.Factor{tenants.FactorEmail, tenants.FactorSMS, tenants.FactorQuestions}, Required: 2}
		ten.SelfService.LockoutThreshold = 3
		ten.SelfService.Captcha = "off"
	})

	// R12, R14, R27: a reset with an email code and security questions; the
	// new password works in the directory, the old one does not, the user
	// is told by email, and the reset signs nobody in.
	t.Run("ResetWithEmailCodeAndSecurityQuestions_R12_R14", func(t *testing.T) {
		u := st.newUser(t, false) // no mobile: the confirmation goes to the email used
		answers := st.seedQuestions(t, u)
		writes := st.env.PasswordWrites(t, u.DN)
		p := st.page(t)

		st.startFlow(p, "/reset", u.Login)
		p.WaitText("You need 2 method(s)")
		for _, name := range []string{"Email code", "Text message code", "Security questions"} {
			p.WaitText(name) // the policy's choices, whatever the user enrolled (R1)
		}
		chooseFactor(p, tenants.FactorEmail)
		p.WaitText("we have sent a code to it")
		enterCode(p, st.sinks.emailCode(t, u.Mail))
		p.WaitText("Verified. Choose one more way to verify (1 left).")
		chooseFactor(p, tenants.FactorQuestions)
		p.WaitText("Answer your security questions")
		for q, a := range answers {
			p.FillLabel(q, "  "+strings.ToUpper(a)+" ") // capitals and extra spaces do not matter
		}
		p.ClickText("Continue")

		p.WaitText("Thanks, Test " + u.Login + ".")
		newPW := dirtest.RandomPassword()
		setNewPassword(p, newPW)
		p.WaitText("Your password has been changed and your account is unlocked.")
		p.NoConsoleErrors()

		if err := st.env.Bind(u.DN, newPW); err != nil {
			t.Fatalf("the new password does not bind: %v", err)
		}
		wantInvalidCredentials(t, st.env.Bind(u.DN, u.Password), "the old password")
		if got := st.env.PasswordWrites(t, u.DN); got != writes+1 {
			t.Errorf("the DC wrote the password %d times, want once", got-writes)
		}
		if v := st.env.Read(t, u.DN, "pwdLastSet").GetAttributeValue("pwdLastSet"); v == "0" {
			t.Error("the reset left pwdLastSet=0: the user's own new password must not need changing")
		}
		st.sinks.email(t, u.Mail, "password was reset")

		// R12: a reset is no sign-in.
		for _, c := range p.Cookies() {
			if c.Name == session.CookieName(false) || c.Name == "lk_flow" {
				t.Errorf("after the reset the browser holds the cookie %s", c.Name)
			}
		}
		p.Go(st.base + "/me")
		if p.Status() != 401 {
			t.Errorf("GET /me after a reset answered %d, want 401", p.Status())
		}
	})

	// R47: an account really locked by bad binds is unlocked after an SMS
	// code and an email code; the page shows when the lockout would have
	// ended, and the old password binds again.
	t.Run("UnlockWithSMSCodeAfterARealLockout_R47", func(t *testing.T) {
		u := st.newUser(t, true)
		for range 4 { // the domain's threshold is 3 bad passwords
			_ = st.env.Bind(u.DN, "Wrong-Passw0rd!")
		}
		if err := st.env.Bind(u.DN, u.Password); err == nil || !strings.Contains(err.Error(), "data 775") {
			t.Fatalf("after 4 bad binds the right password gives %v, want the lockout (data 775)", err)
		}
		ends := lockoutEnds(t, st.env, u.DN)
		p := st.page(t)

		st.startFlow(p, "/unlock", u.Login)
		chooseFactor(p, tenants.FactorSMS)
		p.WaitText("we have sent a code to it by text message")
		enterCode(p, st.sinks.smsCode(t, u.Mobile))
		p.WaitText("Verified. Choose one more way to verify (1 left).")
		chooseFactor(p, tenants.FactorEmail)
		enterCode(p, st.sinks.emailCode(t, u.Mail))

		p.WaitText("Your account is locked. Without unlocking, the lockout would have ended at " + ends.Local().Format("15:04 (2006-01-02)") + ".")
		if got := st.env.Bind(u.DN, u.Password); got == nil {
			t.Fatal("the account was unlocked before the user confirmed")
		}
		p.ClickText("Unlock my account")
		p.WaitText("Your account is unlocked. You can sign in with your current password.")
		p.NoConsoleErrors()

		if err := st.env.Bind(u.DN, u.Password); err != nil {
			t.Fatalf("after the unlock the password does not bind: %v", err)
		}
		e := st.env.Read(t, u.DN, "lockoutTime", "msDS-User-Account-Control-Computed")
		if lt, uac := e.GetAttributeValue("lockoutTime"), e.GetAttributeValue("msDS-User-Account-Control-Computed"); lt != "0" || uac != "0" {
			t.Errorf("after the unlock lockoutTime=%s, msDS-User-Account-Control-Computed=%s; want 0 and 0", lt, uac)
		}
		st.sinks.email(t, u.Mail, "account was unlocked") // both channels were used: the email
	})

	// A change with the factor the policy asks (an email code), then the
	// current and the new password.
	t.Run("ChangeWithEmailCode", func(t *testing.T) {
		u := st.newUser(t, true)
		p := st.page(t)
		st.startFlow(p, "/change", u.Login)
		p.WaitText("You need 1 method(s)")
		chooseFactor(p, tenants.FactorEmail)
		enterCode(p, st.sinks.emailCode(t, u.Mail))
		p.WaitText("Enter your current password, then your new one twice.")
		newPW := dirtest.RandomPassword()
		changePassword(p, u.Password, newPW)
		p.WaitText("Your password has been changed. Sign in with your new password.")
		p.NoConsoleErrors()

		if err := st.env.Bind(u.DN, newPW); err != nil {
			t.Fatalf("the new password does not bind: %v", err)
		}
		wantInvalidCredentials(t, st.env.Bind(u.DN, u.Password), "the old password")
		// R14: told on the channel not used to verify.
		st.sinks.textMessage(t, u.Mobile, regexp.MustCompile(`changed`))
	})

	// R17: a password that must be changed (pwdLastSet=0) refuses every
	// bind and sign-in; the change flow still works (the directory checks
	// the current password in the change itself), and afterwards it binds.
	t.Run("ChangeOfAPasswordThatMustBeChanged_R17", func(t *testing.T) {
		u := st.newUser(t, false)
		st.env.SetAttr(t, u.DN, "pwdLastSet", "0")
		if err := st.env.Bind(u.DN, u.Password); err == nil || !strings.Contains(err.Error(), "data 773") {
			t.Fatalf("with pwdLastSet=0 the bind gives %v, want data 773", err)
		}
		p := st.page(t)
		st.startFlow(p, "/enroll", u.Login)
		p.FillLabel("Current password", u.Password)
		p.ClickText("Continue")
		p.WaitText("Your password is correct but must be changed before you can sign in.")
		p.ClickText("Change my password")
		p.FillLabel("Username", u.Login)
		p.ClickText("Continue")
		chooseFactor(p, tenants.FactorEmail)
		enterCode(p, st.sinks.emailCode(t, u.Mail))
		newPW := dirtest.RandomPassword()
		changePassword(p, u.Password, newPW)
		p.WaitText("Your password has been changed.")

		if err := st.env.Bind(u.DN, newPW); err != nil {
			t.Fatalf("the changed password does not bind: %v", err)
		}
		if v := st.env.Read(t, u.DN, "pwdLastSet").GetAttributeValue("pwdLastSet"); v == "0" {
			t.Error("pwdLastSet is still 0 after the change")
		}
	})

	// R23, R37: sign in (password + an SMS code), see the methods, register
	// a new email address proven with a code sent to it, set security
	// questions.
	t.Run("SignInAndManageMethods_R23_R37", func(t *testing.T) {
		u := st.newUser(t, true)
		p := st.page(t)
		st.startFlow(p, "/enroll", u.Login)
		p.FillLabel("Current password", u.Password)
		p.ClickText("Continue")
		chooseFactor(p, tenants.FactorSMS)
		enterCode(p, st.sinks.smsCode(t, u.Mobile))

		p.WaitText("Your verification methods")
		if !strings.HasSuffix(p.URL(), "/settings") {
			t.Fatalf("the sign-in ended at %s, want /settings", p.URL())
		}
		body := p.Body()
		for _, want := range []string{u.Mail, u.Mobile, "from your organisation's directory", "Not set up"} {
			if !strings.Contains(body, want) {
				t.Errorf("the settings page does not show %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, "confirm it is you first") {
			t.Error("right after signing in the page asks for a step-up")
		}

		newMail := "private-" + strings.ToLower(u.Login) + "@example.net"
		p.FillLabel("Email address", newMail)
		p.Press("Enter")
		p.WaitText("We sent a code to " + newMail + ".")
		if n := st.sinks.emailsTo(u.Mail, "verification code"); n != 0 {
			t.Errorf("%d codes went to the old address; the new one must prove itself", n)
		}
		p.FillLabel("Code", st.sinks.emailCode(t, newMail))
		p.ClickText("Verify")
		p.WaitText("Saved.")
		if body := p.Body(); !strings.Contains(body, newMail) || strings.Contains(body, u.Mail) {
			t.Errorf("after the change the page does not show only the new address:\n%s", body)
		}
		st.sinks.email(t, u.Mail, "contact details were changed") // R23: the old address is told

		answers := []string{"Rex the dog", "Lisbon harbour", "Pink Floyd"}
		for i, a := range answers {
			p.FillLabel("Answer "+strconv.Itoa(i+1), a)
		}
		p.ClickText("Save questions")
		p.WaitText("3 questions set up")
		p.NoConsoleErrors()

		user := st.user(t, u)
		if user.Email != newMail || !user.EmailVerified || user.Enrollment.EmailFromDirectory {
			t.Errorf("stored email %q verified=%t fromDirectory=%t, want %q verified", user.Email, user.EmailVerified, user.Enrollment.EmailFromDirectory, newMail)
		}
		if len(user.Enrollment.Questions) != 3 {
			t.Fatalf("%d questions stored, want 3", len(user.Enrollment.Questions))
		}
		h := questions.NewHasher(questions.DefaultParams, 0)
		for i, qa := range user.Enrollment.Questions {
			if qa.Question != flow.DefaultQuestionList[i] {
				t.Errorf("question %d is %q, want the preselected %q", i+1, qa.Question, flow.DefaultQuestionList[i])
			}
			if ok, err := h.Verify(t.Context(), qa.Hash, answers[i]); err != nil || !ok || strings.Contains(qa.Hash, answers[i]) {
				t.Errorf("question %d: the stored hash does not verify its answer (%v)", i+1, err)
			}
		}
		p.Go(st.base + "/me")
		if p.Status() != 200 || !strings.Contains(p.Body(), u.Login) {
			t.Errorf("GET /me while signed in: %d %s", p.Status(), p.Body())
		}
	})

	// R21: wrong codes count against the account; at the tenant's
	// threshold (3) self-service locks for it, and nothing changed in the
	// directory. A new flow for the account then sends nothing.
	t.Run("WrongCodesLockSelfService_R21", func(t *testing.T) {
		u := st.newUser(t, false)
		writes := st.env.PasswordWrites(t, u.DN)
		p := st.page(t)
		st.startFlow(p, "/reset", u.Login)
		chooseFactor(p, tenants.FactorEmail)
		wrong := otherCode(st.sinks.emailCode(t, u.Mail))
		for i := range 2 {
			enterCode(p, wrong)
			p.WaitText("That code is not right. Check it and try again.")
			if p.Status() != 422 {
				t.Errorf("wrong code %d: status %d, want 422", i+1, p.Status())
			}
		}
		enterCode(p, wrong)
		p.WaitText("Too many failed attempts. Self-service is locked for this account for a while.")

		user := st.user(t, u)
		if left := time.Until(user.SelfServiceLockedUntil); left < 25*time.Minute || left > 31*time.Minute {
			t.Errorf("self-service locked until %v (in %v), want about the default 30 minutes", user.SelfServiceLockedUntil, left)
		}
		if err := st.env.Bind(u.DN, u.Password); err != nil {
			t.Errorf("the password changed or the account locked in the directory: %v", err)
		}
		if got := st.env.PasswordWrites(t, u.DN); got != writes {
			t.Errorf("the DC wrote the password %d times", got-writes)
		}
		// The account is locked out of self-service: a new flow looks the
		// same (R1) but queues no code.
		before := st.queued(t, u.Mail)
		st.startFlow(p, "/reset", u.Login)
		chooseFactor(p, tenants.FactorEmail)
		p.WaitText("we have sent a code to it")
		if after := st.queued(t, u.Mail); after != before {
			t.Errorf("a locked-out account got %d more messages queued", after-before)
		}
	})

	// R6, R20: a code past its 10 minutes is refused even when right; a
	// resend replaces it — the old code is then wrong, the new one works.
	t.Run("ExpiredCodeAndResend_R6_R20", func(t *testing.T) {
		u := st.newUser(t, false)
		p := st.page(t)
		st.startFlow(p, "/reset", u.Login)
		chooseFactor(p, tenants.FactorEmail)
		first := st.sinks.emailCode(t, u.Mail)
		st.clock.Advance(t, flow.DefaultCodeTTL+time.Minute)
		enterCode(p, first)
		p.WaitText("That code has expired. Send a new code.")
		p.ClickText("Send a new code")
		second := st.sinks.emailCode(t, u.Mail)
		if second == first {
			t.Fatal("the resend sent the same code") // 1 in 10^6: not worth a retry loop
		}
		enterCode(p, first)
		p.WaitText("That code is not right.")
		enterCode(p, second)
		p.WaitText("Verified. Choose one more way to verify (1 left).")
	})

	// R16: a step skipped by posting the new-password form with the
	// current page's step token before any verification is refused as out
	// of date; the directory is untouched and the flow goes on.
	t.Run("SkippedStepIsRefused_R16", func(t *testing.T) {
		u := st.newUser(t, false)
		writes := st.env.PasswordWrites(t, u.DN)
		p := st.page(t)
		st.startFlow(p, "/reset", u.Login)
		p.WaitText("You need 2 method(s)")
		pw := dirtest.RandomPassword()
		postForm(p, "/flow/new-password", map[string]string{"step": stepToken(p), "new_password": pw, "confirm_password": pw})
		p.WaitText("This page is out of date")
		p.WaitText("Nothing was changed.")
		if p.Status() != 409 {
			t.Errorf("the skipped step answered %d, want 409", p.Status())
		}
		if err := st.env.Bind(u.DN, u.Password); err != nil {
			t.Errorf("the old password no longer binds: %v", err)
		}
		wantInvalidCredentials(t, st.env.Bind(u.DN, pw), "the smuggled password")
		if got := st.env.PasswordWrites(t, u.DN); got != writes {
			t.Errorf("the DC wrote the password %d times", got-writes)
		}
		p.ClickText("Go to the current step")
		p.WaitText("You need 2 method(s)")
	})

	// R5: the same code form sent twice — the second is out of date.
	t.Run("ReplayedStepIsRefused_R5", func(t *testing.T) {
		u := st.newUser(t, false)
		p := st.page(t)
		st.startFlow(p, "/reset", u.Login)
		chooseFactor(p, tenants.FactorEmail)
		p.WaitText("we have sent a code to it")
		step, code := stepToken(p), st.sinks.emailCode(t, u.Mail)
		enterCode(p, code)
		p.WaitText("Verified. Choose one more way to verify (1 left).")
		postForm(p, "/flow/code", map[string]string{"step": step, "code": code})
		p.WaitText("This page is out of date")
		if p.Status() != 409 {
			t.Errorf("the replayed code answered %d, want 409", p.Status())
		}
		p.ClickText("Go to the current step")
		p.WaitText("Verified. Choose one more way to verify (1 left).")
	})
}

// A flow is state in the database, not in a node: started on node A, it
// goes on and finishes on node B and back (two nodes on one PostgreSQL, the
// connector held by B; the browser keeps its cookie because cookies are
// per host, not per port). Each step runs on the other node than the last.
func TestBrowserSelfServiceFlowMovesBetweenNodes(t *testing.T) {
	ownerURL, appURL := pgtest.NewDatabase(t)
	if _, err := runCLI(t, "migrate", "--database-url", appURL, "--database-migrate-url", ownerURL); err != nil {
		t.Fatal(err)
	}
	sinks := newNotifySinks(t)
	_, commandKey, _ := ed25519.GenerateKey(nil)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	shared := func(c *serverConfig) { // the same keys on every node, as they must be
		c.PlatformDomain, c.PublicPort = "localhost", "0"
		c.commandKey, c.SelfService.secretKey = commandKey, secret
		sinks.configure(c)
	}
	a, _ := startNode(t, storageConfig{DatabaseURL: appURL}, shared)
	b, _ := startNode(t, storageConfig{DatabaseURL: appURL}, shared)
	ten := newTenant(t, a, func(ten *tenants.Tenant) {
		ten.Policy.Actions[tenants.ActionReset].Channels[tenants.ChannelWeb] = &tenants.ChannelRule{
			Allowed: []tenants.Factor{tenants.FactorEmail, tenants.FactorSMS}, Required: 2}
		ten.SelfService.Captcha = "off"
	})
	demoConnectorOn(t, b, ten)
	alice := demodir.DefaultUsers("corp")[0]

	nodeA, nodeB := "http://corp.localhost:"+portOf(t, a.addr()), "http://corp.localhost:"+portOf(t, b.addr())
	p := browsertest.New(t).Page(t)
	p.Go(nodeA + "/reset")
	p.FillLabel("Username", alice.Username)
	p.ClickText("Continue")
	chooseFactor(p, tenants.FactorEmail)
	p.WaitText("we have sent a code to it")

	p.Go(nodeB + "/flow")
	p.WaitText("we have sent a code to it") // the same page, from the other node
	enterCode(p, sinks.emailCode(t, alice.Mail))
	p.WaitText("Verified. Choose one more way to verify (1 left).")

	p.Go(nodeA + "/flow")
	chooseFactor(p, tenants.FactorSMS)
	p.Go(nodeB + "/flow")
	enterCode(p, sinks.smsCode(t, alice.Mobile))
	p.WaitText("Thanks, " + alice.DisplayName + ".")

	p.Go(nodeA + "/flow") // A relays the reset to the connector B holds
	newPW := dirtest.RandomPassword()
	setNewPassword(p, newPW)
	p.WaitText("Your password has been changed and your account is unlocked.")
	p.NoConsoleErrors()
	// The directory's own check of a password (a bind), through node B.
	verify := func(pw string) hub.Outcome {
		return b.dispatcher.Execute(t.Context(), string(ten.ID), hub.Request{Op: protocol.OpVerifyPassword,
			Target: demodir.GUIDFor("corp", alice.Username), Password: []byte(pw)})
	}
	if out := verify(newPW); out.Status != hub.Done {
		t.Fatalf("the reset finished on node A did not reach the directory behind node B: the new password gives %s", out)
	}
	if out := verify(demodir.DefaultPassword); out.Status != hub.DirectoryError {
		t.Errorf("the old password gives %s, want a directory error", out)
	}
}

// demoConnectorOn runs the demo's in-process connector (the real agent in
// front of the in-memory demo directory, enrolled through the real
// enrollment service) for tenant ten on node s only, until the test ends.
func demoConnectorOn(t *testing.T, s *server, ten tenants.Tenant) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := s.startDemoConnectors(ctx, t.TempDir(), "", []string{ten.Slug}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(s.hub.Connected(string(ten.ID))) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the connector never connected")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// page opens a fresh browser (own cookies) on one tab.
func (st *selfServiceStack) page(t *testing.T) *browsertest.Page {
	t.Helper()
	return browsertest.New(t).Page(t)
}

// startFlow opens an action's page, types the username and continues.
func (st *selfServiceStack) startFlow(p *browsertest.Page, path, login string) {
	p.Go(st.base + path)
	p.FillLabel("Username", login)
	p.ClickText("Continue")
}

// chooseFactor picks a verification method on the choice page.
func chooseFactor(p *browsertest.Page, f tenants.Factor) {
	p.Click("#factor-" + string(f))
	p.ClickText("Continue")
}

func enterCode(p *browsertest.Page, code string) {
	p.FillLabel("Code", code)
	p.ClickText("Verify")
}

func setNewPassword(p *browsertest.Page, pw string) {
	p.FillLabel("New password", pw)
	p.FillLabel("Type the new password again", pw)
	p.ClickText("Set new password")
}

func changePassword(p *browsertest.Page, old, pw string) {
	p.FillLabel("Current password", old)
	p.FillLabel("New password", pw)
	p.FillLabel("Type the new password again", pw)
	p.ClickText("Change password")
}

// stepToken is the step token the current page's forms carry.
func stepToken(p *browsertest.Page) string {
	var s string
	p.Eval(`document.querySelector('input[name=step]').value`, &s)
	return s
}

// postForm makes the browser post a form the page does not offer (a
// skipped or replayed step) from the page's own origin, with its cookies.
func postForm(p *browsertest.Page, action string, fields map[string]string) {
	a, _ := json.Marshal(action)
	f, _ := json.Marshal(fields)
	p.Eval(`(() => {
	  const form = document.createElement('form');
	  form.method = 'post'; form.action = `+string(a)+`; form.id = 'forged';
	  for (const [k, v] of Object.entries(`+string(f)+`)) {
	    const i = document.createElement('input');
	    i.type = 'hidden'; i.name = k; i.value = v; form.appendChild(i);
	  }
	  document.body.appendChild(form);
	})()`, nil)
	p.Submit("#forged")
}

// otherCode is a code of the same length that is not code.
func otherCode(code string) string {
	if strings.Trim(code, "0") == "" {
		return strings.Repeat("1", len(code))
	}
	return strings.Repeat("0", len(code))
}

// seedQuestions gives u's enrollment record three security questions of
// the tenant's list (hashed as the settings page would) and returns them
// with their answers.
func (st *selfServiceStack) seedQuestions(t *testing.T, u portalUser) map[string]string {
	t.Helper()
	out := st.node.dispatcher.Execute(t.Context(), string(st.tenant.ID), hub.Request{Op: protocol.OpLookup, Login: u.Login})
	var acc protocol.Account
	if out.Status != hub.Done || json.Unmarshal(out.Data, &acc) != nil {
		t.Fatalf("lookup %s: %+v", u.Login, out)
	}
	h := questions.NewHasher(questions.DefaultParams, 0)
	answers := map[string]string{}
	var qa []tenants.QuestionAnswer
	for i, a := range []string{"Whiskers", "Porto", "Radiohead"} {
		q := flow.DefaultQuestionList[i]
		hash, err := h.Hash(t.Context(), a)
		if err != nil {
			t.Fatal(err)
		}
		qa = append(qa, tenants.QuestionAnswer{Question: q, Hash: hash})
		answers[q] = a
	}
	if _, err := st.node.store.Tenant(st.tenant.ID).CreateUser(t.Context(), tenants.User{DirectoryGUID: acc.GUID, Username: acc.Username,
		UPN: acc.UPN, DisplayName: acc.DisplayName, Enrollment: tenants.Enrollment{Questions: qa}}); err != nil {
		t.Fatal(err)
	}
	return answers
}

// user reads u's enrollment record.
func (st *selfServiceStack) user(t *testing.T, u portalUser) tenants.User {
	t.Helper()
	rec, err := st.node.store.Tenant(st.tenant.ID).GetUserByUsername(t.Context(), u.Login)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// queued counts the outbox messages to address (sent or not).
func (st *selfServiceStack) queued(t *testing.T, to string) int {
	t.Helper()
	ms, err := st.node.store.Tenant(st.tenant.ID).ListMessages(t.Context(), 10_000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range ms {
		if m.To == to {
			n++
		}
	}
	return n
}

// lockoutEnds is when the DC's lockout of dn lapses: lockoutTime (a
// FILETIME) plus the test domain's 5-minute lockout duration.
func lockoutEnds(t *testing.T, env dirtest.SambaEnv, dn string) time.Time {
	t.Helper()
	v, err := strconv.ParseInt(env.Read(t, dn, "lockoutTime").GetAttributeValue("lockoutTime"), 10, 64)
	if err != nil || v == 0 {
		t.Fatalf("lockoutTime of a locked account: %d (%v)", v, err)
	}
	const epochDiff = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	return time.Unix(0, (v-epochDiff)*100).Add(5 * time.Minute)
}

func wantInvalidCredentials(t *testing.T, err error, what string) {
	t.Helper()
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("%s: bind gave %v, want invalid credentials", what, err)
	}
}
