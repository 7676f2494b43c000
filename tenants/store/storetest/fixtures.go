package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// richPolicy exercises every shape the policy JSON has: pointers (including a
// false boolean, which must not turn into nil), nested maps and slices.
func richPolicy() tenants.Policy {
	yes, no := true, false
	return tenants.Policy{
		Password: &tenants.PasswordPolicy{MinLength: 12, RequiredClasses: 3, BannedWords: []string{"acme", "winter"}, History: 24},
		Actions: map[tenants.Action]*tenants.ActionPolicy{
			tenants.ActionReset: {Enabled: &yes, Channels: map[tenants.Channel]*tenants.ChannelRule{
				tenants.ChannelWeb:    {Allowed: []tenants.Factor{tenants.FactorEmail, tenants.FactorTOTP, tenants.FactorPasskey}, Required: 2},
				tenants.ChannelMobile: {Allowed: []tenants.Factor{tenants.FactorPush}, Required: 1},
			}},
			tenants.ActionUnlock: {Enabled: &no},
		},
		SMSEnabled:   &no,
		EmailEnabled: &yes,
	}
}

// logoBytes holds every byte value, so that an encoding that mangles NUL or
// high bytes shows up.
func logoBytes() []byte {
	b := make([]byte, 0, 512)
	for i := range 512 {
		b = append(b, byte(i*7))
	}
	return b
}

func richBranding() tenants.Branding {
	return tenants.Branding{
		DisplayName:     "Acme Corp ✓",
		PrimaryColor:    "#112233",
		AccentColor:     "#ffeedd",
		Logo:            logoBytes(),
		LogoContentType: "image/png",
		SupportText:     "Call the help desk on 1234 — \"quotes\" and 'apostrophes'",
	}
}

// auditTime is caller-supplied, not in UTC and with a sub-second part of
// microsecond precision: it must come back as the same instant in UTC.
var auditTime = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.FixedZone("UTC+5:30", 5*3600+1800))

// wantUTC fails the test unless every time is non-zero and in UTC.
func wantUTC(t *testing.T, what string, times ...time.Time) {
	t.Helper()
	for i, tm := range times {
		if tm.IsZero() {
			t.Errorf("%s: time %d is zero", what, i)
		} else if tm.Location() != time.UTC {
			t.Errorf("%s: time %d is in %v, want UTC", what, i, tm.Location())
		}
	}
}

// concurrently runs workers goroutines that each call op n times and returns
// how many calls succeeded. ErrConflict (a lost optimistic update the caller
// may retry) is allowed; any other error fails the test.
func concurrently(t *testing.T, workers, n int, op func() error) int {
	t.Helper()
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				err := op()
				switch {
				case err == nil:
					mu.Lock()
					ok++
					mu.Unlock()
				case errors.Is(err, store.ErrConflict):
				default:
					t.Errorf("concurrent call: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if ok == 0 {
		t.Errorf("no concurrent call succeeded")
	}
	return ok
}

// hostsOf returns the tenant's hosts by name.
func hostsOf(t *testing.T, ts store.TenantStore) map[string]tenants.Host {
	t.Helper()
	hs, err := ts.ListHosts(ctx(t))
	must(t, "ListHosts", err)
	m := make(map[string]tenants.Host, len(hs))
	for _, h := range hs {
		m[h.Host] = h
	}
	return m
}

// wantPrimary fails the test unless exactly the host primary (or none, when
// it is empty) is marked Primary among the tenant's hosts.
func wantPrimary(t *testing.T, ts store.TenantStore, primary string) {
	t.Helper()
	for name, h := range hostsOf(t, ts) {
		if h.Primary != (name == primary) {
			t.Errorf("host %s: Primary = %v, want %v", name, h.Primary, name == primary)
		}
	}
}
