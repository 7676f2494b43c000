package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/browsertest"
	"github.com/latchkey/latchkey/push/approval/approvaltest"
	"github.com/latchkey/latchkey/tenants"
)

// This file holds the plumbing of the push-approval browser tests: the
// self-service stack with FCM pointed at a fake FCM HTTP v1 server (the real
// Firebase Admin SDK sends to it), and the reference authenticator
// (cmd/latchkey-authenticator) built and run as a process with its own
// state file, as a user would run it on a computer.

// pushStack is the self-service stack with push approval over FCM.
type pushStack struct {
	*selfServiceStack
	fcm     *approvaltest.FakeFCM
	authBin string // the built latchkey-authenticator
}

// startPushStack starts the Samba self-service stack with --fcm-project and
// --fcm-endpoint set to a fake FCM server; policy adjusts the tenant.
func startPushStack(t *testing.T, policy func(*tenants.Tenant)) *pushStack {
	t.Helper()
	bin := buildAuthenticator(t)
	fake := &approvaltest.FakeFCM{}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	st := startSelfServiceStack(t, policy, func(c *serverConfig) {
		c.SelfService.FCM = fcmConfig{Project: "latchkey-test", Endpoint: srv.URL + "/v1"}
	})
	return &pushStack{selfServiceStack: st, fcm: fake, authBin: bin}
}

// buildAuthenticator builds the reference authenticator's binary.
func buildAuthenticator(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "latchkey-authenticator")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/latchkey/latchkey/cmd/latchkey-authenticator")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build latchkey-authenticator: %v\n%s", err, out)
	}
	return bin
}

// fcmMessage is one send request the fake FCM server received.
type fcmMessage struct {
	Raw   []byte
	Token string
	Data  map[string]string
	Paths []string // every leaf of the request, "message.data.cid"
}

// fcmSince returns the FCM requests after the first n.
func (ps *pushStack) fcmSince(t *testing.T, n int) []fcmMessage {
	t.Helper()
	var out []fcmMessage
	for _, b := range ps.fcm.Requests()[n:] {
		var req struct {
			Message struct {
				Token string            `json:"token"`
				Data  map[string]string `json:"data"`
			} `json:"message"`
		}
		var doc any
		if err := json.Unmarshal(b, &req); err != nil || json.Unmarshal(b, &doc) != nil {
			t.Fatalf("FCM request %s: %v", b, err)
		}
		out = append(out, fcmMessage{Raw: b, Token: req.Message.Token, Data: req.Message.Data, Paths: approvaltest.LeafPaths(doc)})
	}
	return out
}

// signIn signs u in on p (/enroll: password and an email code) and waits
// for the settings page.
func (ps *pushStack) signIn(t *testing.T, p *browsertest.Page, u portalUser) {
	t.Helper()
	ps.startFlow(p, "/enroll", u.Login)
	p.FillLabel("Current password", u.Password)
	p.ClickText("Continue")
	chooseFactor(p, tenants.FactorEmail)
	enterCode(p, ps.sinks.emailCode(t, u.Mail))
	p.WaitText("Your verification methods")
}

// signInAndEnrollDevice signs u in on p (/enroll: password and an email
// code), adds a device on the settings page, and enrolls a new authenticator
// with the link the page shows (with pushToken as its FCM token, "" to poll
// only). It returns the authenticator.
func (ps *pushStack) signInAndEnrollDevice(t *testing.T, p *browsertest.Page, u portalUser, pushToken string) *authenticator {
	t.Helper()
	ps.signIn(t, p, u)
	p.ClickText("Add the app on a phone")
	p.WaitVisible("#device-link")
	var link string
	p.Eval(`document.querySelector('#device-link').value`, &link)
	if !strings.HasPrefix(link, ps.base+"/m/enroll?") {
		t.Fatalf("the enrollment link %q is not on the tenant's host %s", link, ps.base)
	}
	a := &authenticator{t: t, bin: ps.authBin, dir: t.TempDir()}
	args := []string{"enroll", link, "--name", "Test laptop"}
	if pushToken != "" {
		args = append(args, "--push-token", pushToken)
	}
	if out, errOut, err := a.run(args...); err != nil || !strings.HasPrefix(out, "Enrolled as "+u.Login+" at ") {
		t.Fatalf("latchkey-authenticator enroll: %v\nstdout: %s\nstderr: %s", err, out, errOut)
	}
	return a
}

// resetToPush starts a reset for u on p, verifies the email code, chooses
// "Approve on your phone" and returns the number the page shows.
func (ps *pushStack) resetToPush(t *testing.T, p *browsertest.Page, u portalUser) int {
	t.Helper()
	ps.startFlow(p, "/reset", u.Login)
	p.WaitText("Approve on your phone")
	chooseFactor(p, tenants.FactorEmail)
	enterCode(p, ps.sinks.emailCode(t, u.Mail))
	p.WaitText("Verified. Choose one more way to verify (1 left).")
	chooseFactor(p, tenants.FactorPush)
	p.WaitText("Type this number in the app:")
	s := strings.TrimSpace(p.Text(".push-number .number"))
	n, err := strconv.Atoi(s)
	if err != nil || n < 10 || n > 99 {
		t.Fatalf("the push page shows %q, want a two-digit number", s)
	}
	// R30: the request lives at most 120 s, and the page counts down from
	// there (a fresh page: well above a minute left).
	hint := p.Text(".push-number .hint")
	left := -1
	if m := pushLeftRE.FindStringSubmatch(hint); m != nil {
		left, _ = strconv.Atoi(m[1])
	}
	if left < 60 || left > 120 {
		t.Errorf("the push page says %q, want the seconds left of a fresh request (at most 120)", hint)
	}
	return n
}

var pushLeftRE = regexp.MustCompile(`\((\d+) seconds left\)`)

// authenticator is one installation of the reference authenticator: its
// binary and its own state file.
type authenticator struct {
	t   *testing.T
	bin string
	dir string // holds the state file and stands in for HOME
}

func (a *authenticator) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, a.bin, append(args, "--state", filepath.Join(a.dir, "state.json"))...)
	cmd.Env = append(os.Environ(), "HOME="+a.dir, "XDG_CONFIG_HOME="+filepath.Join(a.dir, "config"))
	return cmd
}

// run runs one command to its end.
func (a *authenticator) run(args ...string) (stdout, stderr string, err error) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(a.t.Context(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := a.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// waiting is a running `latchkey-authenticator wait`.
type waiting struct {
	cmd      *exec.Cmd
	out, err *syncBuffer
	done     chan error
}

// start starts `wait` with args; it is stopped when the test ends.
func (a *authenticator) start(args ...string) *waiting {
	a.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &waiting{out: &syncBuffer{}, err: &syncBuffer{}, done: make(chan error, 1)}
	w.cmd = a.command(ctx, append([]string{"wait"}, args...)...)
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.err
	if err := w.cmd.Start(); err != nil {
		cancel()
		a.t.Fatal(err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	a.t.Cleanup(func() {
		cancel()
		<-w.done
		if a.t.Failed() {
			a.t.Logf("latchkey-authenticator wait:\nstdout: %s\nstderr: %s", w.out, w.err)
		}
	})
	return w
}

var listeningRE = regexp.MustCompile(`Listening for pushed messages on http://([^/\s]+)/`)

// pushAddr waits until the command listens for pushed messages and returns
// the address.
func (w *waiting) pushAddr(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := listeningRE.FindStringSubmatch(w.out.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-w.done:
			w.done <- err
			t.Fatalf("wait ended before it listened (%v):\n%s%s", err, w.out, w.err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("wait never listened for pushes:\n%s%s", w.out, w.err)
	return ""
}

// exit waits for the command to end and returns its exit status.
func (w *waiting) exit(t *testing.T) int {
	t.Helper()
	select {
	case err := <-w.done:
		w.done <- err
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.ExitCode()
		}
		t.Fatalf("wait: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatalf("wait did not answer within 30 s:\n%s%s", w.out, w.err)
	}
	return -1
}

// forward delivers a pushed data message to the command's push listener,
// as the phone's FCM SDK hands it to the app.
func forward(t *testing.T, addr string, data map[string]string) {
	t.Helper()
	b, _ := json.Marshal(data)
	resp, err := http.Post("http://"+addr+"/", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("the push listener answered %d", resp.StatusCode)
	}
}

// otherPushNumber is a two-digit number that is not n.
func otherPushNumber(n int) int {
	if n == 99 {
		return 10
	}
	return n + 1
}
