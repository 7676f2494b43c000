package portal

import (
	"html"
	"regexp"
	"slices"
	"strings"
)

// Page kinds, named after the portal's templates.
const (
	KindChoose      = "choose"
	KindCode        = "code"
	KindQuestions   = "questions"
	KindNewPassword = "new_password"
	KindPassword    = "current_password"
	KindCaptcha     = "captcha"
	KindDone        = "done"
	KindSettings    = "settings"
	KindError       = "error"
	KindOther       = "other"
)

// Question is one security question on the questions page.
type Question struct {
	Field string // answer0, answer1, …
	Text  string
}

// Page is what the driver reads from a portal page.
type Page struct {
	Status    int
	Kind      string
	Step      string     // the hidden step token of the page's forms
	CSRF      string     // the settings page's CSRF token
	Options   []string   // the factors offered (choose page)
	Questions []Question // questions page
	// QuestionList is the settings page's list of questions to pick from.
	QuestionList []string
	Alert        string // the inline error or the error page's text
	Done         string // the result text of the done page
}

var (
	cardFormRE = regexp.MustCompile(`<form class="card" method="post" action="([^"]+)"`)
	stepRE     = regexp.MustCompile(`name="step" value="([^"]*)"`)
	csrfRE     = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
	factorRE   = regexp.MustCompile(`<input type="radio" id="factor-[^"]*" name="factor" value="([^"]*)"`)
	labelRE    = regexp.MustCompile(`<label for="(answer[0-9]+)">([^<]*)</label>`)
	optionRE   = regexp.MustCompile(`<option value="([^"]*)"`)
	alertRE    = regexp.MustCompile(`(?s)<div class="alert" role="alert"[^>]*>\s*<p>(.*?)</p>`)
	resultRE   = regexp.MustCompile(`(?s)<div class="result" role="status">\s*<p class="lead">(.*?)</p>`)
	settingsRE = regexp.MustCompile(`action="/settings/questions"`)
)

var formKinds = map[string]string{
	"/flow/choose":       KindChoose,
	"/flow/code":         KindCode,
	"/flow/questions":    KindQuestions,
	"/flow/new-password": KindNewPassword,
	"/flow/password":     KindPassword,
	"/flow/captcha":      KindCaptcha,
}

// ParsePage reads a page of the portal. It never fails: what it does not
// recognise is KindOther (or KindError for a 4xx/5xx status).
func ParsePage(status int, body string) Page {
	p := Page{Status: status, Kind: KindOther}
	if m := alertRE.FindStringSubmatch(body); m != nil {
		p.Alert = text(m[1])
	}
	if m := stepRE.FindStringSubmatch(body); m != nil {
		p.Step = html.UnescapeString(m[1])
	}
	if m := csrfRE.FindStringSubmatch(body); m != nil {
		p.CSRF = html.UnescapeString(m[1])
	}
	switch {
	case resultRE.MatchString(body):
		p.Kind = KindDone
		p.Done = text(resultRE.FindStringSubmatch(body)[1])
	case settingsRE.MatchString(body):
		p.Kind = KindSettings
		seen := map[string]bool{}
		for _, m := range optionRE.FindAllStringSubmatch(body, -1) {
			if q := html.UnescapeString(m[1]); !seen[q] {
				seen[q] = true
				p.QuestionList = append(p.QuestionList, q)
			}
		}
	default:
		if m := cardFormRE.FindStringSubmatch(body); m != nil {
			if k, ok := formKinds[m[1]]; ok {
				p.Kind = k
			}
		} else if status >= 400 {
			p.Kind = KindError
		}
	}
	switch p.Kind {
	case KindChoose:
		for _, m := range factorRE.FindAllStringSubmatch(body, -1) {
			p.Options = append(p.Options, m[1])
		}
	case KindQuestions:
		for _, m := range labelRE.FindAllStringSubmatch(body, -1) {
			p.Questions = append(p.Questions, Question{Field: m[1], Text: html.UnescapeString(m[2])})
		}
	}
	return p
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// text is an HTML fragment as plain text on one line.
func text(fragment string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(fragment, " "))), " ")
}

// Offers reports whether the choose page offers factor f.
func (p Page) Offers(f string) bool {
	return slices.Contains(p.Options, f)
}
