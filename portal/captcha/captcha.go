// Package captcha is Latchkey's self-hosted CAPTCHA, shown before a reset
// request after N attempts and before an SMS is sent (R3, R24). No third
// party sees the user.
//
// The answer is a string of digits drawn and checked by
// portal/factor/otp: the flow keeps only an HMAC of it bound to the flow
// (the state lives in the database, so any node can check it), never the
// digits. github.com/dchest/captcha is used only to draw the digits as a
// PNG, or to speak them as a WAV for people who cannot read the picture;
// its global in-memory store is never touched (we run many nodes).
//
// The caller makes each challenge single use: it clears the MAC in the same
// versioned flow update that checks an answer, right or wrong, and makes a
// new challenge for the next attempt (R5).
package captcha

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	dc "github.com/dchest/captcha"

	"github.com/latchkey/latchkey/portal/factor/otp"
)

// DefaultLength is the number of digits when Captcha.Length is 0.
const DefaultLength = 6

// Image size bounds for PNG; StdWidth × StdHeight is a good default.
const (
	StdWidth  = dc.StdWidth  // 240
	StdHeight = dc.StdHeight // 80
	MinWidth  = 100
	MaxWidth  = 800
	MinHeight = 30
	MaxHeight = 300
)

// AudioLanguages are the languages dchest/captcha ships spoken digits for.
var AudioLanguages = []string{"en", "ja", "pt", "ru", "zh"}

// ErrBadDigits is returned by PNG and WAV for a string that is not 1 to
// otp.MaxDigits ASCII digits.
var ErrBadDigits = errors.New("captcha: digits must be 1 to 10 ASCII digits")

// Captcha makes and checks challenges. The zero Length means 6; valid
// lengths are otp.MinDigits..otp.MaxDigits. Key is at least otp.MinKeyLen
// bytes; nil Rand means crypto/rand.
type Captcha struct {
	Key    []byte
	Rand   io.Reader
	Length int
}

func (c Captcha) codes() otp.Codes {
	n := c.Length
	if n == 0 {
		n = DefaultLength
	}
	return otp.Codes{Key: c.Key, Rand: c.Rand, Digits: n}
}

// bind keeps captcha MACs apart from one-time-code MACs made with the same
// key.
func bind(binding string) string { return "captcha\x00" + binding }

// New makes a challenge for binding (the caller's "tenant|flow|purpose"
// string): the digits to draw with PNG or WAV and the MAC to keep in the
// flow.
func (c Captcha) New(binding string) (digits string, mac []byte, err error) {
	digits, mac, err = c.codes().New(bind(binding))
	if err != nil {
		return "", nil, fmt.Errorf("captcha: %w", err)
	}
	return digits, mac, nil
}

// Check reports whether input (spaces, dashes and full-width digits are
// fine) answers the challenge whose MAC is mac for binding.
func (c Captcha) Check(binding, input string, mac []byte) bool {
	return c.codes().Check(bind(binding), input, mac)
}

// PNG draws digits as a distorted w × h picture (bounds above). The same
// digits give the same picture on one node, so reloading it teaches a
// solver nothing new; a new challenge gives new digits.
func PNG(digits string, w, h int) ([]byte, error) {
	d, err := values(digits)
	if err != nil {
		return nil, err
	}
	if w < MinWidth || w > MaxWidth || h < MinHeight || h > MaxHeight {
		return nil, fmt.Errorf("captcha: image size %d×%d not within %d..%d × %d..%d", w, h, MinWidth, MaxWidth, MinHeight, MaxHeight)
	}
	return render(func(buf *bytes.Buffer) (int64, error) {
		return dc.NewImage("", d, w, h).WriteTo(buf)
	})
}

// WAV speaks digits over background noise as 8 kHz mono PCM WAV, in the
// language AudioLanguage picks for lang (a BCP 47 tag; English when there
// is no match).
func WAV(digits, lang string) ([]byte, error) {
	d, err := values(digits)
	if err != nil {
		return nil, err
	}
	return render(func(buf *bytes.Buffer) (int64, error) {
		return dc.NewAudio("", d, AudioLanguage(lang)).WriteTo(buf)
	})
}

// AudioLanguage maps a BCP 47 tag ("pt-BR", "ja_JP", "EN") to one of
// AudioLanguages by its primary subtag, or "en".
func AudioLanguage(tag string) string {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
	base, _, _ = strings.Cut(base, "_")
	for _, l := range AudioLanguages {
		if base == l {
			return l
		}
	}
	return "en"
}

// values turns "042" into {0, 4, 2}.
func values(digits string) ([]byte, error) {
	if len(digits) == 0 || len(digits) > otp.MaxDigits {
		return nil, ErrBadDigits
	}
	d := make([]byte, len(digits))
	for i := range len(digits) {
		if digits[i] < '0' || digits[i] > '9' {
			return nil, ErrBadDigits
		}
		d[i] = digits[i] - '0'
	}
	return d, nil
}

// render runs one of dchest/captcha's writers, turning a panic (it panics
// on encoder failures) into an error.
func render(write func(*bytes.Buffer) (int64, error)) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("captcha: rendering failed: %v", r)
		}
	}()
	var buf bytes.Buffer
	if _, err := write(&buf); err != nil {
		return nil, fmt.Errorf("captcha: rendering: %w", err)
	}
	return buf.Bytes(), nil
}
