package flow_test

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/portal/factor/otp"
	"github.com/latchkey/latchkey/portal/factor/questions"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/tenants"
)

// TestSMSLimits_R24: an SMS to a number outside the tenant's countries is not
// queued and is audited; the per-number cooldown holds back a second SMS
// within its window; the page looks the same either way.
func TestSMSLimits_R24(t *testing.T) {
	h := newHarness(t)
	h.updateTenant(func(t *tenants.Tenant) {
		t.SelfService.SMSCountries = []string{"ch", "DE"}
		t.SelfService.SMSNumberCooldown = time.Minute
	})
	h.account(acct{login: "alice", mail: "alice@corp.example.com", mobile: "+41 79 123 45 67"})
	h.account(acct{login: "yank", mail: "yank@corp.example.com", mobile: "+1 202 555 0123"})

	n := h.mail.count()
	f := h.start(tenants.ActionUnlock, "yank")
	blocked := f.choose(tenants.FactorSMS)
	if h.mail.count() != n {
		t.Fatal("R24: an SMS went to a number outside the tenant's countries")
	}
	ev := h.audits("sms.blocked")
	if len(ev) != 1 || ev[0].Detail["reason"] != "country" {
		t.Fatalf("R24: sms.blocked audit = %+v", ev)
	}

	g := h.start(tenants.ActionUnlock, "alice")
	sent := g.choose(tenants.FactorSMS)
	if got := h.mail.kind("sms_code", "+41791234567"); len(got) != 1 {
		t.Fatalf("SMS codes to alice: %d", len(got))
	}
	if !reflect.DeepEqual(masked(blocked), masked(sent)) {
		t.Fatalf("R24: a blocked SMS looks different\n%+v\n%+v", blocked, sent)
	}
	h.clock.Advance(20 * time.Second)
	g.resend()
	if got := h.mail.kind("sms_code", "+41791234567"); len(got) != 1 {
		t.Fatal("R24: a second SMS within the cooldown")
	}
	if ev := h.audits("sms.blocked"); len(ev) != 2 || ev[1].Detail["reason"] != "cooldown" {
		t.Fatalf("R24: cooldown audit = %+v", ev)
	}
	h.clock.Advance(time.Minute)
	g.resend()
	if got := h.mail.kind("sms_code", "+41791234567"); len(got) != 2 {
		t.Fatal("no SMS after the cooldown")
	}
}

// TestSMSBudgetPerUser_R24: the user's daily SMS budget holds.
func TestSMSBudgetPerUser_R24(t *testing.T) {
	h := newHarness(t)
	h.updateTenant(func(t *tenants.Tenant) { t.SelfService.SMSPerUserDay = 2 })
	h.account(acct{login: "alice", mobile: "+41 79 123 45 67"})
	for range 3 {
		f := h.start(tenants.ActionUnlock, "alice")
		f.choose(tenants.FactorSMS)
		h.clock.Advance(time.Minute)
	}
	if got := len(h.mail.kind("sms_code", "")); got != 2 {
		t.Fatalf("R24: %d SMS with a budget of 2", got)
	}
	if ev := h.audits("sms.blocked"); len(ev) != 1 || ev[0].Detail["reason"] != "user_budget" {
		t.Fatalf("audit %+v", ev)
	}
}

// resetAlice runs a complete reset for alice and returns the reset_done notice.
func resetAlice(t *testing.T, h *harness) (sent, []string) {
	t.Helper()
	f := h.start(tenants.ActionReset, "alice")
	n := h.mail.count()
	verifyEmailAndQuestions(t, f)
	codes := []string{h.mail.since(n)[0].Code}
	n = h.mail.count()
	if v := f.newPassword(newPassword); v.Result != "reset" {
		t.Fatalf("reset: %+v", v)
	}
	got := h.mail.since(n)
	if len(got) != 1 || got[0].Kind != "reset_done" {
		t.Fatalf("notices %+v", got)
	}
	return got[0], codes
}

// TestThisWasntMe: the reset notice's link opens a report page that changes
// nothing; confirming it freezes self-service for the user, ends their
// sessions, alerts the admins and the user, and audits it; afterwards the
// user's flows run as decoys.
func TestThisWasntMe(t *testing.T) {
	h := newHarness(t)
	u := alice(h)
	h.account(acct{login: "admin", mail: "it@corp.example.com", admin: true})
	h.account(acct{login: "zed", mail: "zed@corp.example.com"})
	notice, _ := resetAlice(t, h)
	if !strings.HasPrefix(notice.ReportURL, "https://acme.latchkey.test/report/") {
		t.Fatalf("report URL %q", notice.ReportURL)
	}
	token := path.Base(notice.ReportURL)
	sess := h.session(u.ID)
	// Only a report flow passes as a report link (no flow fixation, R7).
	if err := h.eng.CheckReportLink(h.ctx, h.ten, token); err != nil {
		t.Fatalf("CheckReportLink(report token): %v", err)
	}
	other := h.start(tenants.ActionReset, "alice")
	if err := h.eng.CheckReportLink(h.ctx, h.ten, other.token); !errors.Is(err, flow.ErrNoFlow) {
		t.Fatalf("R7: a reset flow's token passed as a report link: %v", err)
	}

	v, err := h.eng.View(h.ctx, h.ten, token)
	if err != nil {
		t.Fatal(err)
	}
	if v.Step != flow.StepReport || v.Action != flow.ActionReport {
		t.Fatalf("report view %+v", v)
	}
	if !h.user(u.ID).FrozenAt.IsZero() || h.sessionRevoked(sess) {
		t.Fatal("opening the link changed something")
	}
	if _, err := h.eng.View(h.ctx, h.tenant("globex", "Globex"), token); !errors.Is(err, flow.ErrNoFlow) {
		t.Fatalf("R7: report link with another tenant: %v", err)
	}
	n := h.mail.count()
	h.clock.Advance(time.Hour)
	c := h.client()
	v, err = h.eng.ConfirmReport(h.ctx, h.ten, token, v.StepToken, c)
	if err != nil {
		t.Fatal(err)
	}
	if v.Step != flow.StepDone || v.Result != "reported" {
		t.Fatalf("confirmed report %+v", v)
	}
	if got := h.user(u.ID).FrozenAt; !got.Equal(t0.Add(time.Hour)) {
		t.Fatalf("frozen at %v", got)
	}
	if !h.sessionRevoked(sess) {
		t.Error("session not revoked")
	}
	var kinds []string
	for _, m := range h.mail.since(n) {
		kinds = append(kinds, m.Kind+">"+m.To)
	}
	want := []string{"report_alert>it@corp.example.com", "frozen>alice@corp.example.com"}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("messages %q, want %q", kinds, want)
	}
	// Both tell of the reported reset as it was made (its time, address and
	// browser), not of the click on the link.
	for _, m := range h.mail.since(n) {
		if m.Action != tenants.ActionReset || m.IP != notice.IP || m.UserAgent != notice.UserAgent || !m.Time.Equal(notice.Time) {
			t.Errorf("%s: action %q from %s (%s) at %v, want the reset's %s at %v", m.Kind, m.Action, m.IP, m.UserAgent, m.Time, notice.IP, notice.Time)
		}
	}
	if notice.IP == c.IP {
		t.Fatal("the reporter and the reset share an IP: the test proves nothing")
	}
	if ev := h.audits("selfservice.frozen"); len(ev) != 1 || ev[0].Target != "user:"+u.ID || ev[0].IP != c.IP ||
		ev[0].Detail["action"] != "reset" || ev[0].Detail["suspect_ip"] != notice.IP {
		t.Fatalf("audit %+v", ev)
	}
	if _, err := h.eng.ConfirmReport(h.ctx, h.ten, token, v.StepToken, c); !errors.Is(err, flow.ErrStale) {
		t.Fatalf("second confirmation: %v", err)
	}

	// Frozen: a new flow looks normal and sends nothing.
	n = h.mail.count()
	f := h.start(tenants.ActionReset, "alice")
	wantStep(t, f.choose(tenants.FactorEmail), flow.StepCode)
	if h.mail.count() != n {
		t.Fatal("a code went to a frozen account")
	}
}

// TestNoSecretAtRest_R10_R22: after a full reset neither the new password,
// the code nor an answer is anywhere in the database files or in
// the flows table.
func TestNoSecretAtRest_R10_R22(t *testing.T) {
	h := newHarness(t, withDeps(func(d *flow.Deps) {
		// Ten digits, so that the code cannot turn up in the file by chance.
		d.Codes = otp.Codes{Key: []byte("otp-test-key-0123456789abcdef-0123456789"), Digits: 10}
	}))
	alice(h)
	_, codes := resetAlice(t, h)
	secrets := append([]string{newPassword}, codes...)
	for _, a := range answers {
		secrets = append(secrets, a, questions.Normalize(a))
	}
	if len(codes[0]) != 10 {
		t.Fatalf("code %q", codes[0])
	}
	files, err := filepath.Glob(h.path + "*")
	if err != nil || len(files) == 0 {
		t.Fatalf("database files: %v %v", files, err)
	}
	var all []byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if !bytes.Contains(all, []byte("alice@corp.example.com")) {
		t.Fatal("the scan sees nothing: the user's email is not in the files")
	}
	for _, s := range secrets {
		if bytes.Contains(all, []byte(s)) {
			t.Errorf("R10/R22: %q found in the database files", s)
		}
	}
	db, err := sql.Open("sqlite", "file:"+h.path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(h.ctx, `SELECT state FROM flows`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var nflows int
	for rows.Next() {
		var st []byte
		if err := rows.Scan(&st); err != nil {
			t.Fatal(err)
		}
		nflows++
		for _, s := range secrets {
			if bytes.Contains(st, []byte(s)) {
				t.Errorf("R10/R22: %q in a flow's state", s)
			}
		}
	}
	if err := rows.Err(); err != nil || nflows < 2 {
		t.Fatalf("flows scanned: %d, %v", nflows, err)
	}
}
