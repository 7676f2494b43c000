//go:build !windows

package cli

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestUnitGolden(t *testing.T) {
	for name, p := range map[string]unitParams{
		"latchkey-connector.service": {Exe: "/usr/local/bin/latchkey-connector", Config: "/etc/latchkey-connector/config.json",
			Identity: "/etc/latchkey-connector/identity.json", BindPasswordFile: "/etc/latchkey-connector/bind-password"},
		"latchkey-connector-envpw.service": {Exe: "/usr/local/bin/latchkey-connector", Config: "/etc/latchkey-connector/config.json",
			Identity: "/etc/latchkey-connector/identity.json", EnvFile: "/etc/latchkey-connector/environment",
			HubCAFile: "/etc/latchkey-connector/hub-ca.pem"},
	} {
		got, err := renderUnit(p)
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", name)
		if *update {
			os.MkdirAll("testdata", 0o755)
			os.WriteFile(golden, got, 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from the golden file:\n%s", name, got)
		}
	}
	u, _ := renderUnit(unitParams{Exe: "/x/latchkey-connector", Config: "/c", Identity: "/i"})
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=latchkey-connector", "NoNewPrivileges=yes", "ProtectSystem=strict",
		"ProtectHome=yes", "PrivateTmp=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "Restart=on-failure",
		"ExecStart=/x/latchkey-connector run ", "RestartPreventExitStatus=3"} {
		if !strings.Contains(string(u), want+"\n") && !strings.Contains(string(u), want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	for _, bad := range []unitParams{
		{Exe: "latchkey-connector", Config: "/c", Identity: "/i"},
		{Exe: "/x", Config: "c.json", Identity: "/i"},
		{Exe: "/x", Config: "/c", Identity: "/my identity.json"},
		{Exe: "/x", Config: "/c", Identity: "/i", BindPasswordFile: "/p%h"},
		{Exe: "/x", Config: "/c\nExecStartPre=/bin/sh", Identity: "/i"},
	} {
		if _, err := renderUnit(bad); err == nil {
			t.Errorf("rendered a unit from %+v", bad)
		}
	}
}

func TestInstallAndUninstallWithNoStart(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, goodConfig)
	idPath, _ := writeIdentity(t, dir, "wss://hub.example.com/connector/v1/connect")
	unitDir := filepath.Join(dir, "systemd")
	out, errOut, code := cli(t, "install", "--config", cfg, "--identity", idPath, "--unit-dir", unitDir, "--no-start")
	if code != 0 {
		t.Fatalf("install: %s", errOut)
	}
	unit := filepath.Join(unitDir, "latchkey-connector.service")
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	for _, want := range []string{"ExecStart=" + exe + " run --config %d/config --identity %d/identity", "LoadCredential=config:" + cfg,
		"LoadCredential=identity:" + idPath, "LoadCredential=bind-password:" + filepath.Join(dir, "bind-password"), "--bind-password-file %d/bind-password"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("unit lacks %q:\n%s", want, b)
		}
	}
	if !strings.Contains(out, unit) || !strings.Contains(out, "systemctl") {
		t.Errorf("install output: %s", out)
	}

	if _, errOut, code := cli(t, "uninstall", "--unit-dir", unitDir, "--no-start"); code != 0 {
		t.Fatalf("uninstall: %s", errOut)
	}
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Fatalf("the unit is still there: %v", err)
	}
	if out, _, code := cli(t, "uninstall", "--unit-dir", unitDir, "--no-start"); code != 0 || !strings.Contains(out, "not installed") {
		t.Fatalf("second uninstall: %d %s", code, out)
	}

	// install refuses a wrong configuration or identity before writing anything
	_, errOut, code = cli(t, "install", "--config", filepath.Join(dir, "nope.json"), "--identity", idPath, "--unit-dir", unitDir, "--no-start")
	if code == 0 || !strings.Contains(errOut, "nope.json") {
		t.Fatalf("install with a missing config: %s", errOut)
	}
	_, errOut, code = cli(t, "install", "--config", cfg, "--identity", filepath.Join(dir, "none"), "--unit-dir", unitDir, "--no-start")
	if code == 0 || !strings.Contains(errOut, "enroll") {
		t.Fatalf("install without an identity: %s", errOut)
	}
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Fatal("a refused install wrote the unit")
	}
}
