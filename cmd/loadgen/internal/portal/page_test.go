package portal

import (
	"testing"
)

// The fragments below are the portal's templates (portal/view/templates)
// as they render, trimmed to what the driver reads.

const choosePage = `<h1>Reset your password</h1>
<p class="lead">Confirm it is you in 2 ways.</p>
<form class="card" method="post" action="/flow/choose">
  <input type="hidden" name="step" value="AbC-12_x">
  <fieldset>
    <div class="choice">
      <input type="radio" id="factor-email" name="factor" value="email" checked required>
      <label for="factor-email"><strong>Email</strong></label>
    </div>
    <div class="choice">
      <input type="radio" id="factor-sms" name="factor" value="sms" required>
    </div>
    <div class="choice">
      <input type="radio" id="factor-questions" name="factor" value="questions" required>
    </div>
  </fieldset>
</form>`

const codePage = `<h1>Reset your password</h1>
<div class="alert" role="alert" id="form-error"><p>That code is not right.</p></div>
<form class="card" method="post" action="/flow/code">
  <input type="hidden" name="step" value="step2">
</form>
<form class="inline" method="post" action="/flow/choose">
  <input type="hidden" name="step" value="step2">
  <button class="link-button" type="submit" name="factor" value="questions">Use instead Security questions</button>
</form>`

const questionsPage = `<form class="card" method="post" action="/flow/questions">
  <input type="hidden" name="step" value="step3">
  <div class="field">
    <label for="answer0">What was the name of your first pet?</label>
    <input id="answer0" name="answer0" type="text">
  </div>
  <div class="field">
    <label for="answer1">What is your oldest cousin&#39;s first name?</label>
    <input id="answer1" name="answer1" type="text">
  </div>
</form>`

const donePage = `<h1>Reset your password</h1>
<div class="result" role="status">
<p class="lead">Your password has been changed and your account is unlocked. Sign in with your new password.</p>
</div>`

const settingsPage = `<form class="card" method="post" action="/settings/contact"><input type="hidden" name="csrf" value="tok&#43;1"></form>
<form class="card" method="post" action="/settings/questions">
  <input type="hidden" name="csrf" value="tok&#43;1">
  <select id="q0" name="q0" required>
      <option value="What was the name of your first pet?" selected>What was the name of your first pet?</option>
      <option value="What is your oldest cousin&#39;s first name?">x</option>
  </select>
  <select id="q1" name="q1" required>
      <option value="What was the name of your first pet?">What was the name of your first pet?</option>
      <option value="What is your oldest cousin&#39;s first name?" selected>x</option>
  </select>
</form>`

const errorPage = `<h1>This page has expired</h1>
<div class="alert" role="alert"><p>Your session ended. Start again.</p></div>
<p class="back"><a href="/signin">Start again</a></p>`

func TestParsePageKinds(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		body   string
		kind   string
		step   string
	}{
		{"choose", 200, choosePage, KindChoose, "AbC-12_x"},
		{"code with an inline choose form", 422, codePage, KindCode, "step2"},
		{"questions", 200, questionsPage, KindQuestions, "step3"},
		{"done", 200, donePage, KindDone, ""},
		{"settings", 200, settingsPage, KindSettings, ""},
		{"error", 410, errorPage, KindError, ""},
		{"unknown", 200, "<p>hello</p>", KindOther, ""},
	} {
		p := ParsePage(c.status, c.body)
		if p.Kind != c.kind || p.Step != c.step || p.Status != c.status {
			t.Errorf("%s: kind %q step %q status %d, want %q %q %d", c.name, p.Kind, p.Step, p.Status, c.kind, c.step, c.status)
		}
	}
}

func TestParsePageReadsWhatTheFlowsNeed(t *testing.T) {
	if p := ParsePage(200, choosePage); !p.Offers("email") || !p.Offers("questions") || p.Offers("totp") || len(p.Options) != 3 {
		t.Errorf("choose options %v", p.Options)
	}
	if p := ParsePage(422, codePage); p.Alert != "That code is not right." || len(p.Options) != 0 {
		t.Errorf("code page: alert %q, options %v", p.Alert, p.Options)
	}
	p := ParsePage(200, questionsPage)
	if len(p.Questions) != 2 || p.Questions[1] != (Question{Field: "answer1", Text: "What is your oldest cousin's first name?"}) {
		t.Errorf("questions %+v", p.Questions)
	}
	if p := ParsePage(200, donePage); p.Done != "Your password has been changed and your account is unlocked. Sign in with your new password." {
		t.Errorf("done %q", p.Done)
	}
	s := ParsePage(200, settingsPage)
	if s.CSRF != "tok+1" || len(s.QuestionList) != 2 || s.QuestionList[1] != "What is your oldest cousin's first name?" {
		t.Errorf("settings csrf %q, questions %q", s.CSRF, s.QuestionList)
	}
	if p := ParsePage(410, errorPage); p.Alert != "Your session ended. Start again." {
		t.Errorf("error alert %q", p.Alert)
	}
}

func FuzzParsePage(f *testing.F) {
	for _, s := range []string{choosePage, codePage, questionsPage, donePage, settingsPage, errorPage} {
		f.Add(200, s)
	}
	f.Fuzz(func(t *testing.T, status int, body string) {
		p := ParsePage(status, body)
		switch p.Kind {
		case KindChoose, KindCode, KindQuestions, KindNewPassword, KindPassword, KindCaptcha, KindDone, KindSettings, KindError, KindOther:
		default:
			t.Fatalf("kind %q", p.Kind)
		}
		if p.Kind != KindChoose && len(p.Options) > 0 {
			t.Fatalf("options on a %s page", p.Kind)
		}
	})
}
