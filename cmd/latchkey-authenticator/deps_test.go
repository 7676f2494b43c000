package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The reference authenticator is what app teams read and what runs on
// users' computers: it must stay a plain HTTP client of the documented API,
// with none of the control plane's web framework, databases, FCM sender or
// server code. (Its tests may use more; this checks the binary.)
var forbidden = []string{
	"github.com/gofiber/",
	"github.com/valyala/fasthttp",
	"github.com/jackc/pgx",
	"modernc.org/sqlite",
	"firebase.google.com/",
	"github.com/latchkey/latchkey/portal",
	"github.com/latchkey/latchkey/mobile-api",
	"github.com/latchkey/latchkey/push/approval",
	"github.com/latchkey/latchkey/push/fcm",
	"github.com/latchkey/latchkey/tenants/store",
	"github.com/latchkey/latchkey/connector",
	"github.com/latchkey/latchkey/cmd/latchkey/",
	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/fakeserver",
}

func TestBinaryIsOnlyAnAPIClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	have := map[string]bool{}
	for _, d := range deps {
		have[d] = true
		for _, f := range forbidden {
			if strings.HasPrefix(d, f) || d == strings.TrimSuffix(f, "/") {
				t.Errorf("the binary imports %s (forbidden: %s)", d, f)
			}
		}
	}
	// The check looks at the right package: these must be there.
	for _, want := range []string{"github.com/latchkey/latchkey/push/challenge", "github.com/pquerna/otp/totp", "github.com/spf13/cobra"} {
		if !have[want] {
			t.Errorf("%s is not a dependency: is the check looking at the right package?", want)
		}
	}
}
