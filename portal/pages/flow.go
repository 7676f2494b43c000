package pages

import (
	"errors"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/portal/i18n"
	"github.com/latchkey/latchkey/portal/middleware"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/obs"
)

// Cookie names. With TLS the __Host- prefix pins them to the exact host,
// Secure and Path=/ (R36); plain-HTTP demos cannot use the prefix.
const (
	flowCookie = "lk_flow"
	prefCookie = "lk_pref"
)

func (h *Handlers) cookieName(base string) string {
	if h.TLS {
		return "__Host-" + base
	}
	return base
}

func (h *Handlers) setCookie(c *fiber.Ctx, base, value string, maxAge time.Duration) {
	ck := &fiber.Cookie{Name: h.cookieName(base), Value: value, Path: "/", HTTPOnly: true, Secure: h.TLS, SameSite: fiber.CookieSameSiteLaxMode}
	if maxAge > 0 {
		ck.Expires = time.Now().Add(maxAge)
		ck.MaxAge = int(maxAge / time.Second)
	} else if maxAge < 0 {
		ck.Expires, ck.MaxAge = time.Unix(1, 0), -1
	}
	c.Cookie(ck)
}

// client describes the requester for the engine.
func client(c *fiber.Ctx) flow.Client {
	ctx := c.UserContext()
	ip := c.Context().RemoteIP().String()
	if info, ok := middleware.ClientFrom(ctx); ok {
		ip = info.IP
	}
	ua := utils.CopyString(c.Get(fiber.HeaderUserAgent))
	if len(ua) > 512 {
		ua = ua[:512]
	}
	return flow.Client{IP: ip, UserAgent: ua, RequestID: obs.RequestID(ctx), Lang: i18n.Lang(ctx)}
}

func (h *Handlers) registerFlow(r fiber.Router) {
	r.Get("/flow", h.flowPage)
	r.Post("/flow/choose", h.flowPost(func(c *fiber.Ctx, tok, step string) (flow.View, error) {
		f := tenants.Factor(c.FormValue("factor"))
		if c.FormValue("remember") != "" && slices.Contains(flow.Supported, f) {
			h.setCookie(c, prefCookie, string(f), 365*24*time.Hour)
		}
		return h.Flow.Choose(c.UserContext(), tenants.From(c.UserContext()), tok, step, f, client(c))
	}))
	r.Post("/flow/resend", h.flowPost(func(c *fiber.Ctx, tok, step string) (flow.View, error) {
		return h.Flow.Resend(c.UserContext(), tenants.From(c.UserContext()), tok, step, client(c))
	}))
	r.Post("/flow/code", h.flowPost(func(c *fiber.Ctx, tok, step string) (flow.View, error) {
		return h.Flow.SubmitCode(c.UserContext(), tenants.From(c.UserContext()), tok, step, c.FormValue("code"), client(c))
	}))
	r.Post("/flow/questions", h.flowPost(func(c *fiber.Ctx, tok, step string) (flow.View, error) {
		var answers []string
		for i := range 10 {
			v, ok := formValue(c, "answer"+itoa(int64(i)))
			if !ok {
				break
			}
			answers = append(answers, v)
		}
		return h.Flow.SubmitAnswers(c.UserContext(), tenants.From(c.UserContext()), tok, step, answers, client(c))
	}))
	r.Post("/flow/captcha", h.flowPost(func(c *fiber.Ctx, tok, step string) (flow.View, error) {
		return h.Flow.SubmitCaptcha(c.UserContext(), tenants.From(c.UserContext()), tok, step, c.FormValue("captcha"), client(c))
	}))
	r.Get("/flow/captcha.png", h.captchaImage)
	r.Post("/flow/totp", h.flowPost(func(c *fiber.Ctx, tok, step string) (flow.View, error) {
		return h.Flow.SubmitTOTP(c.UserContext(), tenants.From(c.UserContext()), tok, step, c.FormValue("code"), client(c))
	}))
	r.Get("/flow/push/wait", h.pushWait)
	r.Post("/flow/passkey", h.flowPost(func(c *fiber.Ctx, tok, step string) (flow.View, error) {
		return h.Flow.SubmitPasskey(c.UserContext(), tenants.From(c.UserContext()), tok, step, c.FormValue("response"), client(c))
	}))
	// Passwordless sign-in: no username; the passkey names the user.
	r.Post("/signin/passkey", func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		tok, err := h.Flow.StartPasswordless(ctx, tenants.From(ctx), client(c))
		if err != nil {
			return h.flowError(c, err)
		}
		h.setCookie(c, flowCookie, tok, 0)
		return c.Redirect("/flow", fiber.StatusSeeOther)
	})
	r.Post("/flow/password", h.flowPost(func(c *fiber.Ctx, tok, step string) (flow.View, error) {
		return h.Flow.SubmitCurrentPassword(c.UserContext(), tenants.From(c.UserContext()), tok, step, c.FormValue("password"), client(c))
	}))
	r.Post("/flow/new-password", h.flowPost(func(c *fiber.Ctx, tok, step string) (flow.View, error) {
		return h.Flow.SubmitNewPassword(c.UserContext(), tenants.From(c.UserContext()), tok, step,
			c.FormValue("new_password"), c.FormValue("confirm_password"), client(c))
	}))
	r.Post("/flow/change", h.flowPost(func(c *fiber.Ctx, tok, step string) (flow.View, error) {
		return h.Flow.SubmitChange(c.UserContext(), tenants.From(c.UserContext()), tok, step,
			c.FormValue("current_password"), c.FormValue("new_password"), c.FormValue("confirm_password"), client(c))
	}))
	r.Post("/flow/unlock", h.flowPost(func(c *fiber.Ctx, tok, step string) (flow.View, error) {
		return h.Flow.ConfirmUnlock(c.UserContext(), tenants.From(c.UserContext()), tok, step, client(c))
	}))
	r.Post("/flow/report", h.flowPost(func(c *fiber.Ctx, tok, step string) (flow.View, error) {
		return h.Flow.ConfirmReport(c.UserContext(), tenants.From(c.UserContext()), tok, step, client(c))
	}))
	// A "this wasn't me" link: the token moves from the URL into a cookie
	// and the page is shown after a redirect (R10). Opening it changes
	// nothing; only the confirmation does. Only a report flow's token is
	// taken: a link must never plant another flow (a reset someone else
	// started) in the browser that opens it.
	r.Get("/report/:token", func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		tok := utils.CopyString(c.Params("token"))
		if err := h.Flow.CheckReportLink(ctx, tenants.From(ctx), tok); err != nil {
			return h.flowError(c, err)
		}
		h.setCookie(c, flowCookie, tok, 0)
		return c.Redirect("/flow", fiber.StatusSeeOther)
	})
}

// bodyValue is a form field from the body only, never the query string:
// the step and CSRF tokens must not travel in (and leak from) URLs.
func bodyValue(c *fiber.Ctx, name string) string {
	v, _ := formValue(c, name)
	return v
}

// formValue returns a form field and whether it was present.
func formValue(c *fiber.Ctx, name string) (string, bool) {
	v := c.Request().PostArgs().Peek(name)
	if v == nil {
		if mf, err := c.MultipartForm(); err == nil && mf != nil {
			if vs, ok := mf.Value[name]; ok && len(vs) > 0 {
				return vs[0], true
			}
		}
		return "", false
	}
	return string(v), true
}

// start answers an action's username form: it starts the flow and redirects
// to its first page. Every account state gets the same redirect (R1).
func (h *Handlers) start(a Action) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		t := tenants.From(ctx)
		username := utils.CopyString(c.FormValue("username"))
		token, err := h.Flow.Start(ctx, t, a.Action, tenants.ChannelWeb, username, client(c))
		switch {
		case errors.Is(err, flow.ErrInvalidInput):
			body := identifyBody{TitleKey: a.TitleKey, IntroKey: a.IntroKey, Path: a.Path, Username: PrefillUsername(username), Error: "form.username.invalid"}
			p, perr := h.page(c, a.TitleKey, a.Path, body)
			if perr != nil {
				return perr
			}
			return h.render(c, fiber.StatusBadRequest, "identify", p)
		case err != nil:
			return h.flowError(c, err)
		}
		h.setCookie(c, flowCookie, token, 0)
		return c.Redirect("/flow", fiber.StatusSeeOther)
	}
}

func (h *Handlers) flowToken(c *fiber.Ctx) string {
	return utils.CopyString(c.Cookies(h.cookieName(flowCookie)))
}

// flowPost wraps a step's POST: it reads the flow cookie and the step token,
// calls the engine, and shows the next page after a redirect (so reloading
// never re-sends a form).
func (h *Handlers) flowPost(fn func(c *fiber.Ctx, token, step string) (flow.View, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		v, err := fn(c, h.flowToken(c), bodyValue(c, "step"))
		if err != nil {
			return h.flowError(c, err)
		}
		if v.UserID != "" && h.Account != nil {
			if err := h.signedIn(c, v.UserID); err != nil {
				return err
			}
			h.setCookie(c, flowCookie, "", -1)
			return c.Redirect("/settings", fiber.StatusSeeOther)
		}
		return c.Redirect("/flow", fiber.StatusSeeOther)
	}
}

// flowError shows the page for an engine error; none of them depends on the
// account (R1).
func (h *Handlers) flowError(c *fiber.Ctx, err error) error {
	var key string
	status := fiber.StatusBadRequest
	switch {
	case errors.Is(err, flow.ErrNoFlow):
		key, status = "flow.error.expired", fiber.StatusGone
	case errors.Is(err, flow.ErrStale):
		key, status = "flow.error.stale", fiber.StatusConflict
	case errors.Is(err, flow.ErrInvalidInput):
		key = "flow.error.invalid"
	case errors.Is(err, flow.ErrDisabled):
		key, status = "flow.error.disabled", fiber.StatusForbidden
	case errors.Is(err, flow.ErrUnavailable):
		key, status = "flow.error.unavailable", fiber.StatusServiceUnavailable
	case errors.Is(err, flow.ErrBusy):
		key, status = "flow.error.busy", fiber.StatusServiceUnavailable
		c.Set(fiber.HeaderRetryAfter, "5")
	default:
		return err // the error page, with a reference
	}
	p, perr := h.page(c, key+".title", "/flow", flowErrorBody{Key: key, Resume: errors.Is(err, flow.ErrStale)})
	if perr != nil {
		return perr
	}
	return h.render(c, status, "flow_error", p)
}

type flowErrorBody struct {
	Key    string
	Resume bool // the flow goes on: offer to return to its current page
}

// flowBody is the data of every step page.
type flowBody struct {
	V           flow.View
	TitleKey    string
	Pref        tenants.Factor
	Rules       []ruleView
	Broken      []string
	Lockout     string // when the directory lockout would have ended
	CodeMins    int
	Questions   []questionView
	PushSeconds int
	Default     tenants.Factor
}

func firstOf(opts []tenants.Factor, prefer ...tenants.Factor) tenants.Factor {
	for _, p := range prefer {
		if p != "" && slices.Contains(opts, p) {
			return p
		}
	}
	if len(opts) > 0 {
		return opts[0]
	}
	return ""
}

type ruleView struct {
	Key   string
	Value string
	Code  string
}

type questionView struct {
	Name, Text string
}

// flowPage renders the flow's current step.
func (h *Handlers) flowPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	t := tenants.From(ctx)
	v, err := h.Flow.View(ctx, t, h.flowToken(c))
	if err != nil {
		return h.flowError(c, err)
	}
	b := flowBody{V: v, TitleKey: "action." + string(v.Action) + ".title", Pref: tenants.Factor(c.Cookies(h.cookieName(prefCookie)))}
	if v.Action == flow.ActionReport {
		b.TitleKey = "report.title"
	}
	if b.Pref != "" && slices.Contains(v.Options, b.Pref) {
		// The remembered method is offered first.
		i := slices.Index(v.Options, b.Pref)
		b.V.Options = append([]tenants.Factor{b.Pref}, slices.Delete(slices.Clone(v.Options), i, i+1)...)
	}
	// The pre-selected method: the remembered one, else an email code (which
	// nearly everyone has), else the first — never a push, which waits two
	// minutes for an account without the app.
	b.Default = firstOf(b.V.Options, b.Pref, tenants.FactorEmail)
	if !v.CodeExpiresAt.IsZero() {
		b.CodeMins = max(1, int(time.Until(v.CodeExpiresAt).Round(time.Minute)/time.Minute))
	}
	for i, q := range v.Questions {
		b.Questions = append(b.Questions, questionView{Name: "answer" + itoa(int64(i)), Text: q})
	}
	if !v.LockoutEnds.IsZero() {
		b.Lockout = v.LockoutEnds.Local().Format("15:04 (2006-01-02)")
	}
	b.Rules = rulesOf(v)
	b.Broken = v.Rules
	if v.Step == flow.StepPush {
		// Without JavaScript the page looks again every few seconds; with
		// it, app.js long-polls /flow/push/wait and reloads once. (Before h.page: it copies b.)
		if done, err := h.Flow.PushDone(ctx, t, h.flowToken(c), client(c)); err == nil && done {
			return c.Redirect("/flow", fiber.StatusSeeOther)
		}
		b.PushSeconds = max(0, int(time.Until(v.PushExpiresAt).Seconds()))
	}
	p, err := h.page(c, b.TitleKey, "/flow", b)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if v.Error != "" {
		status = fiber.StatusUnprocessableEntity
	}
	if v.Step == flow.StepDone || v.Step == flow.StepFailed || v.Step == flow.StepLocked {
		h.setCookie(c, flowCookie, "", -1) // a finished flow cannot be continued
	}
	if v.Step == flow.StepActing {
		c.Set("Refresh", "1")
	}
	return h.render(c, status, "flow_"+string(v.Step), p)
}

// rulesOf lists the password rules to show before the user types: the
// organisation's and the directory's effective policy (R11).
func rulesOf(v flow.View) []ruleView {
	var out []ruleView
	for _, r := range v.PasswordPolicy.Rules() {
		out = append(out, ruleView{Key: "password.rule." + r.Code, Value: itoa(int64(r.Value)), Code: r.Code})
	}
	if d := v.DirectoryPolicy; d != nil {
		if d.MinLength > v.PasswordPolicy.MinLength {
			out = append(out, ruleView{Key: "password.rule.dir_min_length", Value: itoa(int64(d.MinLength)), Code: "dir_min_length"})
		}
		if d.Complexity {
			out = append(out, ruleView{Key: "password.rule.dir_complexity", Code: "dir_complexity"})
		}
		if d.History > 0 {
			out = append(out, ruleView{Key: "password.rule.dir_history", Value: itoa(int64(d.History)), Code: "dir_history"})
		}
		if d.MinAge > 0 {
			out = append(out, ruleView{Key: "password.rule.dir_min_age", Value: itoa(int64(d.MinAge.Hours())), Code: "dir_min_age"})
		}
	}
	return out
}

// captchaImage draws the flow's CAPTCHA.
func (h *Handlers) captchaImage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	digits, err := h.Flow.CaptchaDigits(ctx, tenants.From(ctx), h.flowToken(c))
	if err != nil || h.DrawCaptcha == nil {
		return fiber.ErrNotFound
	}
	png, err := h.DrawCaptcha(digits)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(png)
}

// pushWait answers the push page's long poll: it holds the request until
// the phone answered or about 25 s passed, checking the database (so the
// answer may arrive on any node) every 500 ms, then says whether to reload.
// Without JavaScript the page refreshes itself instead.
func (h *Handlers) pushWait(c *fiber.Ctx) error {
	ctx := c.UserContext()
	t := tenants.From(ctx)
	tok := h.flowToken(c)
	deadline := time.Now().Add(25 * time.Second)
	for {
		done, err := h.Flow.PushDone(ctx, t, tok, client(c))
		if err != nil && !errors.Is(err, flow.ErrNoFlow) {
			return err
		}
		if done || err != nil || time.Now().After(deadline) {
			c.Set(fiber.HeaderCacheControl, "no-store")
			return c.JSON(fiber.Map{"done": done || err != nil})
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
