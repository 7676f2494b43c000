// Package phone parses and checks the phone numbers that Latchkey sends SMS
// codes to (R23, R24), with github.com/nyaruka/phonenumbers (a port of
// Google's libphonenumber).
//
// Parse accepts what people type ("079 123 45 67" with a default region,
// "+41 79 123 45 67", "0041…") and returns the E.164 form that is stored
// and sent to, with the number's region for the tenant's country
// allow-list (Allowed, R24). Only numbers that can receive SMS are
// accepted: mobile, or the "fixed line or mobile" that some plans (US, CA)
// do not tell apart. Mask shows a number without revealing it.
package phone

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Errors from Parse (wrapped; compare with errors.Is).
var (
	// ErrNotANumber: the input is not a phone number at all (letters, too
	// short or long, no country code and no default region, unknown
	// country code).
	ErrNotANumber = errors.New("phone: not a phone number")
	// ErrInvalid: it looks like a number but no such number exists in its
	// country's plan, or it has an extension.
	ErrInvalid = errors.New("phone: not a valid phone number")
	// ErrNotMobile: a valid number that cannot receive SMS (fixed line,
	// toll free, premium rate, pager, VoIP, …).
	ErrNotMobile = errors.New("phone: not a mobile number")
)

// maxInput bounds the raw input (libphonenumber's own limit is 250).
const maxInput = 100

// Number is a parsed, SMS-capable phone number.
type Number struct {
	// E164 is the canonical form, "+41791234567".
	E164 string
	// Region is the number's ISO 3166-1 alpha-2 region ("CH"). Regions
	// that share a country code are told apart: a +44 number can be GB,
	// GG, JE or IM.
	Region string
}

// Parse reads a phone number as typed. defaultRegion (ISO alpha-2, such as
// the tenant's country) applies to numbers written without a country code.
func Parse(raw, defaultRegion string) (n Number, err error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > maxInput || !utf8.ValidString(raw) {
		return Number{}, ErrNotANumber
	}
	defer func() {
		if r := recover(); r != nil { // the library must not take the request down
			n, err = Number{}, fmt.Errorf("%w: parser failed", ErrNotANumber)
		}
	}()
	num, err := phonenumbers.Parse(raw, strings.ToUpper(strings.TrimSpace(defaultRegion)))
	if err != nil {
		return Number{}, fmt.Errorf("%w: %v", ErrNotANumber, err)
	}
	if num.GetExtension() != "" {
		return Number{}, fmt.Errorf("%w: has an extension", ErrInvalid)
	}
	if !phonenumbers.IsValidNumber(num) {
		return Number{}, ErrInvalid
	}
	switch t := phonenumbers.GetNumberType(num); t {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
	default:
		return Number{}, fmt.Errorf("%w (%s)", ErrNotMobile, typeName(t))
	}
	return Number{
		E164:   phonenumbers.Format(num, phonenumbers.E164),
		Region: phonenumbers.GetRegionCodeForNumber(num),
	}, nil
}

func typeName(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.FIXED_LINE:
		return "fixed line"
	case phonenumbers.TOLL_FREE:
		return "toll free"
	case phonenumbers.PREMIUM_RATE:
		return "premium rate"
	case phonenumbers.SHARED_COST:
		return "shared cost"
	case phonenumbers.VOIP:
		return "VoIP"
	case phonenumbers.PERSONAL_NUMBER:
		return "personal number"
	case phonenumbers.PAGER:
		return "pager"
	case phonenumbers.UAN:
		return "UAN"
	case phonenumbers.VOICEMAIL:
		return "voicemail"
	default:
		return "unknown type"
	}
}

// Allowed reports whether n's region is in allow (ISO alpha-2 codes, any
// case), the tenant's SMS country allow-list (R24). An empty list allows
// every region.
func Allowed(n Number, allow []string) bool {
	if len(allow) == 0 {
		return true
	}
	for _, r := range allow {
		if strings.EqualFold(strings.TrimSpace(r), n.Region) && n.Region != "" {
			return true
		}
	}
	return false
}

// Mask shows an E.164 number with every digit but the country code and the
// last two replaced by "•", grouped as the country writes it:
// "+41791234567" → "+41 •• ••• •• 67". Input that does not parse keeps only
// its last two digits, "+•••••67" (none when it has four digits or fewer);
// input without digits gives "".
func Mask(e164 string) string {
	var digits []byte
	for i := range len(e164) {
		if c := e164[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	if len(digits) == 0 || len(e164) > maxInput {
		return ""
	}
	if num, err := parse(e164); err == nil {
		intl := phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
		if cc, rest, ok := strings.Cut(intl, " "); ok {
			return cc + " " + maskDigits(rest, 2)
		}
	}
	keep := 2
	if len(digits) <= 4 { // too short to show any of it
		keep = 0
	}
	return "+" + maskDigits(string(digits), keep)
}

// parse is phonenumbers.Parse of an E.164 string, guarded against panics.
func parse(e164 string) (num *phonenumbers.PhoneNumber, err error) {
	defer func() {
		if r := recover(); r != nil {
			num, err = nil, ErrNotANumber
		}
	}()
	return phonenumbers.Parse(e164, "")
}

// maskDigits replaces every ASCII digit of s but the last keep with "•".
func maskDigits(s string, keep int) string {
	total := 0
	for i := range len(s) {
		if s[i] >= '0' && s[i] <= '9' {
			total++
		}
	}
	var b strings.Builder
	seen := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			seen++
			if seen <= total-keep {
				b.WriteString("•")
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}
