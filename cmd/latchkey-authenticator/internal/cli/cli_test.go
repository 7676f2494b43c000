package cli

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/fakeserver"
	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/mobileclient"
	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/state"
	"github.com/latchkey/latchkey/push/challenge"
)

func TestEnrollSavesAPrivateStateFile_R32(t *testing.T) {
	tn := newTenant(t, fakeserver.Config{})
	id := tn.enroll("--push-token", "fcm-tok")
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(tn.state); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("state file mode %v, %v", fi.Mode().Perm(), err)
		}
	}
	st, err := state.Load(tn.state)
	if err != nil {
		t.Fatal(err)
	}
	d := st.Device
	srv, ok := tn.fake.Device(id)
	if !ok || d.BaseURL != tn.url || d.KeyID != srv.KeyID || d.Username != "ann" || d.DisplayName != "Ann Lee" ||
		d.TenantName != "Acme" || srv.Name != "Ann's laptop" || srv.Platform != "cli" || srv.PushToken != "fcm-tok" {
		t.Fatalf("state %+v, server %+v", d, srv)
	}
	// The saved key is the PKCS#8 private half of the key the server holds.
	if b, _ := pem.Decode([]byte(d.PrivateKeyPEM)); b == nil || b.Type != "PRIVATE KEY" {
		t.Fatal("the key is not PKCS#8 PEM")
	}
	k, err := mobileclient.ParsePrivateKeyPEM(d.PrivateKeyPEM)
	if err != nil || !k.PublicKey.Equal(srv.PublicKey) {
		t.Fatalf("saved key does not match the enrolled one: %v", err)
	}
	// A second enroll does not overwrite the device.
	r := tn.run(nil, Env{}, "enroll", tn.link("ann", ""))
	if r.code != 1 || !strings.Contains(r.stderr, "already holds a device") {
		t.Fatalf("second enroll: %+v", r)
	}
}

func TestEnrollLinkUsedTwiceIsExplained_R32(t *testing.T) {
	tn := newTenant(t, fakeserver.Config{})
	link := tn.link("ann", "")
	if r := tn.run(nil, Env{}, "enroll", link); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	r := tn.run(nil, Env{}, "enroll", link, "--force")
	if r.code != 1 || r.stderr != "latchkey-authenticator: This enrollment link is unknown, expired (links last 10 minutes) or already used; open Settings → Add the authenticator app for a new one.\n" {
		t.Fatalf("%+v", r)
	}
	link = tn.link("ann", "")
	r = tn.run(nil, Env{}, "enroll", link, "--force", "--name", strings.Repeat("n", 65))
	if r.code != 1 || !strings.Contains(r.stderr, "--name: the device name must be 1–64 characters") {
		t.Fatalf("long name: %+v", r)
	}
	if r = tn.run(nil, Env{}, "enroll", link, "--force"); r.code != 0 {
		t.Fatalf("the refused name used the link up: %+v", r)
	}
	r = tn.run(nil, Env{}, "enroll", "http://acme.example.com/m/enroll?id=x&secret=y")
	if r.code != 1 || !strings.Contains(r.stderr, "https") {
		t.Fatalf("plain http link: %+v", r)
	}
}

func TestEnrollThenWaitOnceAutoApprove_R28_R30(t *testing.T) {
	tn := newTenant(t, fakeserver.Config{})
	id := tn.enroll()
	ch := tn.push(id)
	r := tn.run(nil, Env{}, "wait", "--once", "--auto", "approve", "--number", strconv.Itoa(ch.Number))
	if r.code != 0 {
		t.Fatalf("wait: %+v", r)
	}
	for _, want := range []string{"password reset at Acme", "203.0.113.7", "Firefox on Windows", "Self-service portal", "Time left:", "Approved"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if s := tn.stateOf(ch.CID); s != challenge.StateApproved {
		t.Fatalf("challenge %s", s)
	}
}

func TestWaitInteractivePrompt_R28(t *testing.T) {
	tn := newTenant(t, fakeserver.Config{})
	id := tn.enroll()

	ch := tn.push(id)
	r := tn.run(strings.NewReader("what?\n"+strconv.Itoa(ch.Number)+"\n"), Env{}, "wait", "--once")
	if r.code != 0 || strings.Count(r.stdout, "Type the number shown in your browser (or d to deny, r to report this wasn't me): ") != 2 {
		t.Fatalf("%+v", r)
	}
	if s := tn.stateOf(ch.CID); s != challenge.StateApproved {
		t.Fatalf("right number typed: %s", s)
	}

	ch = tn.push(id)
	r = tn.run(strings.NewReader(strconv.Itoa(otherNumber(ch.Number))+"\n"), Env{}, "wait", "--once")
	if r.code != 1 || r.stderr != "latchkey-authenticator: That number was wrong; the request was denied.\n" {
		t.Fatalf("wrong number: %+v", r)
	}
	if s := tn.stateOf(ch.CID); s != challenge.StateDenied {
		t.Fatalf("wrong number typed: %s", s)
	}

	ch = tn.push(id)
	if r = tn.run(strings.NewReader("d\n"), Env{}, "wait", "--once"); r.code != 0 || !strings.Contains(r.stdout, "Denied") {
		t.Fatalf("deny: %+v", r)
	}
	if s := tn.stateOf(ch.CID); s != challenge.StateDenied {
		t.Fatalf("deny: %s", s)
	}
}

func TestWaitReportFreezes_R29(t *testing.T) {
	tn := newTenant(t, fakeserver.Config{})
	id := tn.enroll()
	ch := tn.push(id)
	r := tn.run(strings.NewReader("r\n"), Env{}, "wait", "--once")
	if r.code != 0 || !strings.Contains(r.stdout, "Reported") || tn.stateOf(ch.CID) != challenge.StateReported {
		t.Fatalf("%+v", r)
	}
}

func TestWaitPushListen_R33(t *testing.T) {
	tn := newTenant(t, fakeserver.Config{})
	id := tn.enroll("--push-token", "fcm-token-of-this-laptop")
	listen, done := startPushWait(t, func(env Env, args ...string) result { return tn.run(nil, env, args...) }, "--auto", "deny")
	ch := tn.push(id)
	// Forward what the fake FCM captured.
	msg := <-tn.fake.FCM()
	if msg.Token != "fcm-token-of-this-laptop" {
		t.Fatalf("FCM message to %q", msg.Token)
	}
	body, _ := json.Marshal(msg.Data)
	r := forwardPush(t, listen, body, done)
	if r.code != 0 || !strings.Contains(r.stdout, "Listening for pushed messages on http://"+listen+"/") || !strings.Contains(r.stdout, "Denied") {
		t.Fatalf("%+v", r)
	}
	if s := tn.stateOf(ch.CID); s != challenge.StateDenied {
		t.Fatalf("challenge %s", s)
	}
	// It came by push: the details were fetched, the list never was.
	var fetched bool
	for _, req := range tn.fake.Requests() {
		if req.Path == mobileclient.PathChallenges {
			t.Errorf("the pending list was polled: %+v", req)
		}
		fetched = fetched || req.Path == mobileclient.PathChallenges+"/"+ch.CID
	}
	if !fetched {
		t.Error("the pushed challenge was not fetched over the signed channel")
	}
}

func TestWaitWithoutNumberMatching(t *testing.T) {
	tn := newTenant(t, fakeserver.Config{DisableNumberMatching: true})
	id := tn.enroll()
	ch := tn.push(id)
	r := tn.run(strings.NewReader("a\n"), Env{}, "wait", "--once")
	if r.code != 0 || !strings.Contains(r.stdout, "Type a to approve") || tn.stateOf(ch.CID) != challenge.StateApproved {
		t.Fatalf("%+v", r)
	}
}

func TestWaitFlagsAreChecked(t *testing.T) {
	tn := newTenant(t, fakeserver.Config{})
	tn.enroll()
	for _, args := range [][]string{
		{"wait", "--auto", "maybe"},
		{"wait", "--auto", "deny", "--number", "12"},
		{"wait", "--number", "12"},
		{"wait", "--poll", "0"},
	} {
		if r := tn.run(nil, Env{}, args...); r.code != 1 || r.stderr == "" {
			t.Errorf("%v: %+v", args, r)
		}
	}
}

func TestDeviceCommands(t *testing.T) {
	tn := newTenant(t, fakeserver.Config{})
	id := tn.enroll()
	r := tn.run(nil, Env{}, "device")
	if r.code != 0 || !strings.Contains(r.stdout, "Device:   "+id) || !strings.Contains(r.stdout, "Name:     Ann's laptop") ||
		!strings.Contains(r.stdout, "Push:     no") {
		t.Fatalf("device: %+v", r)
	}
	if r = tn.run(nil, Env{}, "rename", "Work laptop"); r.code != 0 {
		t.Fatalf("rename: %+v", r)
	}
	if d, _ := tn.fake.Device(id); d.Name != "Work laptop" {
		t.Errorf("name on the server %q", d.Name)
	}
	if r = tn.run(nil, Env{}, "push-token", "tok-2"); r.code != 0 {
		t.Fatalf("push-token: %+v", r)
	}
	if d, _ := tn.fake.Device(id); d.PushToken != "tok-2" {
		t.Errorf("token on the server %q", d.PushToken)
	}
	if r = tn.run(nil, Env{}, "list"); r.code != 0 || r.stdout != "No pending requests.\n" {
		t.Fatalf("list: %+v", r)
	}
	ch := tn.push(id)
	if r = tn.run(nil, Env{}, "list"); r.code != 0 || !strings.Contains(r.stdout, ch.CID) || !strings.Contains(r.stdout, "password reset") {
		t.Fatalf("list: %+v", r)
	}
	if r = tn.run(nil, Env{}, "remove"); r.code != 0 || !strings.Contains(r.stdout, "Removed this device from Acme") {
		t.Fatalf("remove: %+v", r)
	}
	if d, _ := tn.fake.Device(id); !d.Removed {
		t.Error("the server still has the device")
	}
	if st, _ := state.Load(tn.state); st.Device != nil {
		t.Error("the key is still in the state file")
	}
	if r = tn.run(nil, Env{}, "list"); r.code != 1 || !strings.Contains(r.stderr, "not enrolled") {
		t.Fatalf("list after remove: %+v", r)
	}
}

func TestRemovedDeviceIsExplained(t *testing.T) {
	tn := newTenant(t, fakeserver.Config{})
	tn.enroll()
	// Removed elsewhere (the portal): the signature is no longer accepted.
	st, _ := state.Load(tn.state)
	other := *st
	d := *st.Device
	other.Device = &d
	if r := tn.run(nil, Env{}, "remove"); r.code != 0 {
		t.Fatal(r)
	}
	state.Save(tn.state, &other)
	r := tn.run(nil, Env{}, "device")
	want := "latchkey-authenticator: The server did not accept this device's signature: the device was removed, or this computer's clock is more than 60 seconds off.\n"
	if r.code != 1 || r.stderr != want {
		t.Fatalf("%+v", r)
	}
	if r = tn.run(nil, Env{}, "remove"); r.code != 1 || !strings.Contains(r.stderr, "--forget") {
		t.Fatalf("remove of a removed device: %+v", r)
	}
	if r = tn.run(nil, Env{}, "remove", "--forget"); r.code != 0 {
		t.Fatalf("remove --forget: %+v", r)
	}
	if st, _ := state.Load(tn.state); st.Device != nil {
		t.Error("--forget kept the device")
	}
}

func TestWaitEndsWhenTheDeviceIsNoLongerAccepted(t *testing.T) {
	tn := newTenant(t, fakeserver.Config{})
	tn.enroll()
	st, _ := state.Load(tn.state)
	saved := *st
	if r := tn.run(nil, Env{}, "remove"); r.code != 0 {
		t.Fatal(r)
	}
	state.Save(tn.state, &saved)
	r := tn.run(nil, Env{}, "wait", "--poll", "1s")
	if r.code != 1 || !strings.Contains(r.stderr, "did not accept this device's signature") {
		t.Fatalf("%+v", r)
	}
}

func TestTOTPCommands_R26(t *testing.T) {
	tn := newTenant(t, fakeserver.Config{})
	at := time.Date(2026, 12, 2, 10, 0, 20, 0, time.UTC)
	env := Env{Now: func() time.Time { return at }}
	if r := tn.run(nil, env, "totp"); r.code != 0 || !strings.Contains(r.stdout, "No TOTP accounts") {
		t.Fatalf("%+v", r)
	}
	const seed = "JBSWY3DPEHPK3PXP"
	uri := "otpauth://totp/Acme:ann?secret=" + seed + "&issuer=Acme&algorithm=SHA1&digits=6&period=30"
	if r := tn.run(nil, env, "totp", "add", uri); r.code != 0 || r.stdout != "Added TOTP account \"Acme (ann)\".\n" {
		t.Fatalf("add: %+v", r)
	}
	if r := tn.run(nil, env, "totp", "add", uri); r.code != 1 || !strings.Contains(r.stderr, "already") {
		t.Fatalf("duplicate: %+v", r)
	}
	if r := tn.run(nil, env, "totp", "add", uri, "--label", "second"); r.code != 0 {
		t.Fatalf("second: %+v", r)
	}
	if r := tn.run(nil, env, "totp", "add", "otpauth://hotp/x?secret="+seed); r.code != 1 {
		t.Fatalf("hotp: %+v", r)
	}
	want, _ := totp.GenerateCode(seed, at)
	r := tn.run(nil, env, "codes")
	if r.code != 0 || !strings.Contains(r.stdout, "Acme (ann)  "+want+"  10 s left\n") || !strings.Contains(r.stdout, "second      "+want+"  10 s left\n") {
		t.Fatalf("codes (want %s):\n%s", want, r.stdout)
	}
	if r := tn.run(nil, env, "totp", "remove", "second"); r.code != 0 {
		t.Fatalf("remove: %+v", r)
	}
	st, _ := state.Load(tn.state)
	if len(st.TOTP) != 1 || st.TOTP[0].Secret != seed {
		t.Fatalf("state %+v", st.TOTP)
	}
	// The seeds survive enrolling and removing a device.
	tn.enroll()
	tn.run(nil, env, "remove")
	if st, _ := state.Load(tn.state); len(st.TOTP) != 1 {
		t.Fatal("the TOTP accounts were lost")
	}
}

func TestHTTPSWithCAFile(t *testing.T) {
	fake, _ := fakeserver.New(fakeserver.Config{})
	ts := httptest.NewTLSServer(fake)
	defer ts.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o644)
	stateFile := filepath.Join(t.TempDir(), "state.json")
	run := func(args ...string) result {
		var out, errb syncBuffer
		code := Execute(context.Background(), "test", append(args, "--state", stateFile), Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader("")})
		return result{code, out.String(), errb.String()}
	}
	link, _ := fake.NewEnrollment(ts.URL, fakeserver.User{ID: "u", Username: "ann"})
	if r := run("enroll", link); r.code != 1 || !strings.Contains(r.stderr, "certificate") {
		t.Fatalf("without --ca-file: %+v", r)
	}
	if r := run("enroll", link, "--ca-file", ca); r.code != 0 || !strings.HasPrefix(link, "https://") {
		t.Fatalf("with --ca-file: %+v", r)
	}
	if r := run("device", "--ca-file", ca); r.code != 0 {
		t.Fatalf("device: %+v", r)
	}
}

func TestVersion(t *testing.T) {
	var out syncBuffer
	if code := Execute(context.Background(), "1.2.3", []string{"version"}, Env{Stdout: &out, Stderr: &out}); code != 0 || out.String() != "latchkey-authenticator 1.2.3\n" {
		t.Fatalf("%d %q", code, out.String())
	}
}
