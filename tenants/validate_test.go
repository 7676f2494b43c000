package tenants

import (
	"errors"
	"strings"
	"testing"
)

// problems returns the "field: problem" lines of a Validate error.
func problems(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func wantProblem(t *testing.T, err error, field string) {
	t.Helper()
	for _, p := range problems(err) {
		if strings.HasPrefix(p, field+": ") {
			return
		}
	}
	t.Errorf("no problem reported for %q; got %v", field, problems(err))
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(p *Policy)
		complete bool
		field    string
	}{
		{"min length low", func(p *Policy) { p.Password.MinLength = 7 }, true, "password.min_length"},
		{"min length high", func(p *Policy) { p.Password.MinLength = 257 }, true, "password.min_length"},
		{"classes", func(p *Policy) { p.Password.RequiredClasses = 5 }, true, "password.required_classes"},
		{"classes negative", func(p *Policy) { p.Password.RequiredClasses = -1 }, false, "password.required_classes"},
		{"history", func(p *Policy) { p.Password.History = 25 }, true, "password.history"},
		{"banned word empty", func(p *Policy) { p.Password.BannedWords = []string{"ok", " "} }, true, "password.banned_words[1]"},
		{"missing password", func(p *Policy) { p.Password = nil }, true, "password"},
		{"missing sms switch", func(p *Policy) { p.SMSEnabled = nil }, true, "sms_enabled"},
		{"missing email switch", func(p *Policy) { p.EmailEnabled = nil }, true, "email_enabled"},
		{"missing action", func(p *Policy) { delete(p.Actions, ActionUnlock) }, true, "actions.unlock"},
		{"missing channel", func(p *Policy) { delete(p.Actions[ActionReset].Channels, ChannelMobile) }, true, "actions.reset.channels.mobile"},
		{"missing enabled", func(p *Policy) { p.Actions[ActionChange].Enabled = nil }, true, "actions.change.enabled"},
		{"unknown action", func(p *Policy) { p.Actions["delete"] = &ActionPolicy{} }, false, "actions.delete"},
		{"null action", func(p *Policy) { p.Actions[ActionReset] = nil }, false, "actions.reset"},
		{"unknown channel", func(p *Policy) {
			p.Actions[ActionReset].Channels["fax"] = &ChannelRule{Allowed: []Factor{FactorSMS}, Required: 1}
		}, false, "actions.reset.channels.fax"},
		{"null channel", func(p *Policy) { p.Actions[ActionReset].Channels[ChannelWeb] = nil }, false, "actions.reset.channels.web"},
		{"required zero", func(p *Policy) { p.Actions[ActionReset].Channels[ChannelWeb].Required = 0 }, false, "actions.reset.channels.web.required"},
		{"required too many", func(p *Policy) { p.Actions[ActionReset].Channels[ChannelWeb].Required = 7 }, false, "actions.reset.channels.web.required"},
		{"empty allowed", func(p *Policy) { p.Actions[ActionSignIn].Channels[ChannelDesktop].Allowed = nil }, false, "actions.signin.channels.desktop.required"},
		{"unknown factor", func(p *Policy) {
			p.Actions[ActionReset].Channels[ChannelWeb].Allowed = []Factor{FactorSMS, "carrier-pigeon"}
		}, false, "actions.reset.channels.web.allowed[1]"},
		{"duplicate factor", func(p *Policy) {
			p.Actions[ActionReset].Channels[ChannelWeb].Allowed = []Factor{FactorSMS, FactorTOTP, FactorSMS}
		}, false, "actions.reset.channels.web.allowed[2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			tt.mutate(&p)
			err := p.Validate(tt.complete)
			wantProblem(t, err, tt.field)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Errorf("error %v is not a *FieldError", err)
			}
		})
	}
	// An override may leave out anything.
	if err := (Policy{}).Validate(false); err != nil {
		t.Errorf("empty override: %v", err)
	}
	partial := Policy{Actions: map[Action]*ActionPolicy{ActionReset: {Channels: map[Channel]*ChannelRule{
		ChannelWeb: {Allowed: []Factor{FactorPush}, Required: 1}}}}}
	if err := partial.Validate(false); err != nil {
		t.Errorf("partial override: %v", err)
	}
	if err := partial.Validate(true); err == nil {
		t.Error("partial policy passes as complete")
	}
	if err := (Policy{}).Validate(true); len(problems(err)) < 3+len(Actions) {
		t.Errorf("empty complete policy: %v", problems(err))
	}
}

func validTenant() Tenant {
	return Tenant{
		ID: "t1", Slug: "acme", Name: "Acme Corp", CanonicalHost: "passwords.acme.com",
		Branding: Branding{
			DisplayName: "Acme", PrimaryColor: "#112233", AccentColor: "#AABBCC",
			Logo: append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...), LogoContentType: "image/png",
			SupportText: "Call 1234",
		},
		DefaultLocale: "de",
		Policy:        DefaultPolicy(),
	}
}

func TestTenantValidate(t *testing.T) {
	if err := validTenant().Validate(); err != nil {
		t.Fatalf("valid tenant: %v", err)
	}
	svg := validTenant()
	svg.Branding.Logo, svg.Branding.LogoContentType = []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`), "image/svg+xml"
	svg.Branding.PrimaryColor, svg.Branding.AccentColor, svg.DefaultLocale, svg.CanonicalHost = "", "", "", ""
	if err := svg.Validate(); err != nil {
		t.Fatalf("svg tenant: %v", err)
	}
	noLogo := validTenant()
	noLogo.Branding.Logo, noLogo.Branding.LogoContentType = nil, ""
	if err := noLogo.Validate(); err != nil {
		t.Fatalf("tenant without logo: %v", err)
	}

	tests := []struct {
		name   string
		mutate func(t *Tenant)
		field  string
	}{
		{"slug", func(t *Tenant) { t.Slug = "www" }, "slug"},
		{"slug case", func(t *Tenant) { t.Slug = "Acme" }, "slug"},
		{"name empty", func(t *Tenant) { t.Name = "  " }, "name"},
		{"name long", func(t *Tenant) { t.Name = strings.Repeat("ä", 101) }, "name"},
		{"name control", func(t *Tenant) { t.Name = "Acme\x00" }, "name"},
		{"canonical host invalid", func(t *Tenant) { t.CanonicalHost = "evil.com/x" }, "canonical_host"},
		{"canonical host not normal", func(t *Tenant) { t.CanonicalHost = "Passwords.Acme.com:443" }, "canonical_host"},
		{"canonical host ip", func(t *Tenant) { t.CanonicalHost = "127.0.0.1" }, "canonical_host"},
		{"canonical host ipv6", func(t *Tenant) { t.CanonicalHost = "[::1]" }, "canonical_host"},
		{"display name long", func(t *Tenant) { t.Branding.DisplayName = strings.Repeat("x", 101) }, "branding.display_name"},
		{"colour short", func(t *Tenant) { t.Branding.PrimaryColor = "#fff" }, "branding.primary_color"},
		{"colour name", func(t *Tenant) { t.Branding.AccentColor = "red" }, "branding.accent_color"},
		{"colour injection", func(t *Tenant) { t.Branding.PrimaryColor = "#12345g" }, "branding.primary_color"},
		{"colour css", func(t *Tenant) { t.Branding.PrimaryColor = "#000;}</style>" }, "branding.primary_color"},
		{"support text long", func(t *Tenant) { t.Branding.SupportText = strings.Repeat("x", 1001) }, "branding.support_text"},
		{"logo too big", func(t *Tenant) {
			t.Branding.Logo = append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 256<<10)...)
		}, "branding.logo"},
		{"logo type", func(t *Tenant) { t.Branding.LogoContentType = "image/gif" }, "branding.logo_content_type"},
		{"logo type missing", func(t *Tenant) { t.Branding.LogoContentType = "" }, "branding.logo_content_type"},
		{"png that is not", func(t *Tenant) { t.Branding.Logo = []byte("GIF89a") }, "branding.logo"},
		{"svg that is not", func(t *Tenant) { t.Branding.LogoContentType = "image/svg+xml" }, "branding.logo"},
		{"type without logo", func(t *Tenant) { t.Branding.Logo = nil }, "branding.logo_content_type"},
		{"locale", func(t *Tenant) { t.DefaultLocale = "fr" }, "default_locale"},
		{"policy incomplete", func(t *Tenant) { delete(t.Policy.Actions, ActionEnroll) }, "policy.actions.enroll"},
		{"policy field", func(t *Tenant) { t.Policy.Actions[ActionReset].Channels[ChannelWeb].Required = 0 }, "policy.actions.reset.channels.web.required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := validTenant()
			tt.mutate(&tn)
			wantProblem(t, tn.Validate(), tt.field)
		})
	}
	// A logo of exactly 256 KiB is fine.
	max := validTenant()
	max.Branding.Logo = append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 256<<10-8)...)
	if err := max.Validate(); err != nil {
		t.Errorf("256 KiB logo: %v", err)
	}
}

func TestOrganisationValidate(t *testing.T) {
	good := Organisation{Name: "Sales", Rules: []MatchRule{
		{MatchDNSuffix, "OU=Sales, DC=acme,DC=com"},
		{MatchGroup, "CN=Sales Team,OU=Groups,DC=acme,DC=com"},
		{MatchUPNDomain, "acme.com"},
		{MatchUPNDomain, "@Sales.Acme.com"},
	}, Policy: Policy{SMSEnabled: boolp(false)}}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid organisation: %v", err)
	}
	if err := (Organisation{Name: "Everyone"}).Validate(); err != nil {
		t.Fatalf("organisation without rules: %v", err)
	}
	tests := []struct {
		name  string
		o     Organisation
		field string
	}{
		{"name", Organisation{Name: ""}, "name"},
		{"name long", Organisation{Name: strings.Repeat("n", 101)}, "name"},
		{"unknown kind", Organisation{Name: "x", Rules: []MatchRule{{"regex", ".*"}}}, "rules[0].kind"},
		{"empty value", Organisation{Name: "x", Rules: []MatchRule{{MatchGroup, "cn=a"}, {MatchDNSuffix, " "}}}, "rules[1].value"},
		{"not a DN", Organisation{Name: "x", Rules: []MatchRule{{MatchDNSuffix, "Sales"}}}, "rules[0].value"},
		{"group not a DN", Organisation{Name: "x", Rules: []MatchRule{{MatchGroup, "cn=a,,dc=b"}}}, "rules[0].value"},
		{"upn domain", Organisation{Name: "x", Rules: []MatchRule{{MatchUPNDomain, "acme.com/x"}}}, "rules[0].value"},
		{"upn domain with port", Organisation{Name: "x", Rules: []MatchRule{{MatchUPNDomain, "acme.com:80"}}}, "rules[0].value"},
		{"upn ip", Organisation{Name: "x", Rules: []MatchRule{{MatchUPNDomain, "10.0.0.1"}}}, "rules[0].value"},
		{"value long", Organisation{Name: "x", Rules: []MatchRule{{MatchDNSuffix, "dc=" + strings.Repeat("a", 1100)}}}, "rules[0].value"},
		{"policy", Organisation{Name: "x", Policy: Policy{Password: &PasswordPolicy{MinLength: 4}}}, "policy.password.min_length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, tt.o.Validate(), tt.field)
		})
	}
}
