package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/latchkey/latchkey/tenants"
)

// The message kinds. Each names a template (and the tenant's override in
// tenants.SelfServiceSettings.Messages).
const (
	// KindEmailCode carries a one-time code by email.
	KindEmailCode = "email_code"
	// KindSMSCode carries a one-time code by SMS (text only).
	KindSMSCode = "sms_code"
	// KindResetDone, KindUnlockDone and KindChangeDone tell the user that
	// the action happened (R14).
	KindResetDone  = "reset_done"
	KindUnlockDone = "unlock_done"
	KindChangeDone = "change_done"
	// KindFactorChanged tells the user their verification methods changed.
	KindFactorChanged = "factor_changed"
	// KindContactChanged tells the user their email address or phone number
	// changed (send it to the old contact too).
	KindContactChanged = "contact_changed"
	// KindReportAlert goes to the tenant's admins after a user answered
	// "this wasn't me".
	KindReportAlert = "report_alert"
	// KindFrozen tells the user that self-service is frozen for them after
	// their report.
	KindFrozen = "frozen"
	// KindHelpdeskApproval goes to the tenant's other admins when a help
	// desk asked to remove an admin's devices: a second operator must
	// approve (R18).
	KindHelpdeskApproval = "helpdesk_approval"
	// KindLocked tells the user that self-service locked for their account
	// after failed verifications (the page does not say so: R1).
	KindLocked = "selfservice_locked"
)

// Kinds lists every message kind.
var Kinds = []string{KindEmailCode, KindSMSCode, KindResetDone, KindUnlockDone, KindChangeDone,
	KindFactorChanged, KindContactChanged, KindReportAlert, KindFrozen, KindHelpdeskApproval, KindLocked}

// Languages are the languages the built-in templates exist in, the first
// being the fallback.
var Languages = []string{"en", "de"}

// IsCodeKind reports whether a kind carries a one-time code. Only these kinds
// ever see Data.Code; every other kind is a notification that carries no
// secret (R14).
func IsCodeKind(kind string) bool { return kind == KindEmailCode || kind == KindSMSCode }

// Limits on tenant templates: their source, and what one execution may
// produce (a template like {{range 100000000}} must not exhaust memory).
const (
	MaxTemplateSource = 16 << 10
	MaxTemplateOutput = 64 << 10
)

// ErrUnknownKind is returned for a kind that is not one of Kinds.
var ErrUnknownKind = errors.New("notify: unknown message kind")

// Data is what a message is about. Render derives the values templates see
// (the view documented on Render) from it.
type Data struct {
	// TenantName defaults to the tenant's Branding.DisplayName, else Name.
	TenantName  string
	DisplayName string
	Username    string
	// Code is the one-time code; only KindEmailCode and KindSMSCode render
	// it, every other kind gets an empty Code whatever is passed here.
	Code string
	// ExpiresIn is the code's lifetime in minutes (0: not mentioned).
	ExpiresIn int
	// Action is what happened (reset, unlock, change, …); templates see
	// its name in the message language.
	Action tenants.Action
	// Time is when it happened; templates see it formatted in the message
	// language in Location (nil: UTC). Zero: not mentioned.
	Time     time.Time
	Location *time.Location
	// IP and Browser describe the request. When Browser is empty it is
	// derived from UserAgent (the raw header) in the message language, see
	// SummarizeUserAgent.
	IP        string
	Browser   string
	UserAgent string
	// ReportURL is the "this wasn't me" link, built by the caller from the
	// tenant's canonical host. Not used by KindReportAlert and KindFrozen.
	ReportURL string
	// SupportText defaults to the tenant's Branding.SupportText.
	SupportText string
}

// view is what templates see: Data with Action and Time rendered in the
// message language, and the tenant's colour.
type view struct {
	TenantName, DisplayName, Username, Code string
	ExpiresIn                               int
	Action, Time                            string
	IP, Browser, ReportURL, SupportText     string
	Color                                   string // "#rrggbb", for HTML
	Lang                                    string
}

// TemplateWarning is returned by Render, together with the default content,
// when the tenant's own template could not be used. Callers log it and send
// the content; it is not a failure.
type TemplateWarning struct {
	Kind  string
	Field string // "subject", "text" or "html"
	Err   error
}

func (w *TemplateWarning) Error() string {
	return fmt.Sprintf("notify: tenant template %s (%s) not used, default sent instead: %v", w.Kind, w.Field, w.Err)
}

func (w *TemplateWarning) Unwrap() error { return w.Err }

//go:embed templates/*.txt templates/*.html
var templateFS embed.FS

type langSet struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// defaults parses the built-in templates once.
var defaults = sync.OnceValues(func() (map[string]langSet, error) {
	sets := make(map[string]langSet, len(Languages))
	for _, lang := range Languages {
		txt, err := texttemplate.New(lang).Option("missingkey=error").ParseFS(templateFS, "templates/"+lang+".txt")
		if err != nil {
			return nil, fmt.Errorf("notify: built-in %s text templates: %w", lang, err)
		}
		html, err := htmltemplate.New(lang).Option("missingkey=error").ParseFS(templateFS, "templates/"+lang+".html")
		if err != nil {
			return nil, fmt.Errorf("notify: built-in %s HTML templates: %w", lang, err)
		}
		sets[lang] = langSet{text: txt, html: html}
	}
	return sets, nil
})

// Language picks the message language: lang ("de", "de-CH", "en_US", …) when
// its base language is one of Languages, else the tenant's DefaultLocale, else
// the fallback.
func Language(t *tenants.Tenant, lang string) string {
	for _, l := range []string{lang, t.DefaultLocale} {
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(l)), "-")
		base, _, _ = strings.Cut(base, "_")
		if slices.Contains(Languages, base) {
			return base
		}
	}
	return Languages[0]
}

// Render renders a message of kind for tenant t in lang (see Language).
//
// The tenant's own template is t.SelfService.Messages[kind+"."+lang], else
// Messages[kind]; each of its fields that is set replaces the default's
// (subject and text are text/template, HTML is html/template, so values are
// escaped there). Templates see: .TenantName .DisplayName .Username .Code
// .ExpiresIn .Action .Time .IP .Browser .ReportURL .SupportText .Color .Lang.
//
// When the tenant's template fails (parse, execution, size limits, external
// resources in HTML), Render returns the default content together with a
// *TemplateWarning: log it, send the content. Any other error (unknown kind)
// means there is nothing to send.
//
// KindSMSCode renders Text only. Only the code kinds see Data.Code.
func Render(t *tenants.Tenant, kind, lang string, d Data) (Content, error) {
	if !slices.Contains(Kinds, kind) {
		return Content{}, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	lang = Language(t, lang)
	v := newView(t, kind, lang, d)
	c, err := renderDefault(kind, lang, v)
	if err != nil {
		return Content{}, err
	}
	key, mt, ok := tenantTemplate(t, kind, lang)
	if !ok {
		return c, nil
	}
	own, field, err := renderTenant(kind, mt, v)
	if err != nil {
		return c, &TemplateWarning{Kind: key, Field: field, Err: err}
	}
	if mt.Subject != "" {
		c.Subject = own.Subject
	}
	if mt.Text != "" {
		c.Text = own.Text
	}
	if mt.HTML != "" {
		c.HTML = own.HTML
	}
	return c, nil
}

// RenderSMS renders kind as an SMS text: KindSMSCode as Render does (the
// tenant's template included), a notification kind from the built-in short
// SMS form (tenants' templates are for email). KindEmailCode has no SMS form.
func RenderSMS(t *tenants.Tenant, kind, lang string, d Data) (string, error) {
	if kind == KindSMSCode {
		c, err := Render(t, kind, lang, d)
		return c.Text, err
	}
	if !slices.Contains(Kinds, kind) || kind == KindEmailCode {
		return "", fmt.Errorf("%w: %q has no SMS form", ErrUnknownKind, kind)
	}
	lang = Language(t, lang)
	sets, err := defaults()
	if err != nil {
		return "", err
	}
	s, err := execText(sets[lang].text.Lookup(kind+".sms"), newView(t, kind, lang, d))
	if err != nil {
		return "", fmt.Errorf("notify: built-in %s/%s SMS: %w", lang, kind, err)
	}
	return subjectLine(s), nil
}

func tenantTemplate(t *tenants.Tenant, kind, lang string) (string, tenants.MessageTemplate, bool) {
	for _, key := range []string{kind + "." + lang, kind} {
		if mt, ok := t.SelfService.Messages[key]; ok && mt != (tenants.MessageTemplate{}) {
			return key, mt, true
		}
	}
	return "", tenants.MessageTemplate{}, false
}

var colorRe = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func newView(t *tenants.Tenant, kind, lang string, d Data) view {
	v := view{
		TenantName: firstNonEmpty(d.TenantName, t.Branding.DisplayName, t.Name), DisplayName: d.DisplayName,
		Username: d.Username, ExpiresIn: d.ExpiresIn, Action: actionName(d.Action, lang),
		Time: formatTime(d.Time, d.Location, lang), IP: d.IP, Browser: d.Browser, ReportURL: d.ReportURL,
		SupportText: firstNonEmpty(d.SupportText, t.Branding.SupportText), Color: "#0b5cad", Lang: lang,
	}
	if v.Browser == "" && d.UserAgent != "" {
		v.Browser = SummarizeUserAgent(d.UserAgent, lang)
	}
	if IsCodeKind(kind) {
		v.Code = d.Code
	}
	if colorRe.MatchString(t.Branding.PrimaryColor) {
		v.Color = t.Branding.PrimaryColor
	}
	return v
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func renderDefault(kind, lang string, v view) (Content, error) {
	sets, err := defaults()
	if err != nil {
		return Content{}, err
	}
	set := sets[lang]
	var c Content
	if c.Text, err = execText(set.text.Lookup(kind+".text"), v); err != nil {
		return Content{}, fmt.Errorf("notify: built-in %s/%s text: %w", lang, kind, err)
	}
	if kind == KindSMSCode {
		return c, nil
	}
	if c.Subject, err = execText(set.text.Lookup(kind+".subject"), v); err != nil {
		return Content{}, fmt.Errorf("notify: built-in %s/%s subject: %w", lang, kind, err)
	}
	c.Subject = subjectLine(c.Subject)
	if c.HTML, err = execHTML(set.html.Lookup(kind+".html"), v); err != nil {
		return Content{}, fmt.Errorf("notify: built-in %s/%s HTML: %w", lang, kind, err)
	}
	return c, nil
}

// renderTenant renders the fields of mt that are set; on failure it names the
// field.
func renderTenant(kind string, mt tenants.MessageTemplate, v view) (Content, string, error) {
	var c Content
	if kind == KindSMSCode && (mt.Subject != "" || mt.HTML != "") {
		return c, "subject/html", errors.New("an SMS has text only")
	}
	for _, f := range []struct {
		name, src string
		out       *string
	}{{"subject", mt.Subject, &c.Subject}, {"text", mt.Text, &c.Text}, {"html", mt.HTML, &c.HTML}} {
		if f.src == "" {
			continue
		}
		s, err := renderField(f.name, f.src, v)
		if err != nil {
			return Content{}, f.name, err
		}
		*f.out = s
	}
	return c, "", nil
}

func renderField(field, src string, v view) (string, error) {
	if len(src) > MaxTemplateSource {
		return "", fmt.Errorf("template is %d bytes, at most %d", len(src), MaxTemplateSource)
	}
	if field == "html" {
		if m := externalResource.FindString(src); m != "" {
			return "", fmt.Errorf("HTML must not load or run anything (found %q)", m)
		}
		t, err := htmltemplate.New(field).Parse(src)
		if err != nil {
			return "", err
		}
		if err := checkTemplate(t.Tree, len(t.Templates())); err != nil {
			return "", err
		}
		return execHTML(t, v)
	}
	t, err := texttemplate.New(field).Parse(src)
	if err != nil {
		return "", err
	}
	if err := checkTemplate(t.Tree, len(t.Templates())); err != nil {
		return "", err
	}
	s, err := execText(t, v)
	if field == "subject" {
		s = subjectLine(s)
	}
	return s, err
}

// externalResource finds what would make a mail client fetch or run
// something: remote images, stylesheets, fonts, frames, forms, scripts,
// refreshes. Links (<a href>) are fine.
var externalResource = regexp.MustCompile(`(?i)(\b(src|srcset|background|poster|lowsrc|dynsrc|action|formaction|data|xlink:href)\s*=|<\s*(link|script|iframe|frame|frameset|object|embed|applet|form|base|img|image|picture|video|audio|source|track|svg|math|input|button)\b|url\s*\(|@import|http-equiv|javascript:|vbscript:)`)

// errTooLong stops an execution that produces more than MaxTemplateOutput.
var errTooLong = fmt.Errorf("output is longer than %d bytes", MaxTemplateOutput)

type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > MaxTemplateOutput {
		return 0, errTooLong
	}
	return b.Buffer.Write(p)
}

type executor interface {
	Execute(io.Writer, any) error
}

func execText(t *texttemplate.Template, v view) (string, error) {
	if t == nil {
		return "", errors.New("template missing")
	}
	s, err := execute(t, v)
	return tidyText(s), err
}

func execHTML(t *htmltemplate.Template, v view) (string, error) {
	if t == nil {
		return "", errors.New("template missing")
	}
	return execute(t, v)
}

func execute(t executor, v view) (string, error) {
	var b limitedBuffer
	if err := t.Execute(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

var blankRun = regexp.MustCompile(`\n{3,}`)

// tidyText trims trailing blanks from lines, keeps at most one empty line in
// a row and trims the whole, so templates can be laid out readably.
func tidyText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(blankRun.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}

// subjectLine makes a subject one line: a header must not be broken into two.
func subjectLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// sampleData is what ValidateTemplate executes a tenant's template with.
var sampleData = Data{
	TenantName: "Example Corp", DisplayName: "<Sample> User", Username: "sample.user", Code: "739184",
	ExpiresIn: 10, Action: tenants.ActionReset, Time: time.Date(2025, 3, 14, 9, 26, 0, 0, time.UTC),
	IP: "203.0.113.7", Browser: "Firefox on Windows", ReportURL: "https://example.invalid/report?t=sample",
	SupportText: "Call the help desk on 1234",
}

// ValidateTemplate checks a tenant's template before an admin saves it under
// key in SelfServiceSettings.Messages: key is a kind, or kind + "." + a
// language ("reset_done.de"). Every field set must parse, execute with sample
// data within the limits, and (HTML) load nothing external; for the code
// kinds the text and HTML that are set must show the code, and an SMS
// template has text only. An empty template is valid (the default is used).
func ValidateTemplate(key string, mt tenants.MessageTemplate) error {
	kind, lang, hasLang := strings.Cut(key, ".")
	if !slices.Contains(Kinds, kind) || (hasLang && !slices.Contains(Languages, lang)) {
		return fmt.Errorf("%w: %q", ErrUnknownKind, key)
	}
	if !hasLang {
		lang = Languages[0]
	}
	t := &tenants.Tenant{}
	v := newView(t, kind, lang, sampleData)
	c, field, err := renderTenant(kind, mt, v)
	if err != nil {
		return fmt.Errorf("notify: template %s %s: %w", key, field, err)
	}
	if !IsCodeKind(kind) {
		return nil
	}
	if mt.Text != "" && !strings.Contains(c.Text, sampleData.Code) {
		return fmt.Errorf("notify: template %s text: must show the code ({{.Code}})", key)
	}
	if mt.HTML != "" && !strings.Contains(c.HTML, sampleData.Code) {
		return fmt.Errorf("notify: template %s html: must show the code ({{.Code}})", key)
	}
	return nil
}
