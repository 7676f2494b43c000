package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// t0 is the suite's "now" for the self-service entities, whose methods take
// the time from the caller: far from the wall clock, not in UTC and with a
// microsecond part, so that a backend that reads its own clock, or loses the
// zone or the precision, shows up.
var t0 = time.Date(2031, 5, 6, 7, 8, 9, 123456000, time.FixedZone("UTC-3", -3*3600))

// newHexID returns a fresh flow or session id: 64 lowercase hex digits.
func newHexID(t *testing.T) string { return randomLabel(t, 32) }

// richSelfService exercises every shape of the tenant's self-service JSON:
// slices, a map of structs, a pointer with bytes, durations.
func richSelfService() tenants.SelfServiceSettings {
	return tenants.SelfServiceSettings{
		Questions:         []string{"Name of your first pet?", "Stadt, in der du geboren bist?"},
		QuestionsRequired: 2,
		AllowOwnQuestions: true,
		Captcha:           "always",
		LockoutThreshold:  5,
		LockoutDuration:   15 * time.Minute,
		SMSCountries:      []string{"CH", "DE"},
		SMSPerTenantDay:   1000,
		SMSPerUserDay:     5,
		SMSNumberCooldown: 90 * time.Second,
		SMSProvider: &tenants.SMSProvider{Kind: "twilio", URL: "https://api.twilio.example", AccountSID: "AC123",
			From: "+41790000000", Secret: logoBytes()[:64]},
		Messages: map[string]tenants.MessageTemplate{
			"code":       {Subject: "Ihr Code", Text: "Code: {{.Code}}", HTML: "<p>Code: <b>{{.Code}}</b> &amp; \"mehr\"</p>"},
			"reset_done": {Text: "Done."},
		},
	}
}

// richEnrollment is a user's self-service enrollment with every field set.
func richEnrollment() tenants.Enrollment {
	return tenants.Enrollment{
		Questions: []tenants.QuestionAnswer{
			{Question: "Name of your first pet?", Hash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"},
			{Question: "Lieblingsbuch?", Custom: true, Hash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdDI$aGFzaDI"},
		},
		Preferred:          tenants.FactorTOTP,
		EmailFromDirectory: true,
		PhoneFromDirectory: true,
		TOTP: &tenants.TOTPEnrollment{Seed: logoBytes()[:48], LastCounter: 63_000_000_123,
			CreatedAt: t0.Add(-24 * time.Hour)},
		DeviceResetRequestedAt: t0.Add(-time.Hour),
	}
}

// wantStored fails the test unless got equals want as the store keeps a
// caller's time: the same instant, in UTC.
func wantStored(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	} else if !got.IsZero() && got.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, got.Location())
	}
}

// race runs n goroutines that call op once each, all released together, and
// returns their errors in no particular order.
func race(n int, op func(i int) error) []error {
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = op(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts nil errors and ErrConflicts among errs and fails the test on
// any other error.
func tally(t *testing.T, what string, errs []error) (ok, conflicts int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrConflict):
			conflicts++
		default:
			t.Errorf("%s: unexpected error %v", what, err)
		}
	}
	return ok, conflicts
}
