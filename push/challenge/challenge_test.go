package challenge

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/tenants"
)

func TestIssueDefaults(t *testing.T) {
	clock := newFakeClock()
	is, err := NewIssuer(Config{Rand: &seqReader{}, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	c, err := is.Issue(f.request())
	if err != nil {
		t.Fatal(err)
	}
	if c.CID != "000102030405060708090a0b0c0d0e0f" {
		t.Errorf("cid %q: want the 16 bytes of the injected reader in hex", c.CID)
	}
	if c.Number != 10+16 { // next byte is 16
		t.Errorf("number %d, want 26 from the injected reader", c.Number)
	}
	if got := c.ExpiresAt.Sub(c.CreatedAt); got != MaxLifetime {
		t.Errorf("lifetime %v, want %v", got, MaxLifetime)
	}
	if c.State != StatePending || c.Tenant != tenantA || c.UserID != "user-1" || c.DeviceID != "device-1" || c.Purpose != tenants.ActionReset {
		t.Errorf("challenge %+v", c)
	}
}

// TestContextFieldsPresent (security.md R30): the challenge carries purpose
// and the context the phone shows.
func TestContextFieldsPresent(t *testing.T) {
	f := newFixture(t)
	c := f.issue(t)
	ctx := c.Context
	if ctx.Action != tenants.ActionReset || ctx.TenantName != "Acme Corp" || ctx.App == "" || ctx.IP != "203.0.113.7" ||
		ctx.Geo == "" || ctx.Browser != "Firefox on Windows" || !ctx.Time.Equal(f.clock.Now()) {
		t.Errorf("context %+v", ctx)
	}
}

func TestNumberIsTwoDigitsAndUniformSampling(t *testing.T) {
	// Bytes ≥ 180 are skipped so that every number is equally likely.
	n, err := newNumber(strings.NewReader("\xff\xb4\xb3"))
	if err != nil || n != 10+0xb3%90 {
		t.Fatalf("newNumber = %d, %v", n, err)
	}
	if _, err := newNumber(strings.NewReader("\xff")); err == nil {
		t.Fatal("newNumber with an exhausted reader: no error")
	}
	f := newFixture(t)
	for range 500 {
		c := f.issue(t)
		if c.Number < 10 || c.Number > 99 {
			t.Fatalf("number %d", c.Number)
		}
	}
}

func TestIssuerConfig(t *testing.T) {
	for _, d := range []time.Duration{121 * time.Second, time.Hour, -time.Second, time.Millisecond} {
		if _, err := NewIssuer(Config{Lifetime: d}); err == nil {
			t.Errorf("lifetime %v accepted", d)
		}
	}
	clock := newFakeClock()
	is, err := NewIssuer(Config{Lifetime: 60 * time.Second, DisableNumberMatching: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c, err := is.Issue(newFixture(t).request())
	if err != nil {
		t.Fatal(err)
	}
	if c.ExpiresAt.Sub(c.CreatedAt) != 60*time.Second || c.Number != 0 {
		t.Errorf("lifetime %v number %d", c.ExpiresAt.Sub(c.CreatedAt), c.Number)
	}
}

func TestIssueRefusesBadRequests(t *testing.T) {
	f := newFixture(t)
	for name, mutate := range map[string]func(*Request){
		"no tenant":       func(r *Request) { r.Tenant = "" },
		"no user":         func(r *Request) { r.UserID = "" },
		"no device":       func(r *Request) { r.DeviceID = "" },
		"unknown purpose": func(r *Request) { r.Purpose = "delete" },
		"other action":    func(r *Request) { r.Context.Action = tenants.ActionUnlock },
		"no IP":           func(r *Request) { r.Context.IP = "" },
		"no browser":      func(r *Request) { r.Context.Browser = "" },
		"no tenant name":  func(r *Request) { r.Context.TenantName = "" },
		"newline":         func(r *Request) { r.Context.Browser = "Firefox\nApprove this!" },
		"bidi override":   func(r *Request) { r.Context.TenantName = "Acme\u202e" },
		"too long":        func(r *Request) { r.Context.Browser = strings.Repeat("x", 201) },
		"invalid utf-8":   func(r *Request) { r.Context.Geo = "\xff" },
	} {
		req := f.request()
		mutate(&req)
		if _, err := f.issuer.Issue(req); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

func TestStateMachine(t *testing.T) {
	for _, to := range []State{StateApproved, StateDenied, StateExpired, StateReported} {
		if !CanTransition(StatePending, to) {
			t.Errorf("pending → %s refused", to)
		}
		for _, from := range []State{StateApproved, StateDenied, StateExpired, StateReported} {
			if CanTransition(from, to) {
				t.Errorf("%s → %s allowed", from, to)
			}
		}
	}
	if CanTransition(StatePending, StatePending) {
		t.Error("pending → pending allowed")
	}
	f := newFixture(t)
	c := f.issue(t)
	if c.StateAt(c.ExpiresAt.Add(-time.Second)) != StatePending || c.StateAt(c.ExpiresAt) != StateExpired {
		t.Error("StateAt around expiry")
	}
}
