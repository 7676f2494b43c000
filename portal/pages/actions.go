package pages

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/latchkey/latchkey/tenants"
)

// Action is one self-service action's entry point: a deep link that starts
// with the username step.
type Action struct {
	Action   tenants.Action
	Path     string
	TitleKey string // catalog key of the page title and heading
	IntroKey string // catalog key of the text above the form
}

// Actions are the four self-service actions the landing page offers, in
// display order.
var Actions = []Action{
	{tenants.ActionReset, "/reset", "action.reset.title", "action.reset.intro"},
	{tenants.ActionUnlock, "/unlock", "action.unlock.title", "action.unlock.intro"},
	{tenants.ActionChange, "/change", "action.change.title", "action.change.intro"},
	{tenants.ActionEnroll, "/enroll", "action.enroll.title", "action.enroll.intro"},
}

// identifyBody is the data of the username step.
type identifyBody struct {
	TitleKey, IntroKey, Path string
	Username                 string // prefill; escaped by html/template
	Error                    string // catalog key of an inline error
	// Passkey offers passwordless sign-in (the sign-in action, when the
	// server has passkeys).
	Passkey bool
}

// identify renders the first step of an action: the username form. A
// ?username= deep-link parameter prefills it when PrefillUsername accepts it.
func (h *Handlers) identify(a Action) fiber.Handler {
	return func(c *fiber.Ctx) error {
		body := identifyBody{
			TitleKey: a.TitleKey,
			IntroKey: a.IntroKey,
			Path:     a.Path,
			Username: PrefillUsername(utils.CopyString(c.Query("username"))),
			Passkey:  a.Action == tenants.ActionEnroll && h.Flow != nil && h.Flow.Passkeys != nil,
		}
		p, err := h.page(c, a.TitleKey, a.Path, body)
		if err != nil {
			return err
		}
		return h.render(c, fiber.StatusOK, "identify", p)
	}
}

// notYetBody is the data of the "not enabled yet" answer.
type notYetBody struct{ TitleKey string }

// submit answers the username form. The flow engine (identify → policy →
// verify factors → act → notify → audit) comes in a later issue; until then
// every submission, whatever the username, gets the same honest answer that
// the action is not yet enabled for the organisation. Nothing is looked up,
// stored or changed, and the answer does not depend on the input (so it
// cannot tell whether a user exists, security.md R1). CSRF protection arrives
// with the flow engine's session, when a POST starts to do something.
func (h *Handlers) submit(a Action) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := h.page(c, "notyet.title", a.Path, notYetBody{TitleKey: "notyet.title"})
		if err != nil {
			return err
		}
		return h.render(c, fiber.StatusOK, "notyet", p)
	}
}
