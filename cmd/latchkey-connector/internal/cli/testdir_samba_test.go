package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/connector/directory/dirtest"
)

// TestTestDirectoryAgainstSamba runs `latchkey-connector test-directory` on
// the real Samba DC with the delegated service account (R43, R50): every check
// passes for a user inside the delegated OU, it reports the DC certificate's
// SHA-256 and that Samba enforces no history on reset; for a user outside the
// delegated OU the rights dry run fails and so does the command.
func TestTestDirectoryAgainstSamba(t *testing.T) {
	env := dirtest.Samba(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, _ := json.Marshal(map[string]any{
		"directory": map[string]any{"urls": []string{env.URL}, "dialect": "ad", "ca_file": write("ca.pem", env.CAPEM),
			"bind_dn": env.BindDN, "bind_password_file": write("pw", []byte(env.BindPassword)), "base_dn": env.BaseDN},
		"scope": map[string]any{"ous": []string{env.ScopeOU}},
	})
	config := write("config.json", cfg)

	inside := env.NewUser(t, env.ScopeOU)
	out, errOut, code := cli(t, "test-directory", "--config", config, "--user", inside.Login)
	if code != 0 {
		t.Fatalf("test-directory for a delegated user: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{env.CertSHA256, "NOT enforced", inside.Login} {
		if !strings.Contains(out, want) {
			t.Errorf("test-directory output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, env.BindPassword) {
		t.Fatal("test-directory printed the service account's password")
	}

	outside := env.NewUser(t, env.OtherOU)
	out, errOut, code = cli(t, "test-directory", "--config", config, "--user", outside.Login)
	if code == 0 {
		t.Fatalf("test-directory for a user outside the delegation passed:\n%s%s", out, errOut)
	}
	if !strings.Contains(out, "✗") {
		t.Errorf("no failed check shown:\n%s", out)
	}
}
