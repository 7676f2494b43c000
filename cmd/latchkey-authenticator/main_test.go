package main

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/fakeserver"
	"github.com/latchkey/latchkey/push/challenge"
)

// TestBinary builds the command and runs it as a process: version, enroll
// and one auto-approved request against the fake server.
func TestBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "latchkey-authenticator")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.version=9.9.9", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "HOME="+dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("version"); err != nil || out != "latchkey-authenticator 9.9.9\n" {
		t.Fatalf("version: %q, %v", out, err)
	}
	fake, err := fakeserver.New(fakeserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(fake)
	defer ts.Close()
	link, _ := fake.NewEnrollment(ts.URL, fakeserver.User{ID: "u1", Username: "ann"})
	if out, err := run("enroll", link); err != nil || out != "Enrolled as ann at Acme\n" {
		t.Fatalf("enroll: %q, %v", out, err)
	}
	// The default state file is under the user config directory, mode 0600.
	fi, err := os.Stat(filepath.Join(dir, "config", "latchkey-authenticator", "state.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("default state file: %v, %v", fi, err)
	}
	out, err := run("device")
	id := strings.TrimSpace(strings.TrimPrefix(strings.Split(out, "\n")[1], "Device:"))
	if err != nil || id == "" {
		t.Fatalf("device: %q, %v", out, err)
	}
	ch, err := fake.Push(id, "unlock", challenge.Context{TenantName: "Acme", IP: "203.0.113.7", Browser: "Safari on iPhone"})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := run("wait", "--once", "--auto", "approve", "--number", strconv.Itoa(ch.Number)); err != nil || !strings.Contains(out, "account unlock at Acme") || !strings.Contains(out, "Approved") {
		t.Fatalf("wait: %q, %v", out, err)
	}
	if out, err := run("list"); err != nil || out != "No pending requests.\n" {
		t.Fatalf("list: %q, %v", out, err)
	}
	// Errors go to stderr with exit status 1.
	out, err = run("enroll", link, "--force")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out, "already used") {
		t.Fatalf("reused link: %q, %v", out, err)
	}
}
