// Package totpcodes keeps authenticator-app accounts (RFC 6238 TOTP): it
// reads the otpauth://totp/… URI a portal's TOTP enrollment shows and makes
// the current code, with github.com/pquerna/otp.
package totpcodes

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Entry is one TOTP account. Secret is the seed, base32 as in the URI.
type Entry struct {
	Label     string `json:"label"`
	Issuer    string `json:"issuer,omitempty"`
	Account   string `json:"account,omitempty"`
	Secret    string `json:"secret"`
	Algorithm string `json:"algorithm"` // SHA1, SHA256 or SHA512
	Digits    int    `json:"digits"`    // 6 or 8
	Period    int    `json:"period"`    // seconds
}

// ErrBadURI is what every refusal of ParseURI wraps.
var ErrBadURI = errors.New("not a TOTP URI (otpauth://totp/…)")

// maxPeriod bounds the time step a URI may ask for.
const maxPeriod = 300

// ParseURI reads an otpauth://totp/ URI (the Key Uri Format of Google
// Authenticator). Parameters this package cannot honour exactly — another
// algorithm, digits other than 6 or 8, a period outside 1–300 s — are
// refused rather than replaced by defaults. label names the entry; when
// empty it is made from the issuer and account.
func ParseURI(uri, label string) (Entry, error) {
	uri = strings.TrimSpace(uri)
	u, err := url.Parse(uri)
	if err != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrBadURI, err)
	}
	if u.Scheme != "otpauth" {
		return Entry{}, fmt.Errorf("%w: scheme %q", ErrBadURI, u.Scheme)
	}
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrBadURI, err)
	}
	if key.Type() != "totp" {
		return Entry{}, fmt.Errorf("%w: type %q (only totp)", ErrBadURI, key.Type())
	}
	q := u.Query()
	e := Entry{
		Issuer:  key.Issuer(),
		Account: key.AccountName(),
		Secret:  strings.ToUpper(strings.TrimRight(key.Secret(), "=")),
		Digits:  6,
		Period:  30,
	}
	if e.Secret == "" {
		return Entry{}, fmt.Errorf("%w: no secret", ErrBadURI)
	}
	switch a := strings.ToUpper(q.Get("algorithm")); a {
	case "", "SHA1":
		e.Algorithm = "SHA1"
	case "SHA256", "SHA512":
		e.Algorithm = a
	default:
		return Entry{}, fmt.Errorf("%w: algorithm %q (SHA1, SHA256 or SHA512)", ErrBadURI, q.Get("algorithm"))
	}
	if d := q.Get("digits"); d != "" {
		if d != "6" && d != "8" {
			return Entry{}, fmt.Errorf("%w: digits %q (6 or 8)", ErrBadURI, d)
		}
		e.Digits, _ = strconv.Atoi(d)
	}
	if p := q.Get("period"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > maxPeriod {
			return Entry{}, fmt.Errorf("%w: period %q (1–%d seconds)", ErrBadURI, p, maxPeriod)
		}
		e.Period = n
	}
	e.Label = strings.TrimSpace(label)
	if e.Label == "" {
		e.Label = defaultLabel(e.Issuer, e.Account)
	}
	if _, _, err := e.Code(time.Unix(0, 0)); err != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrBadURI, err)
	}
	return e, nil
}

func defaultLabel(issuer, account string) string {
	switch {
	case issuer != "" && account != "":
		return issuer + " (" + account + ")"
	case issuer != "":
		return issuer
	case account != "":
		return account
	}
	return "TOTP"
}

func (e Entry) opts() (totp.ValidateOpts, error) {
	o := totp.ValidateOpts{Period: uint(e.Period), Digits: otp.Digits(e.Digits)}
	switch e.Algorithm {
	case "SHA1":
		o.Algorithm = otp.AlgorithmSHA1
	case "SHA256":
		o.Algorithm = otp.AlgorithmSHA256
	case "SHA512":
		o.Algorithm = otp.AlgorithmSHA512
	default:
		return o, fmt.Errorf("totp %q: algorithm %q", e.Label, e.Algorithm)
	}
	if e.Digits != 6 && e.Digits != 8 {
		return o, fmt.Errorf("totp %q: %d digits", e.Label, e.Digits)
	}
	if e.Period < 1 || e.Period > maxPeriod {
		return o, fmt.Errorf("totp %q: period %d", e.Label, e.Period)
	}
	return o, nil
}

// Code returns the code for time t and how long it stays current.
func (e Entry) Code(t time.Time) (code string, left time.Duration, err error) {
	o, err := e.opts()
	if err != nil {
		return "", 0, err
	}
	code, err = totp.GenerateCodeCustom(e.Secret, t, o)
	if err != nil {
		return "", 0, fmt.Errorf("totp %q: %w", e.Label, err)
	}
	p := int64(e.Period)
	into := t.Unix() % p
	if into < 0 {
		into += p
	}
	return code, time.Duration(p-into) * time.Second, nil
}
