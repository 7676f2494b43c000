package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/tenants"
)

func TestDiff(t *testing.T) {
	yes, no := true, false
	at := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	base := func() tenants.Tenant {
		return tenants.Tenant{
			ID: "x", Slug: "acme", CreatedAt: at,
			Branding: tenants.Branding{Logo: []byte{0, 1, 2}},
			Policy: tenants.Policy{
				SMSEnabled: &no,
				Actions:    map[tenants.Action]*tenants.ActionPolicy{tenants.ActionReset: {Enabled: &yes}},
			},
		}
	}
	tests := []struct {
		name   string
		change func(*tenants.Tenant)
		want   string // substring of the difference; "" for equal
	}{
		{"identical", func(*tenants.Tenant) {}, ""},
		{"same instant in another zone", func(x *tenants.Tenant) { x.CreatedAt = at.In(time.FixedZone("Z", 3600)) }, ""},
		{"scalar", func(x *tenants.Tenant) { x.Slug = "other" }, ".Slug"},
		{"time", func(x *tenants.Tenant) { x.CreatedAt = at.Add(time.Microsecond) }, ".CreatedAt"},
		{"bytes", func(x *tenants.Tenant) { x.Branding.Logo = []byte{0, 1, 3} }, ".Branding.Logo[2]"},
		{"false vs nil pointer", func(x *tenants.Tenant) { x.Policy.SMSEnabled = nil }, ".Policy.SMSEnabled"},
		{"false vs true", func(x *tenants.Tenant) { x.Policy.SMSEnabled = &yes }, ".Policy.SMSEnabled"},
		{"map value", func(x *tenants.Tenant) { x.Policy.Actions[tenants.ActionReset] = &tenants.ActionPolicy{Enabled: &no} }, ".Policy.Actions[reset].Enabled"},
		{"map key", func(x *tenants.Tenant) {
			x.Policy.Actions = map[tenants.Action]*tenants.ActionPolicy{tenants.ActionUnlock: {Enabled: &yes}}
		}, "missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := base()
			tc.change(&got)
			d := diff(got, base())
			if tc.want == "" && d != "" {
				t.Errorf("diff = %q, want equal", d)
			}
			if tc.want != "" && !strings.Contains(d, tc.want) {
				t.Errorf("diff = %q, want it to mention %q", d, tc.want)
			}
		})
	}
	if d := diff([]string(nil), []string{}); d != "" {
		t.Errorf("nil vs empty slice: %q", d)
	}
	if d := diff(map[string]string(nil), map[string]string{}); d != "" {
		t.Errorf("nil vs empty map: %q", d)
	}
}
