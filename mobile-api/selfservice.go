package mobileapi

import (
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/portal/i18n"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/obs"
	"github.com/latchkey/latchkey/tenants/store"
)

// Self-service from the app (docs/mobile-api.md section 5): the signed
// request counts as the device factor (flow.Engine.StartFromDevice) and the
// app drives the remaining steps with the engine's browser methods.

// The ops of POST /selfservice/step.
const (
	opChoose      = "choose"
	opResend      = "resend"
	opCode        = "code"
	opAnswers     = "answers"
	opTOTP        = "totp"
	opNewPassword = "new_password"
	opUnlock      = "unlock"
	opView        = "view"
)

// maxStepField bounds the short members of a step request (token, step
// token, factor, code); passwords are bounded by MaxBody and the engine.
const maxStepField = 128

type startRequest struct {
	Action string `json:"action"`
}

type stepRequest struct {
	Flow            string   `json:"flow"`
	StepToken       string   `json:"step_token"`
	Op              string   `json:"op"`
	Factor          string   `json:"factor"`
	Code            string   `json:"code"`
	Answers         []string `json:"answers"`
	NewPassword     string   `json:"new_password"`
	ConfirmPassword string   `json:"confirm_password"`
}

// ruleJSON is one password rule shown before the user types.
type ruleJSON struct {
	Code  string `json:"code"`
	Value int    `json:"value,omitempty"`
}

// flowJSON is a flow.View as the app sees it.
type flowJSON struct {
	Flow          string     `json:"flow"`
	Action        string     `json:"action"`
	Step          string     `json:"step"`
	StepToken     string     `json:"step_token"`
	Options       []string   `json:"options"`
	Verified      []string   `json:"verified"`
	Required      int        `json:"required"`
	Remaining     int        `json:"remaining"`
	Factor        string     `json:"factor,omitempty"`
	CodeExpiresAt string     `json:"code_expires_at,omitempty"`
	Questions     []string   `json:"questions,omitempty"`
	Error         string     `json:"error"`
	Field         string     `json:"field,omitempty"`
	PasswordRules []ruleJSON `json:"password_rules,omitempty"`
	BrokenRules   []string   `json:"broken_rules,omitempty"`
	Result        string     `json:"result"`
	Reference     string     `json:"reference,omitempty"`
	Locked        bool       `json:"locked"`
	LockoutEnds   string     `json:"lockout_ends"`
	ExpiresAt     string     `json:"expires_at"`
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

func factorNames(fs []tenants.Factor) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, string(f))
	}
	return out
}

// viewJSON maps v, the view of the flow of token, to the app's JSON; the
// password rules (the organisation's and the directory's effective policy,
// R11) only on the new-password step.
func viewJSON(token string, v flow.View) flowJSON {
	out := flowJSON{Flow: token, Action: string(v.Action), Step: string(v.Step), StepToken: v.StepToken,
		Options: factorNames(v.Options), Verified: factorNames(v.Verified), Required: v.Required, Remaining: v.Remaining,
		Factor: string(v.Factor), Questions: v.Questions, Error: v.Error, Field: v.Field, BrokenRules: v.Rules,
		Result: v.Result, Reference: v.Reference, Locked: v.Locked, LockoutEnds: stamp(v.LockoutEnds), ExpiresAt: stamp(v.ExpiresAt)}
	if v.Step == flow.StepCode {
		out.CodeExpiresAt = stamp(v.CodeExpiresAt)
	}
	if v.Step == flow.StepNewPassword {
		out.PasswordRules = passwordRules(v)
	}
	return out
}

func passwordRules(v flow.View) []ruleJSON {
	var out []ruleJSON
	for _, r := range v.PasswordPolicy.Rules() {
		out = append(out, ruleJSON{Code: r.Code, Value: r.Value})
	}
	d := v.DirectoryPolicy
	if d == nil {
		return out
	}
	if d.MinLength > v.PasswordPolicy.MinLength {
		out = append(out, ruleJSON{Code: "dir_min_length", Value: d.MinLength})
	}
	if d.Complexity {
		out = append(out, ruleJSON{Code: "dir_complexity"})
	}
	if d.History > 0 {
		out = append(out, ruleJSON{Code: "dir_history", Value: d.History})
	}
	if d.MinAge > 0 {
		out = append(out, ruleJSON{Code: "dir_min_age", Value: int(d.MinAge.Hours())})
	}
	return out
}

// flowClient is the app as the engine's Client: the language and request
// id as the portal's middleware put them in the context (as for the
// browser's pages; the fallback language without it).
func flowClient(c *fiber.Ctx) flow.Client {
	ip, ua := client(c)
	ctx := c.UserContext()
	return flow.Client{IP: ip, UserAgent: ua, Lang: i18n.Lang(ctx), RequestID: obs.RequestID(ctx)}
}

// flowError answers an engine error with the contract's status; internal
// for the server's own.
func (api *API) flowError(c *fiber.Ctx, what string, err error) error {
	switch {
	case errors.Is(err, flow.ErrStale):
		return fail(c, fiber.StatusConflict, "stale", "the step was answered before or is out of date; fetch the flow's current step")
	case errors.Is(err, flow.ErrNoFlow):
		return fail(c, fiber.StatusGone, "expired", "the self-service request ended or expired; start again")
	case errors.Is(err, flow.ErrInvalidInput):
		return fail(c, fiber.StatusBadRequest, "malformed", "the request does not fit the flow's current step")
	case errors.Is(err, flow.ErrDisabled):
		return fail(c, fiber.StatusForbidden, "not_allowed", "this self-service action is not available to this account from the app")
	case errors.Is(err, flow.ErrUnavailable):
		c.Set(fiber.HeaderRetryAfter, "30")
		return fail(c, fiber.StatusServiceUnavailable, "directory_unavailable", "the directory cannot be reached right now; try again later")
	case errors.Is(err, flow.ErrBusy):
		c.Set(fiber.HeaderRetryAfter, "2")
		return fail(c, fiber.StatusServiceUnavailable, "busy", "the server is busy; try again in a moment")
	}
	return api.internal(c, what, err)
}

func (api *API) notEnabled(c *fiber.Ctx) error {
	return fail(c, fiber.StatusNotFound, "not_enabled", "self-service from the app is not enabled on this server")
}

// startSelfService starts an unlock or reset for the device's user.
func (api *API) startSelfService(c *fiber.Ctx) error {
	eng := api.flows.Load()
	if eng == nil {
		return api.notEnabled(c)
	}
	var req startRequest
	if err := decodeJSON(c.Body(), &req); err != nil {
		return fail(c, fiber.StatusBadRequest, "malformed", err.Error())
	}
	action := tenants.Action(req.Action)
	if action != tenants.ActionReset && action != tenants.ActionUnlock {
		return fail(c, fiber.StatusBadRequest, "malformed", `action must be "reset" or "unlock"`)
	}
	t, d := tenantOf(c), deviceOf(c)
	token, v, err := eng.StartFromDevice(c.UserContext(), t, action, d.UserID, flowClient(c))
	if err != nil {
		return api.flowError(c, "start self-service", err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(viewJSON(token, v))
}

// check validates the shape of a step request (the engine decides whether
// it fits the flow's step).
func (r stepRequest) check() error {
	switch {
	case r.Flow == "" || len(r.Flow) > maxStepField:
		return errors.New("flow is missing or too long")
	case r.Op != opView && (r.StepToken == "" || len(r.StepToken) > maxStepField):
		return errors.New("step_token is missing or too long")
	case len(r.Factor) > maxStepField || len(r.Code) > maxStepField:
		return errors.New("factor or code is too long")
	case len(r.Answers) > 10:
		return errors.New("too many answers")
	}
	switch r.Op {
	case opChoose, opResend, opCode, opAnswers, opTOTP, opNewPassword, opUnlock, opView:
		return nil
	}
	return errors.New(`op must be one of "choose", "resend", "code", "answers", "totp", "new_password", "unlock", "view"`)
}

// ownFlow reports whether the flow of token is one the app started for the
// device's user: an unknown flow, another user's or a browser's is 404
// alike.
func (api *API) ownFlow(c *fiber.Ctx, token string) (bool, error) {
	t, d := tenantOf(c), deviceOf(c)
	f, err := api.cfg.Store(t.ID).GetFlow(c.UserContext(), flow.IDOf(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return f.UserID != "" && f.UserID == d.UserID && f.Channel == tenants.ChannelMobile, nil
}

// selfServiceStep applies one step of a flow the app started.
func (api *API) selfServiceStep(c *fiber.Ctx) error {
	eng := api.flows.Load()
	if eng == nil {
		return api.notEnabled(c)
	}
	var req stepRequest
	if err := decodeJSON(c.Body(), &req); err != nil {
		return fail(c, fiber.StatusBadRequest, "malformed", err.Error())
	}
	if err := req.check(); err != nil {
		return fail(c, fiber.StatusBadRequest, "malformed", err.Error())
	}
	own, err := api.ownFlow(c, req.Flow)
	if err != nil {
		return api.internal(c, "load flow", err)
	}
	if !own {
		return fail(c, fiber.StatusNotFound, "not_found", "no such self-service request for this device")
	}
	ctx, t, fc := c.UserContext(), tenantOf(c), flowClient(c)
	var v flow.View
	switch req.Op {
	case opChoose:
		v, err = eng.Choose(ctx, t, req.Flow, req.StepToken, tenants.Factor(req.Factor), fc)
	case opResend:
		v, err = eng.Resend(ctx, t, req.Flow, req.StepToken, fc)
	case opCode:
		v, err = eng.SubmitCode(ctx, t, req.Flow, req.StepToken, req.Code, fc)
	case opAnswers:
		v, err = eng.SubmitAnswers(ctx, t, req.Flow, req.StepToken, req.Answers, fc)
	case opTOTP:
		v, err = eng.SubmitTOTP(ctx, t, req.Flow, req.StepToken, req.Code, fc)
	case opNewPassword:
		v, err = eng.SubmitNewPassword(ctx, t, req.Flow, req.StepToken, req.NewPassword, req.ConfirmPassword, fc)
	case opUnlock:
		v, err = eng.ConfirmUnlock(ctx, t, req.Flow, req.StepToken, fc)
	case opView:
		v, err = eng.View(ctx, t, req.Flow)
	}
	if err != nil {
		return api.flowError(c, "self-service "+req.Op, err)
	}
	if v.Step == flow.StepActing {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(1))
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(viewJSON(req.Flow, v))
}
