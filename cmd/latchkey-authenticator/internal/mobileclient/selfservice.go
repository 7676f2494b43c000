package mobileclient

import (
	"context"
	"fmt"
	"net/http"
)

// The self-service paths (docs/mobile-api.md section 5).
const (
	PathSelfService     = APIPrefix + "/selfservice"
	PathSelfServiceStep = PathSelfService + "/step"
)

// The ops of a self-service step.
const (
	OpChoose      = "choose"
	OpResend      = "resend"
	OpCode        = "code"
	OpAnswers     = "answers"
	OpTOTP        = "totp"
	OpNewPassword = "new_password"
	OpUnlock      = "unlock"
	OpView        = "view"
)

// PasswordRule is one rule the new password must follow.
type PasswordRule struct {
	Code  string `json:"code"`
	Value int    `json:"value"`
}

// FlowView is a self-service flow's current step as the API answers it.
type FlowView struct {
	Flow          string         `json:"flow"`
	Action        string         `json:"action"`
	Step          string         `json:"step"`
	StepToken     string         `json:"step_token"`
	Options       []string       `json:"options"`
	Verified      []string       `json:"verified"`
	Required      int            `json:"required"`
	Remaining     int            `json:"remaining"`
	Factor        string         `json:"factor"`
	CodeExpiresAt string         `json:"code_expires_at"`
	Questions     []string       `json:"questions"`
	Error         string         `json:"error"`
	Field         string         `json:"field"`
	PasswordRules []PasswordRule `json:"password_rules"`
	BrokenRules   []string       `json:"broken_rules"`
	Result        string         `json:"result"`
	Reference     string         `json:"reference"`
	Locked        bool           `json:"locked"`
	LockoutEnds   string         `json:"lockout_ends"`
	ExpiresAt     string         `json:"expires_at"`
}

// Step is the body of POST /selfservice/step; Flow and StepToken come from
// the last FlowView.
type Step struct {
	Flow            string   `json:"flow"`
	StepToken       string   `json:"step_token,omitempty"`
	Op              string   `json:"op"`
	Factor          string   `json:"factor,omitempty"`
	Code            string   `json:"code,omitempty"`
	Answers         []string `json:"answers,omitempty"`
	NewPassword     string   `json:"new_password,omitempty"`
	ConfirmPassword string   `json:"confirm_password,omitempty"`
}

// StartSelfService starts a "reset" or "unlock" with this device as one
// verified factor.
func (c *Client) StartSelfService(ctx context.Context, action string) (FlowView, error) {
	var out FlowView
	if err := c.do(ctx, http.MethodPost, PathSelfService, map[string]string{"action": action}, http.StatusCreated, &out); err != nil {
		return FlowView{}, fmt.Errorf("start the %s: %w", action, err)
	}
	return out, nil
}

// SelfServiceStep answers the flow's current step.
func (c *Client) SelfServiceStep(ctx context.Context, s Step) (FlowView, error) {
	var out FlowView
	if err := c.do(ctx, http.MethodPost, PathSelfServiceStep, s, http.StatusOK, &out); err != nil {
		return FlowView{}, fmt.Errorf("%s: %w", s.Op, err)
	}
	return out, nil
}
