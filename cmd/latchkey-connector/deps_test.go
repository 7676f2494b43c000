package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The connector binary ships on customers' servers: it must not carry the
// control plane's database drivers, web framework, push or mobile code, nor
// any control-plane package.
var forbidden = []string{
	"github.com/jackc/pgx",
	"github.com/gofiber/",
	"github.com/valyala/fasthttp",
	"firebase.google.com/",
	"modernc.org/sqlite",
	"github.com/mattn/go-sqlite3",
	"github.com/latchkey/latchkey/tenants",
	"github.com/latchkey/latchkey/portal",
	"github.com/latchkey/latchkey/push",
	"github.com/latchkey/latchkey/mobile-api",
	"github.com/latchkey/latchkey/mobileapi",
	"github.com/latchkey/latchkey/connector/hub",
	"github.com/latchkey/latchkey/connector/directory/demodir",
	"github.com/latchkey/latchkey/cmd/latchkey",
}

// forbiddenIn returns the entry of forbidden that d falls under, or "".
func forbiddenIn(d string) string {
	if d == "github.com/latchkey/latchkey/cmd/latchkey-connector" || strings.HasPrefix(d, "github.com/latchkey/latchkey/cmd/latchkey-connector/") {
		return "" // this binary shares its prefix with cmd/latchkey
	}
	for _, f := range forbidden {
		if d == strings.TrimSuffix(f, "/") || strings.HasPrefix(d, strings.TrimSuffix(f, "/")+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(d, f)) {
			return f
		}
	}
	return ""
}

func listDeps(t *testing.T, goos, pkg string, flags ...string) map[string]bool {
	t.Helper()
	cmd := exec.Command("go", append(append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, flags...), pkg)...)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps %s (GOOS=%s): %v\n%s", pkg, goos, err, stderr)
	}
	deps := map[string]bool{}
	for _, d := range strings.Fields(string(out)) {
		deps[d] = true
	}
	return deps
}

func TestBinaryImportsNoControlPlaneCode(t *testing.T) {
	// The check itself works: the control plane does import what we forbid.
	cp := listDeps(t, "linux", "../latchkey", "-e") // -e: another change in progress there must not fail this test
	if !cp["github.com/jackc/pgx/v5"] || forbiddenIn("github.com/jackc/pgx/v5") == "" || forbiddenIn("github.com/latchkey/latchkey/cmd/latchkey") == "" {
		t.Fatal("the forbidden-import check does not catch the control plane's own imports")
	}
	for _, goos := range []string{"linux", "windows"} {
		deps := listDeps(t, goos, ".")
		for d := range deps {
			if f := forbiddenIn(d); f != "" {
				t.Errorf("GOOS=%s: the connector binary imports %s (forbidden: %s)", goos, d, f)
			}
		}
		for _, want := range []string{"github.com/latchkey/latchkey/connector/agent", "github.com/latchkey/latchkey/connector/directory"} {
			if !deps[want] {
				t.Errorf("GOOS=%s: %s is not a dependency: is the check looking at the right package?", goos, want)
			}
		}
		if goos == "windows" && !deps["golang.org/x/sys/windows/svc"] {
			t.Error("the Windows build does not include the service support")
		}
	}
}
