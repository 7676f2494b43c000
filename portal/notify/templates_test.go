package notify_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/latchkey/latchkey/portal/notify"
	"github.com/latchkey/latchkey/tenants"
)

const code = "371946"

func codeData() notify.Data {
	d := sampleData()
	d.Code, d.ExpiresIn = code, 10
	return d
}

func TestEveryKindRendersInEveryLanguage(t *testing.T) {
	ten := sampleTenant
	for _, lang := range notify.Languages {
		for _, kind := range notify.Kinds {
			c, err := notify.Render(&ten, kind, lang, codeData())
			if err != nil {
				t.Errorf("%s/%s: %v", lang, kind, err)
				continue
			}
			if c.Text == "" || strings.Contains(c.Text, "<no value>") {
				t.Errorf("%s/%s: text %q", lang, kind, c.Text)
			}
			if kind == notify.KindSMSCode {
				if c.Subject != "" || c.HTML != "" {
					t.Errorf("%s/%s: an SMS has a subject or HTML", lang, kind)
				}
			} else if c.Subject == "" || c.HTML == "" || strings.Contains(c.Subject, "\n") || !strings.Contains(c.HTML, `lang="`+lang+`"`) {
				t.Errorf("%s/%s: subject %q, HTML %d bytes", lang, kind, c.Subject, len(c.HTML))
			}
			if !strings.Contains(c.Text, "Acme Corp") {
				t.Errorf("%s/%s: text does not name the tenant", lang, kind)
			}
			if kind == notify.KindEmailCode {
				continue
			}
			s, err := notify.RenderSMS(&ten, kind, lang, codeData())
			if err != nil || s == "" || strings.Contains(s, "\n") {
				t.Errorf("%s/%s SMS: %q, %v", lang, kind, s, err)
			}
		}
	}
}

func TestGermanIsGerman(t *testing.T) {
	ten := sampleTenant
	c, err := notify.Render(&ten, notify.KindResetDone, "de-CH", sampleData())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"zurückgesetzt", "14. März 2025, 09:26 Uhr UTC", "Firefox unter Linux", "Das war ich nicht"} {
		if !strings.Contains(c.Text+c.HTML, want) {
			t.Errorf("German message lacks %q:\n%s", want, c.Text)
		}
	}
	// An unsupported language falls back to the tenant's default, then English.
	ten.DefaultLocale = "de"
	if c, _ := notify.Render(&ten, notify.KindResetDone, "fr", sampleData()); !strings.Contains(c.Subject, "zurückgesetzt") {
		t.Errorf("fr with a German tenant: %q", c.Subject)
	}
	ten.DefaultLocale = ""
	if c, _ := notify.Render(&ten, notify.KindResetDone, "fr", sampleData()); !strings.Contains(c.Subject, "was reset") {
		t.Errorf("fr: %q", c.Subject)
	}
}

func TestCodeKindsShowTheCode(t *testing.T) {
	ten := sampleTenant
	for _, lang := range notify.Languages {
		c, _ := notify.Render(&ten, notify.KindEmailCode, lang, codeData())
		if !strings.Contains(c.Text, code) || !strings.Contains(c.HTML, code) || strings.Contains(c.Subject, code) {
			t.Errorf("%s email code: the code belongs in the bodies, not the subject", lang)
		}
		s, _ := notify.RenderSMS(&ten, notify.KindSMSCode, lang, codeData())
		if !strings.HasPrefix(s, code) {
			t.Errorf("%s SMS code %q", lang, s)
		}
	}
}

// TestNotificationsNeverShowTheCode_R14: whatever the caller passes and
// whatever a tenant's template asks for, a notification carries no code.
func TestNotificationsNeverShowTheCode_R14(t *testing.T) {
	ten := sampleTenant
	ten.SelfService.Messages = map[string]tenants.MessageTemplate{}
	for _, kind := range notify.Kinds {
		ten.SelfService.Messages[kind+".de"] = tenants.MessageTemplate{Subject: "S {{.Code}}", Text: "Code: {{.Code}}.", HTML: "<p>{{.Code}}</p>"}
	}
	for _, kind := range notify.Kinds {
		if notify.IsCodeKind(kind) {
			continue
		}
		for _, tn := range []*tenants.Tenant{&sampleTenant, &ten} {
			for _, lang := range notify.Languages {
				c, err := notify.Render(tn, kind, lang, codeData())
				if err != nil {
					t.Fatalf("%s/%s: %v", lang, kind, err)
				}
				s, err := notify.RenderSMS(tn, kind, lang, codeData())
				if err != nil {
					t.Fatalf("%s/%s SMS: %v", lang, kind, err)
				}
				if strings.Contains(c.Subject+c.Text+c.HTML+s, code) {
					t.Errorf("%s/%s shows the code", lang, kind)
				}
			}
		}
	}
}

func TestHTMLEscapesData(t *testing.T) {
	ten := sampleTenant
	ten.Branding.DisplayName = `Acme "<b>"`
	ten.Branding.PrimaryColor = "red;background:url(https://evil.test/x)"
	d := codeData()
	d.DisplayName = `<script>alert("x")</script>`
	d.ReportURL = `javascript:alert(1)`
	for _, lang := range notify.Languages {
		for _, kind := range notify.Kinds {
			c, _ := notify.Render(&ten, kind, lang, d)
			if strings.Contains(c.HTML, "<script>") || strings.Contains(c.HTML, "<b>") ||
				strings.Contains(c.HTML, "javascript:") || strings.Contains(c.HTML, "evil.test") {
				t.Errorf("%s/%s: unescaped data in HTML", lang, kind)
			}
		}
	}
	c, _ := notify.Render(&ten, notify.KindResetDone, "en", d)
	if !strings.Contains(c.HTML, "&lt;script&gt;") {
		t.Errorf("the display name is missing, escaped, from:\n%s", c.HTML)
	}
}

var resourceRe = regexp.MustCompile(`(?i)\b(src|srcset|background)\s*=|<\s*(img|link|script|iframe|object|embed|style)\b|url\s*\(|@import`)

func TestDefaultHTMLLoadsNothing(t *testing.T) {
	ten := sampleTenant
	for _, lang := range notify.Languages {
		for _, kind := range notify.Kinds {
			c, _ := notify.Render(&ten, kind, lang, codeData())
			if m := resourceRe.FindString(c.HTML); m != "" {
				t.Errorf("%s/%s HTML loads something: %q", lang, kind, m)
			}
			if n := strings.Count(c.HTML, "http"); n != strings.Count(c.HTML, sampleData().ReportURL) {
				t.Errorf("%s/%s HTML has URLs besides the report link", lang, kind)
			}
		}
	}
}

func TestTenantTemplateOverridesFields(t *testing.T) {
	ten := sampleTenant
	ten.SelfService.Messages = map[string]tenants.MessageTemplate{
		notify.KindResetDone:         {Subject: "Reset for {{.Username}} at {{.TenantName}}"},
		notify.KindResetDone + ".de": {Text: "Hallo {{.DisplayName}}, {{.Action}}."},
		notify.KindUnlockDone:        {HTML: "<p>Unlocked {{.Username}}{{if .IP}} from {{.IP}}{{end}}</p>"},
	}
	c, err := notify.Render(&ten, notify.KindResetDone, "en", sampleData())
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "Reset for jdoe at Acme Corp" || !strings.Contains(c.Text, "The password of your account jdoe was reset") {
		t.Errorf("en: subject %q (tenant's), text from the default expected:\n%s", c.Subject, c.Text)
	}
	c, _ = notify.Render(&ten, notify.KindResetDone, "de", sampleData())
	if c.Text != "Hallo Jane Doe, Passwort-Zurücksetzung." || !strings.Contains(c.Subject, "zurückgesetzt") {
		t.Errorf("de: the language-specific template wins for its fields: %q / %q", c.Subject, c.Text)
	}
	c, _ = notify.Render(&ten, notify.KindUnlockDone, "en", sampleData())
	if c.HTML != "<p>Unlocked jdoe from 203.0.113.7</p>" {
		t.Errorf("html %q", c.HTML)
	}
}

func TestBrokenTenantTemplateFallsBack(t *testing.T) {
	for name, mt := range map[string]tenants.MessageTemplate{
		"parse error":      {Text: "Hello {{.DisplayName"},
		"unknown field":    {Subject: "{{.Password}}"},
		"range bomb":       {Text: "{{range 1000000000}}x{{end}}"},
		"recursion":        {Text: `{{define "a"}}{{template "a" .}}{{end}}{{template "a" .}}`},
		"printf bomb":      {Text: `{{printf "%0999999999d" 1}}`},
		"remote image":     {HTML: `<p><img src="https://track.example/p.gif"></p>`},
		"external css":     {HTML: `<div style="background:url(https://x.test/a.png)">x</div>`},
		"script":           {HTML: `<script>alert(1)</script>`},
		"huge source":      {Text: strings.Repeat("x", notify.MaxTemplateSource+1)},
		"sms with subject": {Subject: "x", Text: "{{.Code}}"},
	} {
		ten := sampleTenant
		kind := notify.KindResetDone
		if name == "sms with subject" {
			kind = notify.KindSMSCode
		}
		ten.SelfService.Messages = map[string]tenants.MessageTemplate{kind: mt}
		c, err := notify.Render(&ten, kind, "en", codeData())
		var warn *notify.TemplateWarning
		if !errors.As(err, &warn) {
			t.Errorf("%s: err = %v, want a *TemplateWarning", name, err)
			continue
		}
		def, _ := notify.Render(&sampleTenant, kind, "en", codeData())
		if c != def {
			t.Errorf("%s: content is not the default", name)
		}
		if err := notify.ValidateTemplate(kind, mt); err == nil {
			t.Errorf("%s: ValidateTemplate accepted it", name)
		}
	}
}

func TestValidateTemplate(t *testing.T) {
	ok := map[string]tenants.MessageTemplate{
		notify.KindResetDone:           {Subject: "{{.TenantName}}: password reset", Text: "Hi {{.DisplayName}}{{with .IP}} ({{.}}){{end}}"},
		notify.KindEmailCode + ".de":   {Text: "Code: {{.Code}}", HTML: `<p style="color:{{.Color}}">{{.Code}}</p><a href="{{.ReportURL}}">x</a>`},
		notify.KindSMSCode:             {Text: "{{.Code}} ist Ihr Code"},
		notify.KindFrozen:              {},
		notify.KindReportAlert + ".en": {Text: `{{if and .IP (ne .Browser "")}}{{.IP}}{{end}}{{len .Username}}`},
	}
	for key, mt := range ok {
		if err := notify.ValidateTemplate(key, mt); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}
	bad := map[string]tenants.MessageTemplate{
		"nonsense":                   {Text: "x"},
		notify.KindResetDone + ".fr": {Text: "x"},
		notify.KindEmailCode:         {Text: "no code here"},
		notify.KindEmailCode + ".en": {Text: "{{.Code}}", HTML: "<p>no code</p>"},
		notify.KindSMSCode:           {Text: "{{.Code}}", HTML: "<p>{{.Code}}</p>"},
		notify.KindResetDone:         {HTML: `<meta http-equiv="refresh" content="0;url=https://x.test">`},
	}
	for key, mt := range bad {
		if err := notify.ValidateTemplate(key, mt); err == nil {
			t.Errorf("%s %+v: accepted", key, mt)
		}
	}
}

func TestRenderUnknownKind(t *testing.T) {
	if _, err := notify.Render(&sampleTenant, "bogus", "en", notify.Data{}); !errors.Is(err, notify.ErrUnknownKind) {
		t.Fatalf("err = %v", err)
	}
	if _, err := notify.RenderSMS(&sampleTenant, notify.KindEmailCode, "en", notify.Data{}); !errors.Is(err, notify.ErrUnknownKind) {
		t.Fatalf("RenderSMS(email_code) err = %v", err)
	}
}

func TestTimeInLocation(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin") // time/tzdata is linked in
	if err != nil {
		t.Fatal(err)
	}
	d := sampleData()
	d.Location = berlin
	c, _ := notify.Render(&sampleTenant, notify.KindResetDone, "de", d)
	if !strings.Contains(c.Text, "14. März 2025, 10:26 Uhr CET") {
		t.Errorf("time in Berlin:\n%s", c.Text)
	}
}

// A report's alert and the user's notice name the reported action when it
// is known and read as whole sentences when it is not (a report about a
// factor change); a browser summary given by the caller is shown as is.
func TestReportMessagesWithAndWithoutAction(t *testing.T) {
	ten := tenants.Tenant{Name: "Acme"}
	for _, lang := range notify.Languages {
		for _, kind := range []string{notify.KindReportAlert, notify.KindFrozen} {
			d := sampleData()
			d.UserAgent, d.Browser = "", "Chrome on Linux"
			c, err := notify.Render(&ten, kind, lang, d)
			if err != nil {
				t.Fatal(err)
			}
			name := map[string]string{"en": "password reset", "de": "Passwort-Zurücksetzung"}[lang]
			if !strings.Contains(c.Text, name) || !strings.Contains(c.HTML, name) || !strings.Contains(c.Text, "Chrome on Linux") {
				t.Errorf("%s/%s with an action does not name it or the browser:\n%s", kind, lang, c.Text)
			}
			d.Action = ""
			c, err = notify.Render(&ten, kind, lang, d)
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{": .", "„“", "()", ": <strong></strong>"} {
				if strings.Contains(c.Text, bad) || strings.Contains(c.HTML, bad) {
					t.Errorf("%s/%s without an action has a hole %q:\n%s", kind, lang, bad, c.Text)
				}
			}
			sms, err := notify.RenderSMS(&ten, kind, lang, d)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(sms, "()") {
				t.Errorf("%s/%s SMS without an action: %q", kind, lang, sms)
			}
		}
	}
}
