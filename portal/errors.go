package portal

import (
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/latchkey/latchkey/portal/i18n"
	"github.com/latchkey/latchkey/portal/middleware"
	"github.com/latchkey/latchkey/portal/view"
)

// errorPages is the app's ErrorHandler: a friendly, localised page (or JSON
// for clients that ask for it) that names the request id as the reference
// for the help desk. It never shows an error's text: users get a generic
// message per status, the log gets the detail.
type errorPages struct {
	view    *view.Renderer
	catalog *i18n.Catalog
	log     *slog.Logger
	rand    io.Reader
	tls     bool
}

// ErrorStatuses are the statuses with a message of their own; any other 4xx
// reads as 400 and any other 5xx as 500 (the status code itself is kept).
// 403 comes only from middleware.SameOrigin: its text says so.
var ErrorStatuses = []int{400, 403, 404, 405, 408, 413, 431, 500, 503}

// errorBody is the data of the error template.
type errorBody struct {
	HeadingKey, TextKey, Reference string
}

// errorJSON is the body sent to clients that prefer JSON.
type errorJSON struct {
	Error     string `json:"error"` // the status text, e.g. "Not Found"
	Message   string `json:"message"`
	Reference string `json:"reference"`
}

func (e *errorPages) handle(c *fiber.Ctx, err error) error {
	code := fiber.StatusInternalServerError
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code = fe.Code
	} else {
		e.log.ErrorContext(c.UserContext(), "request failed", "error", err)
	}
	if code < 400 || code > 599 {
		code = fiber.StatusInternalServerError
	}
	// The server refuses some requests (an oversized body, oversized
	// headers) before any middleware ran: make sure those answers carry the
	// security headers and a reference too.
	middleware.SetSecurityHeaders(c, e.tls)
	ref, idErr := middleware.EnsureRequestID(c, e.rand)
	if idErr != nil {
		e.log.ErrorContext(c.UserContext(), "make request id for error page", "error", idErr)
	}
	key := "error." + strconv.Itoa(messageStatus(code))
	lang := e.catalog.Choose(middleware.Preference(c)).Lang
	c.Response().ResetBody()
	c.Status(code)

	// The machine APIs answer in JSON even when the server refused the
	// request before their handlers ran (413, 431).
	api := strings.HasPrefix(c.Path(), "/api/") || strings.HasPrefix(c.Path(), "/connector/")
	if api || c.Accepts(fiber.MIMETextHTML, fiber.MIMEApplicationJSON) == fiber.MIMEApplicationJSON {
		return c.JSON(errorJSON{
			Error:     utils.StatusMessage(code),
			Message:   e.catalog.T(c.UserContext(), lang, key+".text"),
			Reference: ref,
		})
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return e.view.Render(c, "error", view.Page{
		Lang:     lang,
		TitleKey: key + ".heading",
		Body:     errorBody{HeadingKey: key + ".heading", TextKey: key + ".text", Reference: ref},
	})
}

// messageStatus maps a status to the one whose message it shows.
func messageStatus(code int) int {
	for _, s := range ErrorStatuses {
		if s == code {
			return code
		}
	}
	if code < 500 {
		return fiber.StatusBadRequest
	}
	return fiber.StatusInternalServerError
}
