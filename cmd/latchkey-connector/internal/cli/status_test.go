package cli

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatus(t *testing.T) {
	hub := httptest.NewServer(http.NotFoundHandler())
	defer hub.Close()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, goodConfig)
	idPath, id := writeIdentity(t, dir, "ws"+strings.TrimPrefix(hub.URL, "http")+"/connector/v1/connect")
	out, errOut, code := cli(t, "status", "--config", cfg, "--identity", idPath, "--check")
	if code != 0 {
		t.Fatalf("status: %s%s", out, errOut)
	}
	for _, want := range []string{id.TenantID, "conn-test", id.HubURL, "SHA-256 " + Fingerprint(id.CommandKey),
		"ldaps://127.0.0.1:1 (dialect ad)", "OU=Staff,DC=acme,DC=local", "admin accounts (adminCount=1) on",
		"CN=Domain Admins,CN=Users,DC=acme,DC=local", "120 writes per minute, bursts of 30", "✓ " + hub.URL + "/ answered (HTTP 404)"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"s3cret", base64.StdEncoding.EncodeToString(id.SignKey), base64.StdEncoding.EncodeToString(id.SealKey)} {
		if strings.Contains(out, secret) {
			t.Fatal("status printed a secret")
		}
	}

	// No OUs: the warning; an unreachable hub and a missing identity fail.
	noOU := writeConfig(t, t.TempDir(), strings.Replace(goodConfig, `"ous": ["OU=Staff,DC=acme,DC=local"]`, `"ous": []`, 1))
	hub.Close()
	out, _, code = cli(t, "status", "--config", noOU, "--identity", idPath, "--check")
	if code != 1 || !strings.Contains(out, "EVERY account") || !strings.Contains(out, "✗") || !strings.Contains(out, "not reachable") {
		t.Fatalf("status without OUs, hub down: %d\n%s", code, out)
	}
	os.Remove(idPath)
	out, _, code = cli(t, "status", "--config", cfg, "--identity", filepath.Join(dir, "identity.json"))
	if code != 1 || !strings.Contains(out, "enroll") {
		t.Fatalf("status without identity: %d\n%s", code, out)
	}
}
