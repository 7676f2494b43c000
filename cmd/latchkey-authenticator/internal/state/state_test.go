package state

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/totpcodes"
)

func TestSaveIsPrivateAndLoadsBack_R32(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not how Windows protects the file")
	}
	path := filepath.Join(t.TempDir(), "new", "state.json")
	st := &State{
		Device: &Device{BaseURL: "https://acme.example.com", DeviceID: "d1", KeyID: "k1", PrivateKeyPEM: "-----BEGIN PRIVATE KEY-----\n…",
			Username: "ann", TenantName: "Acme", EnrolledAt: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)},
		TOTP: []totpcodes.Entry{{Label: "Acme", Secret: "JBSWY3DPEHPK3PXP", Algorithm: "SHA1", Digits: 6, Period: 30}},
	}
	if err := Save(path, st); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	di, _ := os.Stat(filepath.Dir(path))
	if di.Mode().Perm() != 0o700 {
		t.Errorf("new directory mode %v; want 0700", di.Mode().Perm())
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if *back.Device != *st.Device || len(back.TOTP) != 1 || back.TOTP[0] != st.TOTP[0] || back.Version != Version {
		t.Fatalf("loaded %+v", back)
	}
	// Replacing keeps the mode and leaves no temporary file.
	back.Device = nil
	if err := Save(path, back); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files after a replace", len(entries))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after replace %v", fi.Mode().Perm())
	}
	if _, err := back.RequireDevice(); err != ErrNotEnrolled {
		t.Errorf("RequireDevice after removal: %v", err)
	}
}

func TestLoadRefusesAFileOthersCanRead(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not how Windows protects the file")
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := Save(path, &State{}); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Load of a 0644 file: %v", err)
	}
}

func TestLoadMissingIsEmptyAndBadIsAnError(t *testing.T) {
	dir := t.TempDir()
	st, err := Load(filepath.Join(dir, "none.json"))
	if err != nil || st.Device != nil || len(st.TOTP) != 0 {
		t.Fatalf("missing file: %+v, %v", st, err)
	}
	for name, content := range map[string]string{"junk": "{", "future": `{"version": 2}`} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		if _, err := Load(p); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func TestDefaultPathIsUnderTheUserConfigDir(t *testing.T) {
	dir, err := os.UserConfigDir()
	if err != nil {
		t.Skip("no user config dir here")
	}
	if got := DefaultPath(); got != filepath.Join(dir, "latchkey-authenticator", "state.json") {
		t.Errorf("DefaultPath() = %q", got)
	}
}
