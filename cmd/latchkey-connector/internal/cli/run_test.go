package cli

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/connector/agent"
)

// writeIdentity saves a valid identity and returns its path.
func writeIdentity(t *testing.T, dir, hubURL string) (string, agent.Identity) {
	t.Helper()
	sign, sealPriv, _, err := agent.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	cmdPub, _, _ := ed25519.GenerateKey(nil)
	id := agent.Identity{HubURL: hubURL, TenantID: "11111111-1111-4111-8111-111111111111", ConnectorID: "conn-test",
		SignKey: sign, SealKey: sealPriv, CommandKey: cmdPub}
	p := filepath.Join(dir, "identity.json")
	if err := agent.SavePrivate(p, id); err != nil {
		t.Fatal(err)
	}
	return p, id
}

const goodConfig = `{
  "directory": {
    "urls": ["ldaps://127.0.0.1:1"],
    "bind_dn": "CN=svc-latchkey,OU=Services,DC=acme,DC=local",
    "bind_password_file": "%PW%",
    "base_dn": "DC=acme,DC=local"
  },
  "domains": ["acme.local"],
  "scope": {"ous": ["OU=Staff,DC=acme,DC=local"], "protected_groups": ["CN=Domain Admins,CN=Users,DC=acme,DC=local"]}
}`

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	pw := filepath.Join(dir, "bind-password")
	os.WriteFile(pw, []byte("s3cret-Bind-pw\n"), 0o600)
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(body, "%PW%", pw)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunWithABadConfigSaysWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	idPath, _ := writeIdentity(t, dir, "ws://127.0.0.1:1/connector/v1/connect")
	state := filepath.Join(dir, "state")
	for name, c := range map[string]struct {
		config string // "" = no file
		want   []string
	}{
		"missing file":  {"", []string{"config.json", "no such file", "--config"}},
		"not JSON":      {"{", []string{"config.json", "unexpected EOF"}},
		"unknown field": {`{"directory":{"url":"ldaps://x"}}`, []string{`unknown field "url"`}},
		"bad dialect": {strings.Replace(goodConfig, `"base_dn"`, `"dialect": "novell", "base_dn"`, 1),
			[]string{`directory.dialect: "novell" is neither ad nor openldap`}},
		"plain ldap scheme": {strings.Replace(goodConfig, "ldaps://127.0.0.1:1", "http://dc1", 1),
			[]string{"URLs[0]", "scheme must be ldaps or ldap"}},
		"no password": {strings.Replace(goodConfig, `"bind_password_file": "%PW%",`, "", 1),
			[]string{"bind_password_file or bind_password_env is required"}},
		"missing password file": {strings.Replace(goodConfig, "%PW%", "/nonexistent/pw", 1),
			[]string{"directory.bind_password_file", "/nonexistent/pw"}},
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			cfg := filepath.Join(d, "config.json")
			if c.config != "" {
				cfg = writeConfig(t, d, c.config)
			}
			_, errOut, code := cli(t, "run", "--config", cfg, "--identity", idPath, "--state-dir", state)
			if code == 0 {
				t.Fatal("run succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("error %q lacks %q", errOut, w)
				}
			}
			if strings.Contains(errOut, "s3cret") {
				t.Fatal("the bind password is in the error")
			}
		})
	}
}

func TestRunWithABadIdentitySaysWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, goodConfig)
	_, errOut, code := cli(t, "run", "--config", cfg, "--identity", filepath.Join(dir, "none.json"), "--state-dir", dir)
	if code == 0 || !strings.Contains(errOut, "latchkey-connector enroll") {
		t.Fatalf("missing identity: %s", errOut)
	}
	idPath, _ := writeIdentity(t, dir, "ws://127.0.0.1:1/x")
	os.Chmod(idPath, 0o644)
	_, errOut, code = cli(t, "run", "--config", cfg, "--identity", idPath, "--state-dir", dir)
	if code == 0 || !strings.Contains(errOut, "readable by others") || !strings.Contains(errOut, "chmod 600") {
		t.Fatalf("world-readable identity: %s", errOut)
	}
}

// With a good configuration run starts, keeps retrying an unreachable hub,
// logs JSON with the connector id (and no secret) and stops cleanly on
// cancellation.
func TestRunStartsAndStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, goodConfig)
	idPath, _ := writeIdentity(t, dir, "ws://127.0.0.1:1/connector/v1/connect")
	ctx, cancel := context.WithCancel(context.Background())
	var logs strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- runConnector(ctx, runOptions{Config: cfg, Identity: idPath, StateDir: filepath.Join(dir, "state"), Version: "test"}, &syncWriter{b: &logs})
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	out := logs.String()
	if !strings.Contains(out, `"connector_id":"conn-test"`) || !strings.Contains(out, `"msg":"connector starting"`) {
		t.Fatalf("logs: %s", out)
	}
	if strings.Contains(out, "s3cret") {
		t.Fatal("the bind password is in the logs")
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "journal.jsonl")); err != nil {
		t.Fatalf("no journal in the state dir: %v", err)
	}
}
