package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/smtp"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/connector/directory/dirtest"
	"github.com/latchkey/latchkey/portal/notify"
	"github.com/latchkey/latchkey/portal/notify/notifytest"
	"github.com/latchkey/latchkey/portal/phone"
	"github.com/latchkey/latchkey/tenants"
)

// This file holds the end-to-end plumbing the Samba and browser tests share:
// the real latchkey-connector process against the Samba AD DC, a node whose
// notifications travel through real SMTP and Twilio-speaking servers, and
// throwaway directory users with a mailbox and a mobile number.

// writeTestFile writes b to name in dir (mode 0600) and returns its path.
func writeTestFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startSambaConnector builds the real latchkey-connector binary, enrolls it
// for tenant ten with a one-time join token through `latchkey-connector
// enroll` on the tenant's host (corp.localhost at node s's portal port), and
// runs it (`run`) against the Samba AD DC of env — scope env.ScopeOU — until
// the test ends. It returns once the connector is connected to s's hub, which
// it dials at s's connector URL (Connector.PublicURL when the test set one,
// e.g. a chaos proxy). The connector's output is returned for checks; it is
// logged when the test fails.
func startSambaConnector(t *testing.T, s *server, ten tenants.Tenant, env dirtest.SambaEnv) *syncBuffer {
	t.Helper()
	work := t.TempDir()
	bin := filepath.Join(work, "latchkey-connector")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/latchkey/latchkey/cmd/latchkey-connector")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build latchkey-connector: %v\n%s", err, out)
	}
	tok, err := s.enroll.CreateToken(t.Context(), ten.ID, "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ca := writeTestFile(t, work, "samba-ca.pem", env.CAPEM)
	pw := writeTestFile(t, work, "bind-password", []byte(env.BindPassword+"\n"))
	cfg := map[string]any{
		"directory": map[string]any{"urls": []string{env.URL}, "dialect": "ad", "ca_file": ca, "bind_dn": env.BindDN,
			"bind_password_file": pw, "base_dn": env.BaseDN},
		"domains": []string{env.Realm},
		"scope":   map[string]any{"ous": []string{env.ScopeOU}, "writes_per_minute": 1_000_000, "write_burst": 10_000},
	}
	cb, _ := json.Marshal(cfg)
	config := writeTestFile(t, work, "config.json", cb)
	identity := filepath.Join(work, "identity.json")

	enroll := exec.CommandContext(t.Context(), bin, "enroll", "--url", "http://"+ten.Slug+".localhost:"+portOf(t, s.addr()), "--token-file", "-", "--identity", identity)
	enroll.Stdin = strings.NewReader(tok.Token + "\n") // pasted, as the operator would
	if out, err := enroll.CombinedOutput(); err != nil {
		t.Fatalf("latchkey-connector enroll: %v\n%s", err, out)
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	run := exec.CommandContext(ctx, bin, "run", "--config", config, "--identity", identity, "--state-dir", filepath.Join(work, "state"))
	run.Stdout, run.Stderr = logs, logs
	if err := run.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = run.Wait()
		if t.Failed() {
			t.Logf("connector output:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for len(s.hub.Connected(string(ten.ID))) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the connector process never connected:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return logs
}

// portOf is the port of a host:port address.
func portOf(t *testing.T, addr string) string {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		t.Fatalf("%q has no port", addr)
	}
	return addr[i+1:]
}

// notifySinks are a real SMTP server (STARTTLS, AUTH PLAIN) and a fake
// Twilio (HTTPS) that a node's notification worker delivers to, configured
// the way an operator would: host, port, user, password file, CA file.
// Tests read the codes from what arrived. Each message is handed out once,
// so "the next code for this address" is the newest one.
type notifySinks struct {
	mail *notifytest.SMTPSink
	sms  *notifytest.TwilioFake
	dir  string

	mu   sync.Mutex
	used map[string]bool // Message-IDs and SIDs already handed out
}

const (
	smtpUser = "latchkey"
	smtpFrom = "Corp IT <noreply@corp.example.com>"
	smsFrom  = "+14155550100"
)

func newNotifySinks(t *testing.T) *notifySinks {
	t.Helper()
	pw := "smtp-" + randomDigits(12)
	n := &notifySinks{mail: notifytest.NewSMTPSink(t, notifytest.SMTPOptions{Username: smtpUser, Password: pw}),
		sms: notifytest.NewTwilioFake(t), dir: t.TempDir(), used: map[string]bool{}}
	writeTestFile(t, n.dir, "smtp-password", []byte(pw+"\n"))
	writeTestFile(t, n.dir, "smtp-ca.pem", smtpCertPEM(t, n.mail.Addr()))
	writeTestFile(t, n.dir, "twilio-token", []byte(n.sms.AuthToken+"\n"))
	u, err := url.Parse(n.sms.URL())
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, n.dir, "twilio-ca.pem", tlsCertPEM(t, u.Host))
	return n
}

// configure points a node's SelfService settings at the sinks.
func (n *notifySinks) configure(c *serverConfig) {
	c.SelfService.SMTP = smtpConfig{Host: n.mail.Host(), Port: n.mail.Port(), Username: smtpUser,
		PasswordFile: filepath.Join(n.dir, "smtp-password"), From: smtpFrom, TLS: notify.TLSStartTLS,
		CAFile: filepath.Join(n.dir, "smtp-ca.pem")}
	c.SelfService.SMS = smsConfig{Provider: "twilio", URL: n.sms.URL(), AccountSID: n.sms.AccountSID,
		TokenFile: filepath.Join(n.dir, "twilio-token"), From: smsFrom, CAFile: filepath.Join(n.dir, "twilio-ca.pem")}
}

// smtpCertPEM fetches the certificate the SMTP server at addr offers after
// STARTTLS: the test sink's self-signed certificate, for --smtp-ca-file.
func smtpCertPEM(t *testing.T, addr string) []byte {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("dial the SMTP sink: %v", err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil { // only to read the certificate
		t.Fatalf("STARTTLS to the SMTP sink: %v", err)
	}
	cs, _ := c.TLSConnectionState()
	_ = c.Quit()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cs.PeerCertificates[0].Raw})
}

// tlsCertPEM fetches the certificate the TLS server at addr offers.
func tlsCertPEM(t *testing.T, addr string) []byte {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) // only to read the certificate
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.ConnectionState().PeerCertificates[0].Raw})
}

const deliveryTimeout = 15 * time.Second

// email waits for the next email to address to whose subject contains
// subject, and hands it out.
func (n *notifySinks) email(t *testing.T, to, subject string) notifytest.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), deliveryTimeout)
	defer cancel()
	m, err := n.mail.WaitFor(ctx, func(m notifytest.Msg) bool {
		return !n.isUsed(m.MessageID) && strings.Contains(m.Subject, subject) && len(m.To) == 1 && strings.EqualFold(m.To[0], to)
	})
	if err != nil {
		var got []string
		for _, m := range n.mail.Messages() {
			got = append(got, fmt.Sprintf("%v %q", m.To, m.Subject))
		}
		t.Fatalf("no email %q to %s arrived within %s (received: %v)", subject, to, deliveryTimeout, got)
	}
	n.use(m.MessageID)
	return m
}

var (
	emailCodeRE = regexp.MustCompile(`Your verification code is: ([0-9]+)`)
	smsCodeRE   = regexp.MustCompile(`^([0-9]+) is your `)
)

// emailCode waits for the next code emailed to address and returns it.
func (n *notifySinks) emailCode(t *testing.T, to string) string {
	t.Helper()
	m := n.email(t, to, "verification code")
	c := emailCodeRE.FindStringSubmatch(m.Text)
	if c == nil {
		t.Fatalf("the code email to %s holds no code:\n%s", to, m.Text)
	}
	return c[1]
}

// textMessage waits for the next SMS to number whose body matches re.
func (n *notifySinks) textMessage(t *testing.T, to string, re *regexp.Regexp) notifytest.SMS {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), deliveryTimeout)
	defer cancel()
	m, err := n.sms.WaitFor(ctx, func(m notifytest.SMS) bool { return !n.isUsed(m.SID) && m.To == to && re.MatchString(m.Body) })
	if err != nil {
		t.Fatalf("no SMS matching %s to %s arrived within %s (received: %+v)", re, to, deliveryTimeout, n.sms.Messages())
	}
	n.use(m.SID)
	return m
}

// smsCode waits for the next code texted to number and returns it.
func (n *notifySinks) smsCode(t *testing.T, to string) string {
	t.Helper()
	return smsCodeRE.FindStringSubmatch(n.textMessage(t, to, smsCodeRE).Body)[1]
}

// emailsTo counts the emails address received whose subject contains subject.
func (n *notifySinks) emailsTo(to, subject string) int {
	k := 0
	for _, m := range n.mail.Messages() {
		if len(m.To) == 1 && strings.EqualFold(m.To[0], to) && strings.Contains(m.Subject, subject) {
			k++
		}
	}
	return k
}

func (n *notifySinks) isUsed(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.used[id]
}

func (n *notifySinks) use(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.used[id] = true
}

// testClock is the flow engine's clock in these tests: the wall clock plus
// an offset a test may move forward (to let a code expire).
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d until the test ends.
func (c *testClock) Advance(t *testing.T, d time.Duration) {
	c.offset.Add(int64(d))
	t.Cleanup(func() { c.offset.Add(-int64(d)) })
}

// selfServiceStack is a whole deployment on loopback: one node (SQLite)
// with its tenant "corp" on corp.localhost, the real latchkey-connector
// process in front of the Samba AD DC, and notifications through real SMTP
// and Twilio-speaking servers.
type selfServiceStack struct {
	node   *server
	tenant tenants.Tenant
	base   string // http://corp.localhost:<port>
	env    dirtest.SambaEnv
	sinks  *notifySinks
	clock  *testClock
}

// startSelfServiceStack starts the stack; policy adjusts the tenant before
// anything has read it, and each configure adjusts the node's configuration
// (e.g. the FCM endpoint) before it starts.
func startSelfServiceStack(t *testing.T, policy func(*tenants.Tenant), configure ...func(*serverConfig)) *selfServiceStack {
	t.Helper()
	env := dirtest.Samba(t)
	sinks := newNotifySinks(t)
	s, _ := startNode(t, storageConfig{DataDir: t.TempDir()}, func(c *serverConfig) {
		c.PlatformDomain, c.PublicPort = "localhost", "0"
		sinks.configure(c)
		for _, f := range configure {
			f(c)
		}
	})
	clock := &testClock{}
	// Before the first flow: from here on every request reads the clock.
	s.self.engine.Now = clock.Now
	ten := newTenant(t, s, policy)
	startSambaConnector(t, s, ten, env)
	return &selfServiceStack{node: s, tenant: ten, base: "http://corp.localhost:" + portOf(t, s.addr()), env: env, sinks: sinks, clock: clock}
}

// newTenant creates the tenant "corp" on corp.localhost and applies policy.
func newTenant(t *testing.T, s *server, policy func(*tenants.Tenant)) tenants.Tenant {
	t.Helper()
	ten, err := createTenant(t.Context(), s.store, tenantSpec{Slug: "corp", Name: "Corp", PlatformDomain: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if policy != nil {
		if ten, err = s.store.Tenant(ten.ID).Update(t.Context(), func(x *tenants.Tenant) error { policy(x); return nil }); err != nil {
			t.Fatal(err)
		}
		s.resolver.Invalidate(ten.ID)
	}
	return ten
}

// portalUser is a throwaway Samba user in the self-service scope, with a
// mailbox (mail) and, unless asked otherwise, a mobile number of its own.
type portalUser struct {
	dirtest.User
	Mobile string // E.164, "" when the user has none
}

func (st *selfServiceStack) newUser(t *testing.T, withMobile bool) portalUser {
	t.Helper()
	u := portalUser{User: st.env.NewUser(t, st.env.ScopeOU)}
	if withMobile {
		u.Mobile = randomMobile(t)
		st.env.SetAttr(t, u.DN, "mobile", u.Mobile)
	}
	return u
}

// randomMobile is a US number libphonenumber accepts, different for every
// user so that the per-number SMS cooldown never links two tests.
func randomMobile(t *testing.T) string {
	t.Helper()
	for range 20 {
		n := "+1415" + randomDigits(7)
		if p, err := phone.Parse(n, ""); err == nil && p.E164 == n {
			return n
		}
	}
	t.Fatal("no valid random mobile number")
	return ""
}

func randomDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}
