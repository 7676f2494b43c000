package notify

import (
	"fmt"
	"time"

	"github.com/latchkey/latchkey/tenants"
)

// actionNames are the actions' names in the message languages.
var actionNames = map[string]map[tenants.Action]string{
	"en": {
		tenants.ActionSignIn: "sign-in", tenants.ActionReset: "password reset",
		tenants.ActionUnlock: "account unlock", tenants.ActionChange: "password change",
		tenants.ActionEnroll: "enrollment",
	},
	"de": {
		tenants.ActionSignIn: "Anmeldung", tenants.ActionReset: "Passwort-Zurücksetzung",
		tenants.ActionUnlock: "Kontoentsperrung", tenants.ActionChange: "Passwortänderung",
		tenants.ActionEnroll: "Registrierung",
	},
}

func actionName(a tenants.Action, lang string) string {
	if n, ok := actionNames[lang][a]; ok {
		return n
	}
	return string(a)
}

var germanMonths = [...]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli",
	"August", "September", "Oktober", "November", "Dezember"}

// formatTime formats t for a message: "14 March 2025, 09:26 UTC" in English,
// "14. März 2025, 09:26 Uhr UTC" in German. The zero time is "".
func formatTime(t time.Time, loc *time.Location, lang string) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	if lang == "de" {
		return fmt.Sprintf("%d. %s %d, %s Uhr %s", t.Day(), germanMonths[t.Month()-1], t.Year(),
			t.Format("15:04"), t.Format("MST"))
	}
	return t.Format("2 January 2006, 15:04 MST")
}
