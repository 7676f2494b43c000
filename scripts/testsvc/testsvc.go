// Package testsvc tells tests where the real services they need are running
// (PostgreSQL, Samba AD DC, slapd, Chromium, …).
//
// scripts/testenv up starts them on loopback and writes their addresses to
// .testenv/env at the repository root as KEY=VALUE lines; the same keys may also
// come from the environment, which wins. A test that needs a service calls
// Require: when the service is not configured the test is skipped on a
// developer's machine and FAILS under CI (CI=true), so a missing service can
// never turn into a green run.
package testsvc

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	loadOnce sync.Once
	fileVars map[string]string
)

// Lookup returns the value of key from the environment or from .testenv/env.
func Lookup(key string) (string, bool) {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v, true
	}
	loadOnce.Do(load)
	v, ok := fileVars[key]
	return v, ok && v != ""
}

// Require returns the value of key, or skips (developer machine) or fails (CI)
// the test when the service is not configured.
func Require(t testing.TB, key string) string {
	t.Helper()
	if v, ok := Lookup(key); ok {
		return v
	}
	msg := key + " is not set: start the test services with `scripts/testenv up` (or set it in the environment)"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// InCI reports whether the tests run under CI, where missing services fail.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1" || v == "yes"
}

// Root returns the repository root (the directory holding go.mod), or "".
func Root() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func load() {
	fileVars = map[string]string{}
	root := Root()
	if root == "" {
		return
	}
	f, err := os.Open(filepath.Join(root, ".testenv", "env"))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		fileVars[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
}
